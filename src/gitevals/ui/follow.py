"""Runs recorded by another process (`gitevals run` in a terminal, another
server), followed live by tailing their folder.

The writer appends one line to results.jsonl per finished item and flushes
it, and replaces run.json atomically, last, when the run ends. So a stream
polls results.jsonl's size every POLL_S (in a worker thread, off the event
loop), reads only the new complete lines (a torn last line waits for its
newline) and sends each as the `item` event live.py sends for the runs it
started, then `end` once run.json's status is no longer `running`. A writer
killed outright leaves `running` behind: when run.json names its process and
that process is gone from this machine, the stream ends at the next poll with
the command that completes the run; when it cannot be known (another machine,
an older run.json), after IDLE_S without any change.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.to_thread

from gitevals.datasets import load_dataset
from gitevals.errors import GitevalsError
from gitevals.formats import ResultRecord, RunManifest
from gitevals.project import Project
from gitevals.runs import MANIFEST, RESULTS, item_status, process_gone, read_manifest, resume_command

from ._web import sse

__all__ = ["IDLE_S", "POLL_S", "Progress", "Tail", "expected_total", "follow_run", "progress_of"]

POLL_S = 0.5
IDLE_S = 300.0  # longer than a slow item with its retries usually takes
HEARTBEAT_S = 15.0


class Tail:
    """The complete lines appended to a JSON-lines file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self) -> list[ResultRecord]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size <= self.offset:
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(size - self.offset)
        whole = chunk[: chunk.rfind(b"\n") + 1]  # a torn last line is read again, whole, next time
        self.offset += len(whole)
        records: list[ResultRecord] = []
        for line in whole.splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # not gitevals' writing: nothing to show for it
                continue
            if isinstance(record, dict) and "item_id" in record:
                records.append(cast(ResultRecord, record))
        return records


@dataclass
class Progress:
    """What a run has recorded so far; the run page shows it as it shows a `live.LiveRun`."""

    total: int | None
    status: str = "running"
    done: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("passed", "failed", "errored", "needs_review"), 0))

    @property
    def finished(self) -> bool:
        return self.status != "running"

    def add(self, record: ResultRecord) -> dict[str, Any]:
        """Count `record`; returns its `item` event."""
        status = item_status(record)
        self.counts[status] += 1
        self.done += 1
        return {"item_id": record["item_id"], "trial": record.get("trial", 0), "status": status,
                "done": self.done, "total": self.total, **self.counts}

    def end_event(self, manifest: RunManifest, error: str | None = None) -> dict[str, Any]:
        gates = manifest.gates
        return {"status": manifest.status, "done": self.done,
                "total": self.done if self.total is None or manifest.status == "completed" else self.total,
                "error": error or manifest.error, "gates_passed": all(g.passed for g in gates) if gates else None,
                **self.counts}


def expected_total(project: Project, manifest: RunManifest) -> int | None:
    """How many item x trial pairs the run records in all, when the dataset
    file still holds the version it runs; None when that cannot be known (the
    file changed, or the run is a shard or a re-run of failed items)."""
    if manifest.shard or manifest.only_failed_from or not manifest.dataset_path:
        return None
    try:
        dataset = load_dataset(project.root / manifest.dataset_path, manifest.dataset)
    except (GitevalsError, OSError):
        return None
    if dataset.hash != manifest.dataset_hash:
        return None
    return len(dataset.with_tags(manifest.tags).items) * int(manifest.config.get("trials", 1))


def progress_of(project: Project, manifest: RunManifest, records: list[ResultRecord]) -> Progress:
    """The progress of a run another process is recording, as its page first shows it."""
    progress = Progress(expected_total(project, manifest))
    for record in records:
        progress.add(record)
    return progress


def _poll(folder: Path, tail: Tail) -> tuple[RunManifest, int, list[ResultRecord], bool]:
    """run.json (and when it last changed), then the new results: in that
    order, so that a finished manifest comes with every result before it;
    then whether the process recording the run is gone."""
    manifest = read_manifest(folder)
    stamp = (folder / MANIFEST).stat().st_mtime_ns
    records = tail.read()
    if not process_gone(manifest):
        return manifest, stamp, records, False
    # It may have ended the run and exited since run.json was read (or a
    # `--resume` taken it over): a writer records the end before it exits, so
    # asking again about what run.json says now tells for sure.
    manifest = read_manifest(folder)
    return manifest, stamp, records + tail.read(), process_gone(manifest)


async def follow_run(project: Project, folder: Path, manifest: RunManifest, first: int = 0) -> AsyncIterator[str]:
    """`start`, an `item` event per result (those after the `first`, as
    Last-Event-ID asks), then `end` when the run stops running."""
    progress = Progress(await anyio.to_thread.run_sync(expected_total, project, manifest))
    tail = Tail(folder / RESULTS)
    yield sse("start", {"run_id": manifest.id, "eval": manifest.eval, "total": progress.total})
    last_change = last_sent = anyio.current_time()
    seen = None
    while True:
        try:
            manifest, stamp, records, gone = await anyio.to_thread.run_sync(_poll, folder, tail)
        except (GitevalsError, OSError) as exc:  # the folder was removed or rewritten
            yield sse("end", progress.end_event(manifest, error=f"cannot follow the run: {exc}"))
            return
        for record in records:
            event = progress.add(record)
            if progress.done > first:
                yield sse("item", event, progress.done)
        now = anyio.current_time()
        if manifest.status != "running":
            progress.status = manifest.status
            yield sse("end", progress.end_event(manifest))
            return
        if gone:
            yield sse("end", {**progress.end_event(manifest), "gone": True,
                              "error": f"the process running it is gone; resume with {resume_command(manifest)}"})
            return
        if records or stamp != seen:
            seen, last_change = stamp, now
        elif now - last_change >= IDLE_S:
            yield sse("end", {**progress.end_event(manifest), "stalled": True,
                              "error": f"no new results for {IDLE_S:.0f} s; the run may have stopped "
                                       "(reload the page to follow it again)"})
            return
        if records:
            last_sent = now
        elif now - last_sent >= HEARTBEAT_S:  # keeps proxies from closing a quiet stream
            yield ": still running\n\n"
            last_sent = now
        await anyio.sleep(POLL_S)
