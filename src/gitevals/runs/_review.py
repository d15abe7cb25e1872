"""Human review: a person judges a run's outputs one by one.

Each decision is one line of `reviews.jsonl` in the run folder (a
`ReviewLine`), appended under the file's lock and flushed at once, so a review
that is killed keeps every decision made, and two reviewers at once keep both.
Lines are never rewritten: a later line for the same item x trial supersedes
the earlier ones, and the latest wins.

Reviews become the scorer `human` (`HUMAN`): the value is the reviewer's score,
or 1 / 0 for pass / fail, and it passes on a pass verdict or a score of at
least 0.5. `records_with_reviews` merges them into a run's records, and
`manifest_with_reviews` recomputes the summary, so
that `runs show`, `compare` and the reports treat human scores like any other.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from gitevals._util.clock import utc_now
from gitevals._util.locks import locked
from gitevals.errors import DataError, GitevalsError
from gitevals.formats import ResultRecord, ReviewLine, RunManifest, record_passed

from ._store import MANIFEST, find_run, read_checked_results, read_manifest, read_results, whole_lines, write_manifest
from ._summary import summarize

__all__ = [
    "HUMAN",
    "ONLY",
    "REVIEWS",
    "ReviewSession",
    "default_reviewer",
    "human_score",
    "item_status",
    "latest_reviews",
    "manifest_with_reviews",
    "open_review",
    "parse_reviews",
    "read_reviews",
    "records_with_reviews",
    "review_counts",
    "save_summary",
]

REVIEWS = "reviews.jsonl"
HUMAN = "human"
"""The scorer name human reviews are counted under."""
ONLY = ("unreviewed", "failing", "flagged", "all")
"""Which results a review session visits."""

Key = tuple[str, int]
Status = Literal["passed", "failed", "errored", "needs_review"]


# --- reading ------------------------------------------------------------------


def parse_reviews(raw: bytes, path: Path | str) -> list[ReviewLine]:
    """The lines of reviews.jsonl content, oldest first; a torn last line (a
    writer killed mid-line) is skipped. `path` names the file in messages."""
    text = whole_lines(raw, path)
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(ReviewLine.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise DataError(
                f"not a valid review line: {where + ': ' if where else ''}{first['msg']}",
                path=path,
                line=number,
                hint="each line is one JSON object written by `gitevals review`",
            ) from None
    return found


def read_reviews(folder: Path) -> list[ReviewLine]:
    """Every review of the run in `folder`, oldest first (none when it has no reviews.jsonl)."""
    path = folder / REVIEWS
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    return parse_reviews(raw, path)


def latest_reviews(reviews: Iterable[ReviewLine]) -> dict[Key, ReviewLine]:
    """(item id, trial) -> the review that supersedes all earlier ones of it."""
    return {(review.item_id, review.trial): review for review in reviews}


def _judged(review: ReviewLine | None) -> bool:
    return review is not None and (review.verdict is not None or review.score is not None)


def human_score(review: ReviewLine) -> dict[str, Any] | None:
    """The `human` score record of a review; None when it holds no verdict or score
    (only a flag or a comment). A verdict decides `passed` when there is one."""
    if not _judged(review):
        return None
    value = review.score if review.score is not None else (1.0 if review.verdict == "pass" else 0.0)
    passed = review.verdict == "pass" if review.verdict is not None else value >= 0.5
    details: dict[str, Any] = {"reviewer": review.reviewer}
    if review.flagged:
        details["flagged"] = True
    return {"value": value, "passed": passed, "reason": review.comment, "details": details, "added_at": review.time}


def apply_reviews(records: Sequence[ResultRecord], reviews: Iterable[ReviewLine]) -> list[ResultRecord]:
    """`records` with each reviewed one's `human` score set (copies; the others as they are)."""
    latest = latest_reviews(reviews)
    if not latest:
        return list(records)
    merged = []
    for record in records:
        review = latest.get((record["item_id"], record.get("trial", 0)))
        score = human_score(review) if review is not None and record.get("error") is None else None
        if score is not None:
            record = {**record, "scores": {**(record.get("scores") or {}), HUMAN: score}}
        merged.append(record)
    return merged


def records_with_reviews(folder: Path, records: Sequence[ResultRecord]) -> list[ResultRecord]:
    """The run's `records` with the `human` scores of its reviews.jsonl merged in."""
    return apply_reviews(records, read_reviews(folder))


def manifest_with_reviews(manifest: RunManifest, records: Sequence[ResultRecord]) -> RunManifest:
    """`manifest` with its summary recomputed from `records` (which already hold
    the human scores); unchanged when the run has no summary yet. Gates stay
    as they are: thresholds cannot name `human`, and other scorers' statistics
    do not change."""
    if manifest.summary is None:
        return manifest
    old = manifest.summary
    summary = summarize(records, scorer_names=list(old.scores), total_items=old.total_items,
                        trials=old.trials, duration_s=old.duration_s)
    summary.usage = old.usage
    return manifest.model_copy(update={"summary": summary})


def save_summary(folder: Path) -> RunManifest:
    """Write run.json with the summary recomputed with the folder's reviews
    (atomically); returns the manifest."""
    with locked(folder / MANIFEST):
        manifest = read_manifest(folder)
        updated = manifest_with_reviews(manifest, records_with_reviews(folder, read_results(folder)))
        if updated != manifest:
            write_manifest(folder, updated)
    return updated


def item_status(record: ResultRecord) -> Status:
    """`errored` (the target failed), `needs_review` (nothing scored it: an eval
    without scorers, not yet reviewed), `passed` or `failed`."""
    if record.get("error") is not None:
        return "errored"
    scores = record.get("scores") or {}
    if not any(not s.get("skipped") for s in scores.values()):
        return "needs_review"
    return "passed" if record_passed(record) else "failed"


def review_counts(records: Sequence[ResultRecord], reviews: Iterable[ReviewLine]) -> dict[str, int]:
    """How many results can be reviewed (`reviewable`: the target answered), how
    many are `reviewed`, `flagged`, and `needs_review` (no score at all)."""
    latest = latest_reviews(reviews)
    counts = {"reviewable": 0, "reviewed": 0, "flagged": 0, "needs_review": 0}
    for record in records:
        if record.get("error") is not None:
            continue
        counts["reviewable"] += 1
        review = latest.get((record["item_id"], record.get("trial", 0)))
        counts["reviewed"] += _judged(review)
        counts["flagged"] += bool(review and review.flagged)
        scores = record.get("scores") or {}
        counts["needs_review"] += not _judged(review) and not any(
            not s.get("skipped") for name, s in scores.items() if name != HUMAN)
    return counts


# --- a review session ---------------------------------------------------------


class ReviewSession:
    """A walk through a run's results, one item x trial at a time.

    The results visited (`queue`) are fixed when the session opens: those the
    target answered, by item id then trial, filtered by `only`. With
    `unreviewed` the walk starts after the result reviewed last, so a session
    taken up again continues where the previous one stopped. Every decision is
    a full `ReviewLine` (verdict, score, comment and flag together), appended
    and flushed at once.

    `begun` reopens a walk that began earlier (the web UI opens one per
    request): the queue is chosen and ordered by the first `begun` reviews, as
    they stood when the walk began, so that results judged since keep their
    places and `back` still reaches them. The latest reviews are all shown.
    """

    def __init__(self, folder: Path, manifest: RunManifest, records: Sequence[ResultRecord],
                 reviews: Sequence[ReviewLine], reviewer: str | None, only: str = "unreviewed",
                 begun: int | None = None) -> None:
        if only not in ONLY:
            raise GitevalsError(f"unknown --only {only!r}", hint=f"choose one of {', '.join(ONLY)}")
        self.folder = folder
        self.manifest = manifest
        self.reviewer = reviewer
        self.only = only
        self.begun = len(reviews) if begun is None else min(max(begun, 0), len(reviews))
        self.written = 0
        ordered = sorted((r for r in records if r.get("error") is None),
                         key=lambda r: (str(r["item_id"]), r.get("trial", 0)))
        self._answered = ordered
        self.skipped_errors = sum(1 for r in records if r.get("error") is not None)
        then = reviews[:self.begun]
        latest_then = latest_reviews(then)
        self.queue = [r for r in ordered if self._wanted(r, latest_then.get(_key(r)))]
        self.latest = latest_reviews(reviews)
        if only == "unreviewed" and then:
            last = (then[-1].item_id, then[-1].trial)
            keys = [_key(r) for r in ordered]
            if last in keys:
                after = keys.index(last)
                position = {key: index for index, key in enumerate(keys)}
                self.queue = ([r for r in self.queue if position[_key(r)] > after]
                              + [r for r in self.queue if position[_key(r)] <= after])
        self.position = 0

    def _wanted(self, record: ResultRecord, review: ReviewLine | None) -> bool:
        if self.only == "unreviewed":
            return not _judged(review)
        if self.only == "flagged":
            return bool(review and review.flagged)
        if self.only == "failing":
            merged = apply_reviews([record], [review] if review else [])[0]
            return item_status(merged) == "failed"
        return True

    @property
    def current(self) -> ResultRecord | None:
        """The result being reviewed; None once the walk has passed the last one."""
        return self.queue[self.position] if self.position < len(self.queue) else None

    def review_of(self, record: ResultRecord) -> ReviewLine | None:
        """The latest review of `record`, if any."""
        return self.latest.get(_key(record))

    def advance(self) -> None:
        self.position = min(self.position + 1, len(self.queue))

    def go_to(self, item_id: str, trial: int = 0) -> bool:
        """Make the result `item_id` x `trial` the current one; False (and no
        move) when the walk does not visit it."""
        keys = [_key(r) for r in self.queue]
        if (item_id, trial) not in keys:
            return False
        self.position = keys.index((item_id, trial))
        return True

    def back(self) -> bool:
        """Go to the previous result; False when already at the first."""
        if self.position == 0:
            return False
        self.position -= 1
        return True

    def decide(self, **changes: Any) -> ReviewLine:
        """Record a decision on the current result: `verdict`, `score`, `comment`
        and / or `flagged` change, the rest carry over from its latest review.
        A verdict clears the score and a score clears the verdict."""
        record = self.current
        if record is None:
            raise GitevalsError("no result to review: the session is at its end")
        previous = self.latest.get(_key(record))
        state: dict[str, Any] = (
            {"verdict": previous.verdict, "score": previous.score, "comment": previous.comment,
             "flagged": previous.flagged} if previous else {}
        )
        if "verdict" in changes:
            state["score"] = None
        if "score" in changes:
            state["verdict"] = None
        state.update(changes)
        line = ReviewLine(item_id=record["item_id"], trial=record.get("trial", 0), reviewer=self.reviewer,
                          time=utc_now(), **state)
        self._append(line)
        self.latest[_key(record)] = line
        self.written += 1
        return line

    def _append(self, line: ReviewLine) -> None:
        # Under the file's lock: a second reviewer's process may be appending, and
        # its half-written line must not look torn to this one and be cut off.
        path = self.folder / REVIEWS
        with locked(path):
            _cut_torn_line(path)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line.model_dump_json() + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def counts(self) -> dict[str, int]:
        """`review_counts` of the whole run, with every review so far."""
        return review_counts(self._answered, self.latest.values())

    def remaining(self) -> int:
        """Results of the whole run the target answered that no one has judged yet."""
        return sum(1 for r in self._answered if not _judged(self.latest.get(_key(r))))

    def close(self) -> RunManifest:
        """When anything was written, write the summary with the reviews."""
        if self.written:
            self.manifest = save_summary(self.folder)
        return self.manifest


def _key(record: ResultRecord) -> Key:
    return (record["item_id"], record.get("trial", 0))


def _cut_torn_line(path: Path) -> None:
    """Cut a half-written last line (a writer killed mid-line) before appending."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    whole = data[: data.rfind(b"\n") + 1]
    if len(whole) != len(data):
        with open(path, "r+b") as handle:
            handle.truncate(len(whole))


def open_review(runs_dir: Path, run_ref: str, *, only: str = "unreviewed", reviewer: str | None = None,
                project_root: Path | None = None, begun: int | None = None) -> ReviewSession:
    """A review session over the run named by `run_ref` (an id or prefix, a folder,
    an eval name or `latest`); the reviewer defaults to `git config user.name`,
    then the login name. `begun` reopens a walk (see `ReviewSession`)."""
    if "@" in run_ref and not run_ref.startswith("@") and not Path(run_ref).exists():
        raise GitevalsError(
            f"{run_ref!r} names a run in git history; reviews are written to the run's folder",
            hint="review a run in the working tree (check out the commit that holds it, or copy it with "
            "`gitevals score EVAL@REF --only-missing`)",
        )
    info = find_run(runs_dir, run_ref)
    if reviewer is None:
        reviewer = default_reviewer(project_root or info.path)
    return ReviewSession(info.path, info.manifest, read_checked_results(info.path, info.manifest),
                         read_reviews(info.path), reviewer, only,
                         begun)


def default_reviewer(path: Path) -> str | None:
    """Who reviews when no one is named: `git config user.name` as seen from
    `path`, else the login name."""
    from gitevals.git import user_name

    return user_name(path) or os.environ.get("USER") or os.environ.get("USERNAME")
