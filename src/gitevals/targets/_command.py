"""The `command` target: a subprocess per item, JSON in on stdin, JSON out on stdout."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio
import anyio.abc

from gitevals.errors import ConfigError

from ._base import TargetCall, TargetError, TargetResult

__all__ = ["CommandTarget"]

_STDERR_TAIL = 4000


class CommandTarget:
    """Runs `argv` once per item. Stdin gets `{"id", "input", "options", "context"}`;
    stdout is the output (JSON, or text with `output: text`). A non-zero exit or
    unreadable output is an item error that keeps the end of stderr."""

    remote = True  # its errors are located at the target, not in our client's frames
    carries_traceparent = True  # as TRACEPARENT in its environment

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
            returncode, stdout, stderr_data = await self._communicate(json.dumps(payload).encode() + b"\n",
                                                                      self._env_of(call))
        except FileNotFoundError:
            raise TargetError(f"command not found: {self.argv[0]}", kind="command_not_found") from None
        except PermissionError:
            raise TargetError(f"command is not executable: {self.argv[0]}", kind="command_not_found") from None
        stderr = _tail(stderr_data)
        if returncode != 0:
            raise TargetError(f"command exited with status {returncode}", kind="exit_status", stderr=stderr)
        text = stdout.decode("utf-8", errors="replace")
        if self.output == "text":
            return TargetResult(output=text.rstrip("\n"))
        try:
            return TargetResult(output=json.loads(text))
        except ValueError as exc:
            raise TargetError(
                f"stdout is not JSON ({exc}): {text[:200]!r}", kind="bad_output", stderr=stderr
            ) from None

    def _env_of(self, call: TargetCall) -> Mapping[str, str] | None:
        """The command's environment: with the call's trace context and where to
        export spans, when they are captured (the OpenTelemetry SDKs read both)."""
        if call.traceparent is None:
            return self.env
        env = dict(self.env if self.env is not None else os.environ)
        env["TRACEPARENT"] = call.traceparent
        if call.otlp_endpoint is not None:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = call.otlp_endpoint
        return env

    async def _communicate(self, data: bytes, env: Mapping[str, str] | None) -> tuple[int, bytes, bytes]:
        """Run the command with `data` on its stdin: its exit status, stdout and stderr.

        A command may exit without reading its stdin (it needs none, or it
        crashed at start); writing then fails with a broken pipe, which is not
        the error: its exit status and output decide, as for any other run.
        """
        out: tuple[list[bytes], list[bytes]] = ([], [])

        async def drain(stream: anyio.abc.ByteReceiveStream, into: list[bytes]) -> None:
            async for chunk in stream:
                into.append(chunk)

        async def feed(stdin: anyio.abc.ByteSendStream) -> None:
            try:
                await stdin.send(data)
                await stdin.aclose()
            except _UNREAD:
                pass

        async with await anyio.open_process(self.argv, cwd=self.cwd, env=env) as process:
            assert process.stdin and process.stdout and process.stderr
            async with anyio.create_task_group() as group:
                group.start_soon(drain, process.stdout, out[0])
                group.start_soon(drain, process.stderr, out[1])
                group.start_soon(feed, process.stdin)
                returncode = await process.wait()
        return returncode, b"".join(out[0]), b"".join(out[1])


# How writing to a pipe whose reader is gone fails, depending on the event loop.
_UNREAD = (BrokenPipeError, ConnectionResetError, anyio.BrokenResourceError, anyio.ClosedResourceError)


def _tail(data: bytes | None) -> str | None:
    if not data:
        return None
    return data[-_STDERR_TAIL:].decode("utf-8", errors="replace")


