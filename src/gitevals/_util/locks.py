"""One writer at a time of a file gitevals rewrites, across processes.

Every read-modify-write of a tracked file (a dataset, a run's run.json) holds
the file's lock, as git holds `index.lock`: a second writer waits a little,
then fails with a message naming the file, never overwriting the first one's
change. The locks are advisory (flock), so a process that dies lets go of its
lock at once, and a person's editor is not stopped by them: what an editor
saved meanwhile is caught by the writer's content check instead.

The lock files live in the temporary folder, named by a hash of the locked
file's path, so that nothing appears in the repository's `git status`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from gitevals.errors import GitevalsError

if TYPE_CHECKING:
    from filelock import FileLock

__all__ = ["WAIT_S", "locked"]

WAIT_S = 30.0
"""How long a writer waits for another one before it gives up."""

_locks: dict[str, FileLock] = {}
_guard = threading.Lock()


def _lock_of(path: Path) -> FileLock:
    """The one FileLock of `path` in this process (so nesting `locked` is reentrant)."""
    from filelock import FileLock  # only a process that writes pays for the import

    key = str(path.absolute())
    with _guard:
        if key not in _locks:
            folder = Path(tempfile.gettempdir()) / f"gitevals-locks-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
            folder.mkdir(mode=0o700, exist_ok=True)
            name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
            _locks[key] = FileLock(folder / f"{name}.lock")
        return _locks[key]


@contextmanager
def locked(path: Path, wait_s: float | None = None) -> Iterator[None]:
    """Hold the write lock of `path` for the block; waits up to `wait_s` (default
    `WAIT_S`) for another writer, then raises a GitevalsError naming the file."""
    from filelock import Timeout

    lock = _lock_of(path)
    try:
        lock.acquire(timeout=WAIT_S if wait_s is None else wait_s)
    except Timeout:
        raise GitevalsError(
            f"{path} is being written by another gitevals process (waited {WAIT_S if wait_s is None else wait_s:g} s)",
            hint="try again when it has finished",
        ) from None
    try:
        yield
    finally:
        lock.release()
