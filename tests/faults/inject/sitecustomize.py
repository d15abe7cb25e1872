"""Faults injected into a gitevals process started by the fault suite.

Python imports `sitecustomize` at start-up from the path; the suite puts this
folder first on PYTHONPATH and says in GITEVALS_FAULT what to break, as
`ACTION:PATTERN[:N]`, acting on the Nth time (default the first) the process
touches a file whose path contains PATTERN:

- `enospc`  the Nth write to it fails: no space left on the device;
- `eacces`  the Nth open of it for writing fails: permission denied;
- `kill`    the process is killed (SIGKILL) at the Nth write to it or rename
            onto it, before that happens;
- `tear`    the same, but half of that write reaches the file first.

Only the process's own files are touched: what it reads, and every other
file, behave as usual. Nothing of gitevals is replaced, only the operating
system calls beneath it misbehave, as a full disk or a read-only folder would.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import signal
from typing import Any

_spec = os.environ.get("GITEVALS_FAULT", "")
_action, _, _rest = _spec.partition(":")
_pattern, _, _nth = _rest.partition(":")
_left = [int(_nth or 1)]
_open, _os_open, _fdopen, _replace = builtins.open, os.open, os.fdopen, os.replace


def _matches(path: Any) -> bool:
    return isinstance(path, (str, bytes, os.PathLike)) and bool(_pattern) and _pattern in os.fsdecode(path)


def _hit() -> bool:
    """Counts one matching write; True for the one to break."""
    _left[0] -= 1
    return _left[0] == 0


def _fail(path: Any) -> None:
    if _action in ("kill", "tear"):
        os.kill(os.getpid(), signal.SIGKILL)
    code = errno.ENOSPC if _action == "enospc" else errno.EACCES
    raise OSError(code, os.strerror(code), os.fsdecode(path))


class _Faulty:
    """A file one of whose writes fails (or kills); everything else is the file's own."""

    def __init__(self, handle: Any, path: Any) -> None:
        self._handle, self._path = handle, path

    def write(self, data: Any) -> int:
        if _hit():
            if _action == "tear":
                self._handle.write(data[: len(data) // 2])
                self._handle.flush()
            _fail(self._path)
        return int(self._handle.write(data))

    def __enter__(self) -> _Faulty:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __iter__(self) -> Any:
        return iter(self._handle)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def _writes(mode: str) -> bool:
    return any(c in mode for c in "wax+")


def _patched_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    if not _writes(mode) or not _matches(file):
        return _open(file, mode, *args, **kwargs)
    if _action == "eacces":
        if _hit():
            _fail(file)
        return _open(file, mode, *args, **kwargs)
    return _Faulty(_open(file, mode, *args, **kwargs), file)


def _patched_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
    if _action == "eacces" and flags & (os.O_WRONLY | os.O_RDWR) and _matches(path) and _hit():
        _fail(path)
    return _os_open(path, flags, *args, **kwargs)


def _patched_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    handle = _fdopen(fd, mode, *args, **kwargs)
    if _action != "eacces" and _writes(mode) and _matches(os.readlink(f"/proc/self/fd/{fd}")):
        return _Faulty(handle, os.readlink(f"/proc/self/fd/{fd}"))
    return handle


def _patched_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
    if _action in ("kill", "tear") and _matches(dst) and _hit():
        _fail(dst)
    _replace(src, dst, *args, **kwargs)


if _action in ("enospc", "eacces", "kill", "tear"):
    builtins.open = io.open = _patched_open  # type: ignore[assignment]
    os.open, os.fdopen, os.replace = _patched_os_open, _patched_fdopen, _patched_replace  # type: ignore[assignment]
