"""Whether the process recording a `running` run is still there, and stopping it.

While a run runs, run.json records its process (`RunProcess`: pid, host and,
on Linux, its start in clock ticks after boot); the run's end clears it. A
process killed outright (kill -9, a crash, a closed laptop) cannot mark its
run as ended, so readers ask `run_liveness`: `running`, `gone`, or `unknown`
when the run was recorded on another machine or without its process.

A pid is reused only after its process ended; on Linux the start ticks tell a
later process from the recorded one. Elsewhere only the pid is checked, so a
reused pid makes a dead run look alive until that process ends too: the run
is then shown as running, but never signalled (`interrupt_run` needs the start
ticks to match).
"""

from __future__ import annotations

import os
import signal
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from gitevals.errors import GitevalsError
from gitevals.formats import RunManifest, RunProcess

from ._store import read_manifest

__all__ = ["Liveness", "current_process", "interrupt_refusal", "interrupt_run", "process_gone", "resume_command",
           "run_liveness"]

Liveness = Literal["running", "gone", "unknown"]


def current_process(*, interruptible: bool = False) -> RunProcess:
    """This process, as run.json records it; `interruptible` when SIGINT stops only this run (`gitevals run`)."""
    stat = _proc_stat(os.getpid())
    ticks = stat[1] if stat else None
    return RunProcess(pid=os.getpid(), host=socket.gethostname(), started=_started_at(ticks), start_ticks=ticks,
                      interruptible=interruptible)


def run_liveness(manifest: RunManifest) -> Liveness:
    """Whether the process that run.json says records the run is still running:
    `gone` when it has ended on this machine (or its pid now belongs to a later
    process); `unknown` on another machine, or when no process is recorded."""
    process = manifest.process
    if process is None or not _here(process):
        return "unknown"
    return _liveness(process)[0]


def _liveness(process: RunProcess) -> tuple[Liveness, tuple[str, int] | None]:
    """`run_liveness` of a process on this machine, with the /proc stat it was judged by (None when none)."""
    try:
        os.kill(process.pid, 0)  # signal 0 sends nothing: it asks whether the pid exists
    except ProcessLookupError:
        return "gone", None
    except PermissionError:
        pass  # it exists, and belongs to another user
    except OSError:  # a pid this system cannot have
        return "unknown", None
    stat = _proc_stat(process.pid)
    if stat is None:  # no /proc (macOS), or it ended just now: the pid alone says it exists
        return "running", None
    state, ticks = stat
    if state in ("Z", "X"):  # it exited; only its parent has not collected it yet
        return "gone", stat
    if process.start_ticks is not None and ticks != process.start_ticks:
        return "gone", stat  # the pid was given to a later process
    return "running", stat


def process_gone(manifest: RunManifest) -> bool:
    """Whether the run says `running` but the process recording it has ended without finishing it."""
    return manifest.status == "running" and run_liveness(manifest) == "gone"


def resume_command(manifest: RunManifest) -> str:
    """The command that completes the run: only its missing items run."""
    return f"gitevals run {manifest.eval} --resume {manifest.id}"


def interrupt_refusal(manifest: RunManifest) -> str | None:
    """Why the run's process must not be sent SIGINT, or None when it may: the
    run is `running`, its process is on this machine, alive, provably the one
    that started it (the same start ticks), not this process, and stops only
    this run on SIGINT."""
    process = manifest.process
    if manifest.status != "running":
        return f"it is not running (status {manifest.status})"
    if process is None:
        return "its run.json does not say which process records it"
    if not _here(process):
        return f"it runs on {process.host}, not on this machine"
    if not process.interruptible:
        return f"its process (pid {process.pid}) does more than this run, e.g. another `gitevals ui`; stop it there"
    if process.pid == os.getpid():
        return "it runs in this process"
    liveness, stat = _liveness(process)  # running with a stat: the start ticks matched
    if liveness == "gone":
        return f"its process (pid {process.pid}) is gone; complete it with `{resume_command(manifest)}`"
    if liveness != "running" or process.start_ticks is None or stat is None:
        return f"this system cannot confirm that pid {process.pid} is still the process that started it"
    return None


def interrupt_run(folder: Path) -> RunManifest:
    """Send SIGINT to the process recording run `folder`, as Ctrl-C in its
    terminal does: it records the run `interrupted`, keeping every finished
    item, and exits 130. The pid is read from the run's own run.json and
    signalled only when `interrupt_refusal` finds no reason not to; otherwise
    GitevalsError says why. Returns the manifest as it was before."""
    manifest = read_manifest(folder)
    reason = interrupt_refusal(manifest)
    if reason is not None:
        raise GitevalsError(f"cannot cancel run {manifest.id}: {reason}",
                            hint="a run started by `gitevals run` stops with Ctrl-C in its terminal")
    assert manifest.process is not None and manifest.process.start_ticks is not None
    _signal(manifest.process.pid, manifest.process.start_ticks, manifest.id)
    return manifest


def _signal(pid: int, ticks: int, run_id: str) -> None:
    """SIGINT to `pid`, if it still started at `ticks`. A pidfd (Linux 5.3+)
    holds on to the process itself, so no later process given the same pid
    between the check and the signal can receive it."""
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # an older kernel: the check just before is as close as it gets
        handle = None
    try:
        stat = _proc_stat(pid)
        if stat is None or stat[1] != ticks or stat[0] in ("Z", "X"):
            raise GitevalsError(f"cannot cancel run {run_id}: its process (pid {pid}) ended just now")
        if handle is not None:
            signal.pidfd_send_signal(handle, signal.SIGINT)
        else:
            os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        raise GitevalsError(f"cannot cancel run {run_id}: its process (pid {pid}) ended just now") from None
    finally:
        if handle is not None:
            os.close(handle)


def _here(process: RunProcess) -> bool:
    """Whether `process` is one this machine can ask about. Not on Windows,
    where os.kill(pid, 0) would stop the process instead of asking about it."""
    return os.name == "posix" and process.pid > 0 and process.host == socket.gethostname()


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and start in clock ticks after boot, from
    Linux's /proc/PID/stat; None where there is no /proc or no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces and parentheses itself
    fields = text[text.rfind(")") + 2:].split()
    try:
        return fields[0], int(fields[19])  # fields 3 (state) and 22 (starttime)
    except (IndexError, ValueError):
        return None


def _started_at(ticks: int | None) -> str | None:
    """The UTC time a process started `ticks` after boot, ISO 8601."""
    if ticks is None:
        return None
    try:
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        per_second = os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return datetime.fromtimestamp(boot + ticks / per_second, timezone.utc).isoformat(timespec="seconds")
