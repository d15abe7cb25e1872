"""Run folders: `runs/<eval>/<run-id>/` with run.json and results.jsonl.

run.json is replaced atomically (temp file + rename) so a reader never sees
half of it; results.jsonl is appended one line per item and flushed at once,
so a killed run keeps every item it finished.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from gitevals._util.fs import atomic_write, atomic_write_all, write_error
from gitevals._util.gc import paused_gc
from gitevals._util.locks import locked
from gitevals._util.words import plural
from gitevals.errors import DataError, GitevalsError, NotFoundError, did_you_mean
from gitevals.formats import ResultRecord, RunManifest

__all__ = [
    "MANIFEST",
    "RESULTS",
    "RunInfo",
    "RunWriter",
    "counted_results",
    "find_run",
    "list_runs",
    "merged_shards",
    "new_run_id",
    "offered_runs",
    "parse_results",
    "read_checked_results",
    "read_manifest",
    "read_results",
    "refuse_newer_damage",
    "rewrite_results",
    "scan_runs",
    "update_manifest",
    "whole_lines",
    "write_manifest",
    "write_run",
]

MANIFEST = "run.json"
RESULTS = "results.jsonl"


REPAIR_HINT = "`gitevals runs check` names every damaged run folder, and `--repair` repairs what it can"


def new_run_id(now: datetime | None = None) -> str:
    """`20261122T203105Z-1a2b3c4`: UTC time, so ids sort by time, then a random suffix."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)[:7]}"


class RunWriter:
    """Writes one run folder: the manifest, and results as they arrive."""

    def __init__(self, folder: Path, manifest: RunManifest) -> None:
        self.folder = folder
        self.manifest = manifest
        self._results: IO[str] | None = None

    @classmethod
    def create(cls, runs_dir: Path, manifest: RunManifest) -> RunWriter:
        folder = _new_folder(runs_dir, manifest)
        writer = cls(folder, manifest)
        try:
            writer.write_manifest()
            writer._results = open(folder / RESULTS, "a", encoding="utf-8")  # noqa: SIM115
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # nothing of the run is in it yet
            raise
        return writer

    @classmethod
    def reopen(cls, folder: Path, manifest: RunManifest) -> RunWriter:
        """Continue an earlier run: a torn last line (the writer was killed
        mid-line) is cut off before new results are appended."""
        writer = cls(folder, manifest)
        path = folder / RESULTS
        data = path.read_bytes() if path.exists() else b""
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data):
            with open(path, "r+b") as handle:
                handle.truncate(len(whole))
        writer.write_manifest()
        writer._results = open(path, "a", encoding="utf-8")  # noqa: SIM115
        return writer

    def write_manifest(self) -> None:
        write_manifest(self.folder, self.manifest)

    def append(self, record: ResultRecord) -> None:
        assert self._results is not None, "RunWriter.create opens the results file"
        try:
            self._results.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._results.flush()
        except OSError as exc:  # a full disk: the results so far are kept, the run stops
            raise write_error(self.folder / RESULTS, exc, "a result could not be recorded") from None

    def close(self) -> None:
        if self._results is not None:
            self._results.close()
            self._results = None


def write_run(runs_dir: Path, manifest: RunManifest, records: Iterable[ResultRecord]) -> Path:
    """A new run folder holding `records`, its run.json renamed into place last:
    killed before that, the folder is no run (`runs check` names it)."""
    folder = _new_folder(runs_dir, manifest)
    rewrite_results(folder, records, manifest)
    return folder


def _new_folder(runs_dir: Path, manifest: RunManifest) -> Path:
    folder = runs_dir / manifest.eval / manifest.id
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except OSError as exc:  # runs_dir is a file, read-only, on a full disk, ...
        blocked = next((p for p in (runs_dir, *runs_dir.parents) if p.exists() and not p.is_dir()), None)
        why = f"{blocked} is a file, not a folder" if blocked else (exc.strerror or str(exc))
        raise GitevalsError(f"cannot record the run under {runs_dir}: {why}",
                            hint="point runs_dir in gitevals.yaml at a folder gitevals may write") from None
    return folder


@dataclass(frozen=True)
class RunInfo:
    """A run folder and its manifest."""

    path: Path
    manifest: RunManifest

    @property
    def id(self) -> str:
        return self.manifest.id


def read_manifest(folder: Path) -> RunManifest:
    path = folder / MANIFEST
    try:
        return RunManifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise NotFoundError("not a run folder (no run.json)", path=folder) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DataError(
            f"run.json is not a valid run manifest: {'.'.join(map(str, first['loc']))}: {first['msg']}",
            path=path,
        ) from None


def write_manifest(folder: Path, manifest: RunManifest) -> None:
    """Write run.json, atomically: a reader sees the old manifest or the new one."""
    atomic_write(folder / MANIFEST, manifest.model_dump_json(indent=2) + "\n")


def update_manifest(folder: Path, **fields: Any) -> RunManifest:
    """Change fields of a run's manifest, atomically and holding its lock (a
    second process changing it waits); returns the new manifest."""
    with locked(folder / MANIFEST):
        manifest = read_manifest(folder).model_copy(update=fields)
        write_manifest(folder, manifest)
    return manifest


def rewrite_results(folder: Path, records: Iterable[ResultRecord], manifest: RunManifest | None = None) -> None:
    """Replace results.jsonl with `records` (a re-scoring pass, a copy from git),
    and run.json with `manifest` when given: atomically, both or neither."""
    files = {folder / RESULTS: "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)}
    if manifest is not None:
        files[folder / MANIFEST] = manifest.model_dump_json(indent=2) + "\n"
    atomic_write_all(files)


def read_results(folder: Path) -> list[ResultRecord]:
    """Every complete line of results.jsonl; a torn last line (a killed writer) is skipped."""
    path = folder / RESULTS
    if not path.exists():
        return []
    return parse_results(path.read_bytes(), path)


def whole_lines(raw: bytes, path: Path | str) -> str:
    """JSON-lines content as text without a torn last line (its writer was killed
    mid-line); raises a DataError naming the line that is not UTF-8 text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"line {line} is not UTF-8 text (is the file damaged?)", path=path, line=line) from None
    return text[: text.rfind("\n") + 1]


def read_checked_results(folder: Path, manifest: RunManifest) -> list[ResultRecord]:
    """`read_results`, refusing a finished run whose results.jsonl holds fewer
    results than its summary counts: cut short or emptied, its numbers would be
    wrong without a word."""
    records = read_results(folder)
    counted = counted_results(manifest)
    if counted is not None and len(records) < counted:
        raise DataError(
            f"the run folder is damaged: {RESULTS} holds {plural(len(records), 'result')}, {MANIFEST} counts {counted}",
            path=folder / RESULTS,
            hint="restore the file (from git, if the run is committed), or make run.json count what the file "
                 "holds with `gitevals runs check --repair`",
        )
    return records


def parse_results(raw: bytes, path: Path | str) -> list[ResultRecord]:
    """The records of results.jsonl content; `path` names it in messages."""
    text = whole_lines(raw, path)
    with paused_gc():
        try:
            # One call into the C decoder instead of one per line. Newlines inside
            # JSON strings are escaped, so a raw newline always ends a record.
            return json.loads("[" + text.rstrip("\n").replace("\n", ",") + "]") if text else []
        except ValueError:
            pass
        for number, line in enumerate(text.splitlines(), 1):
            try:
                json.loads(line)
            except ValueError:
                raise DataError(f"line {number} is not JSON", path=path, line=number) from None
    raise DataError("not JSON lines", path=path)  # pragma: no cover - every line parsed alone


def counted_results(manifest: RunManifest) -> int | None:
    """How many results a finished run's summary counts (results.jsonl must hold
    as many); None while it runs or before it has a summary."""
    summary = manifest.summary
    if summary is None or manifest.status == "running":
        return None
    return summary.completed + summary.errors


def list_runs(runs_dir: Path, eval_name: str | None = None) -> list[RunInfo]:
    """Runs under `runs_dir` (of one eval when given), oldest first; a folder
    whose run.json cannot be read is left out here and named by `scan_runs`."""
    return scan_runs(runs_dir, eval_name)[0]


def scan_runs(runs_dir: Path, eval_name: str | None = None) -> tuple[list[RunInfo], list[tuple[Path, str]]]:
    """The runs under `runs_dir` (of one eval when given), oldest first, and
    (folder, what is wrong) of every run folder whose run.json cannot be read
    or is missing beside its results, from one pass over the folders."""
    if not runs_dir.is_dir():
        return [], []
    folders = [runs_dir / eval_name] if eval_name else sorted(p for p in runs_dir.iterdir() if p.is_dir())
    runs, damaged = [], []
    for eval_dir in folders:
        if not eval_dir.is_dir():
            continue
        for folder in eval_dir.iterdir():
            if (folder / MANIFEST).is_file():
                try:
                    runs.append(RunInfo(folder, read_manifest(folder)))
                except (DataError, OSError) as exc:
                    damaged.append((folder, str(exc)))
            elif (folder / RESULTS).is_file():
                damaged.append((folder, f"{RESULTS} without {MANIFEST}: its writer was stopped before it wrote "
                                        f"{MANIFEST}, or {MANIFEST} was deleted"))
    return sorted(runs, key=lambda r: (r.manifest.started_at, r.id)), sorted(damaged, key=lambda d: d[0].name)


def merged_shards(manifests: Iterable[RunManifest]) -> set[str]:
    """Ids of the shards merged into a run among `manifests`. `latest`, an
    eval's name and a baseline never mean them: the merged run holds all their
    results."""
    return {shard for manifest in manifests for shard in manifest.merged_from}


def offered_runs(runs: list[RunInfo]) -> list[RunInfo]:
    """`runs` without the shards a merged run among them supersedes."""
    merged = merged_shards(run.manifest for run in runs)
    return [run for run in runs if run.id not in merged]


def find_run(runs_dir: Path, ref: str, eval_name: str | None = None) -> RunInfo:
    """A run named by folder path; by `latest` or `latest~N` (N runs before the
    newest; of `eval_name` when given); by an eval name (its newest run) or
    `EVAL~N`; or by its id or a unique start or end of one (`1a2b3c4`, the id's
    random end, names one run as surely as the whole id)."""
    as_path = Path(ref)
    if (as_path / MANIFEST).is_file():
        return RunInfo(as_path, read_manifest(as_path))
    if "@" in ref and not ref.startswith("@"):
        raise NotFoundError(f"{ref!r} names a run in git history (EVAL@REF); this needs one in the working tree",
                            hint="name a run under runs/; `gitevals runs list` lists them")
    runs, damaged = scan_runs(runs_dir)
    if not runs and damaged:
        folder, why = damaged[-1]
        raise DataError(f"no run in {runs_dir} can be read; {plural(len(damaged), 'run folder')} damaged, "
                        f"the newest: {why}", path=folder, hint=REPAIR_HINT)
    if not runs:
        raise NotFoundError(f"no runs yet in {runs_dir}", hint="start one with `gitevals run EVAL`")
    name, back = _split_back(ref)
    if name == "latest":
        pool = [r for r in offered_runs(runs) if eval_name is None or r.manifest.eval == eval_name]
        return refuse_newer_damage(_newest(pool, back, ref, eval_name), damaged, ref, eval_name)
    by_eval = [r for r in offered_runs(runs) if r.manifest.eval == name]
    if by_eval:
        return refuse_newer_damage(_newest(by_eval, back, ref, name), damaged, ref, name)
    exact = [r for r in runs if r.id == ref]
    matches = exact or [r for r in runs if r.id.startswith(ref) or r.id.endswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:  # a run named by id whose folder is damaged is named as damaged, not as unknown
        for folder, why in damaged:
            if folder.name.startswith(ref) or folder.name.endswith(ref):
                raise DataError(f"run {ref!r} is damaged: {why}", path=folder, hint=REPAIR_HINT)
    if len(matches) > 1:
        evals = sorted({r.manifest.eval for r in matches})
        shown = ", ".join(f"{r.id} ({r.manifest.eval})" for r in matches[-5:])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        listing = f"gitevals runs list {evals[0]}" if len(evals) == 1 else "gitevals runs list"
        raise NotFoundError(
            f"{ref!r} matches {len(matches)} runs: {shown}{more}",
            hint=f"give more of the run id, or `latest`; see them with `{listing}`",
        )
    near = did_you_mean(ref, [r.id for r in runs] + sorted({r.manifest.eval for r in runs}), or_choices=False)
    raise NotFoundError(
        f"no run {ref!r}",
        hint=(near + "; " if near else "")
        + "name a run by its id (or a unique start or end of it), a run folder, an eval name, "
        "`latest` or `latest~N`; list them with `gitevals runs list [EVAL]`",
    )


def refuse_newer_damage(
    found: RunInfo, damaged: list[tuple[Path, str]], ref: str, eval_name: str | None,
) -> RunInfo:
    """`found`, unless one of the `damaged` folders (of `scan_runs`; of eval
    `eval_name` when given) is newer: then `latest` (or the eval's name) cannot
    say which run it means, and must not silently mean an older one."""
    started = found.id.partition("-")[0]  # a run id starts with its start time, to the second
    newer = [(folder, why) for folder, why in damaged
             if folder.name.partition("-")[0] >= started and eval_name in (None, folder.parent.name)]
    if not newer:
        return found
    folder, why = newer[-1]
    raise DataError(
        f"{ref!r} cannot be resolved: a newer run folder is damaged: {why}",
        path=folder,
        hint=f"repair or remove {folder}, or name a run by its id (`gitevals runs list` lists them)",
    )


def _split_back(ref: str) -> tuple[str, int]:
    """`latest~2` -> (`latest`, 2), as git counts back from HEAD; `latest` -> (`latest`, 0)."""
    name, sep, count = ref.rpartition("~")
    if sep and name and count.isdigit():
        return name, int(count)
    return ref, 0


def _newest(runs: list[RunInfo], back: int, ref: str, eval_name: str | None) -> RunInfo:
    """The newest of `runs` (oldest first), or the one `back` runs before it."""
    if back < len(runs):
        return runs[-1 - back]
    of = f" of eval {eval_name!r}" if eval_name else ""
    count = f"only {plural(len(runs), 'run')}" if runs else "no runs"
    name = _split_back(ref)[0]
    raise NotFoundError(
        f"no run {ref!r}: there {'is' if len(runs) == 1 else 'are'} {count}{of}",
        hint=f"`{name}` is the newest run, `{name}~1` the one before it; "
        f"list them with `gitevals runs list{' ' + eval_name if eval_name else ''}`",
    )
