"""Pausing the garbage collector while many long-lived objects are built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Bulk loads (100,000 result lines) make objects that all stay alive; the
    collector would rescan them again and again for nothing, doubling the time.

    Afterwards the survivors are frozen, so later collections skip them too.
    Frozen objects are still freed when their last reference goes (results are
    plain dicts and lists, without cycles).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
