"""Telling a real Ctrl-C from user code that raises KeyboardInterrupt.

Python turns SIGINT into a KeyboardInterrupt raised wherever the main thread
is, possibly inside a target's own code; a target may also raise one itself
(a wrapped CLI that catches Ctrl-C and re-raises, a test helper). Once
`stop_on_signals` watches, only a KeyboardInterrupt that follows a signal
stops the run; any other is the item's error. Without it (the Python API, in
someone else's program) every KeyboardInterrupt stops the run, as Python's
own handler means it to.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

__all__ = ["is_real_interrupt", "stop_on_signals"]

_signalled = threading.Event()
_watching = threading.Event()


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both raise KeyboardInterrupt in the main thread, so
    the command stops gracefully, even when the shell that started it ignores
    SIGINT (as it does for background jobs); and they are remembered."""

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        _signalled.set()
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    _watching.set()


def is_real_interrupt() -> bool:
    """Whether a KeyboardInterrupt now means that the process was told to stop."""
    return _signalled.is_set() or not _watching.is_set()
