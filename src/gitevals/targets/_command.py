"""The `command` target: a subprocess per item, JSON in on stdin, JSON out on stdout."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio

from ..errors import ConfigError
from ._base import TargetCall, TargetError, TargetResult

__all__ = ["CommandTarget"]

_STDERR_TAIL = 4000


class CommandTarget:
    """Runs `argv` once per item. Stdin gets `{"id", "input", "options", "context"}`;
    stdout is the output (JSON, or text with `output: text`). A non-zero exit or
    unreadable output is an item error that keeps the end of stderr."""

    def __init__(
        self,
        argv: str | Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        output: str = "json",
    ) -> None:
        self.argv = shlex.split(argv) if isinstance(argv, str) else list(argv)
        if not self.argv:
            raise ConfigError("the command target's `command` is empty")
        self.name = " ".join(self.argv)
        self.cwd = cwd
        self.env = {**os.environ, **env} if env else None
        self.output = output

    async def __call__(self, call: TargetCall) -> TargetResult:
        payload = {
            "id": call.item_id,
            "input": call.input,
            "options": dict(call.options),
            "context": dict(call.context),
            "request_context": dict(call.request_context) if call.request_context is not None else None,
        }
        try:
            done = await anyio.run_process(
                self.argv,
                input=json.dumps(payload).encode() + b"\n",
                cwd=self.cwd,
                env=self.env,
                check=False,
                stdin=None,
            )
        except FileNotFoundError:
            raise TargetError(f"command not found: {self.argv[0]}", kind="command_not_found") from None
        except PermissionError:
            raise TargetError(f"command is not executable: {self.argv[0]}", kind="command_not_found") from None
        stderr = _tail(done.stderr)
        if done.returncode != 0:
            raise TargetError(
                f"command exited with status {done.returncode}", kind="exit_status", stderr=stderr
            )
        text = done.stdout.decode("utf-8", errors="replace")
        if self.output == "text":
            return TargetResult(output=text.rstrip("\n"))
        try:
            return TargetResult(output=json.loads(text))
        except ValueError as exc:
            raise TargetError(
                f"stdout is not JSON ({exc}): {text[:200]!r}", kind="bad_output", stderr=stderr
            ) from None


def _tail(data: bytes | None) -> str | None:
    if not data:
        return None
    return data[-_STDERR_TAIL:].decode("utf-8", errors="replace")


