"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from gitevals.errors import GitevalsError

__all__ = ["atomic_write", "atomic_write_all", "write_error"]


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` so that readers see the old or the new file, never half.

    The file keeps its mode, and a new one gets the mode any new file gets (0644
    under the usual umask), not the 0600 of `tempfile.mkstemp`: rewriting a
    dataset or run.json must not change who can read it.

    A write the system refuses (a full disk, no permission) raises a
    GitevalsError naming `path`, which is then as it was.
    """
    atomic_write_all({path: text})


def atomic_write_all(files: dict[Path, str]) -> None:
    """`atomic_write` of several files that must change together (a run's
    results and the run.json that sums them up): every file is written beside
    its place first, and only when all are written are they renamed into place,
    so a full disk leaves all of them as they were."""
    written: list[tuple[Path, Path]] = []
    current = None  # the file being written, to name in the error
    try:
        for current, text in files.items():
            written.append((_written_beside(current, text), current))
        for tmp, current in written:
            os.replace(tmp, current)
    except BaseException as exc:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and current is not None:
            raise write_error(current, exc) from None
        raise


def _written_beside(path: Path, text: str) -> Path:
    """A temporary file beside `path` holding `text`, flushed to the disk, with
    the mode `path` has."""
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp = _create_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_error(path: Path | str, exc: OSError, what: str = "cannot be written") -> GitevalsError:
    """The error to raise when the system refused to write `path`: what it said,
    and what to do about it."""
    if exc.errno == errno.ENOSPC:
        hint = "free some space on the disk and try again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "gitevals needs permission to write this file and the folder it is in"
    else:
        hint = None
    return GitevalsError(f"{what}: {exc.strerror or exc}", path=path, hint=hint)


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new, empty temporary file in `path`'s folder, created with mode 0666 so
    that the umask decides its mode, as for any file a program creates."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")  # pragma: no cover - 100 random collisions
