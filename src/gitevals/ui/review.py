"""Human review in the browser: a run's results one at a time, each decision
appended to the run's reviews.jsonl by the same `ReviewSession` as `gitevals
review`, and the run's summary written with the reviews as the CLI does when a
session ends.

The server keeps no session. A walk's URL names it: which results it visits
(`only`), how many reviews the file held when it began (`at`: the queue stays
as it began, so a result judged since keeps its place and Back reaches it),
the current result (`item`, `trial`) and the reviewer. Saving appends one line
and redirects (303) to the next result, or to a summary when none is left;
Skip and Back are plain links.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gitevals.errors import GitevalsError, NotFoundError
from gitevals.formats import ResultRecord, ReviewLine
from gitevals.project import Project
from gitevals.runs import (
    HUMAN,
    ONLY,
    ReviewSession,
    RunInfo,
    apply_reviews,
    default_reviewer,
    find_run,
    item_status,
    manifest_with_reviews,
    read_checked_results,
    read_reviews,
)

from ._diff import text_diff
from ._web import form_text, render, segment

__all__ = ["routes"]

_FORM = ("verdict", "score", "comment", "reviewer")


@dataclass(frozen=True)
class _Walk:
    """Where a walk is: the results it visits, the reviews it began with, who reviews."""

    only: str
    at: int | None
    reviewer: str | None

    def url(self, run_id: str, record: ResultRecord | None = None, **extra: Any) -> str:
        """The page of `record` in this walk (its summary when None)."""
        params: dict[str, Any] = {"only": self.only}
        if self.at is not None:
            params["at"] = self.at
        if record is not None:
            params.update(item=record["item_id"], trial=record.get("trial", 0))
        if self.reviewer:
            params["reviewer"] = self.reviewer
        params.update({key: value for key, value in extra.items() if value is not None})
        return f"/runs/{segment(run_id)}/review{'' if record is not None else '/done'}?{urlencode(params)}"


@dataclass
class _Run:
    """A run of the working tree as its review needs it: results and every review line."""

    info: RunInfo
    records: list[ResultRecord]
    reviews: list[ReviewLine]

    @classmethod
    def load(cls, project: Project, ref: str) -> _Run:
        info = find_run(project.runs_dir, ref)
        # find_run also takes a folder path: the UI writes only in runs/ of its project
        if not info.path.resolve().is_relative_to(project.runs_dir.resolve()):
            raise NotFoundError(f"no run {ref!r} in {project.relative(project.runs_dir)}/")
        return cls(info, read_checked_results(info.path, info.manifest), read_reviews(info.path))

    @property
    def id(self) -> str:
        return self.info.manifest.id

    def session(self, walk: _Walk, reviewer: str | None = None) -> ReviewSession:
        return ReviewSession(self.info.path, self.info.manifest, self.records, self.reviews,
                             reviewer or walk.reviewer, walk.only, walk.at)

    def session_at(self, walk: _Walk, item_id: str, trial: int,
                   reviewer: str | None = None) -> tuple[_Walk, ReviewSession] | None:
        """A session whose current result is `item_id` x `trial`: in `walk`, or,
        when the walk does not visit it, in a walk of all results; None when
        the run has no output of it to judge."""
        for shown in (walk, _Walk("all", walk.at, walk.reviewer)):
            session = self.session(shown, reviewer)
            if session.go_to(item_id, trial):
                return shown, session
        return None

    def answered(self, item_id: str, trial: int) -> ResultRecord:
        """The result `item_id` x `trial`, which must have an output to judge."""
        record = next((r for r in self.records if r["item_id"] == item_id and r.get("trial", 0) == trial), None)
        if record is None:
            raise NotFoundError(f"run {self.id} has no result for item {item_id!r}"
                                + (f" (trial {trial})" if trial else ""))
        if record.get("error") is not None:
            raise GitevalsError(f"{item_id!r} has no output to judge: its target failed")
        return record


def _project(request: Request) -> Project:
    return request.app.state.project


def _only(text: str | None) -> str:
    only = text or "unreviewed"
    if only not in ONLY:
        raise GitevalsError(f"unknown choice of results {only!r}: choose one of {', '.join(ONLY)}")
    return only


def _whole(text: str | None, what: str) -> int | None:
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        raise GitevalsError(f"{what} must be a whole number, not {text!r}") from None
    if number < 0:
        raise GitevalsError(f"{what} must be 0 or more, not {number}")
    return number


def _walk_of(fields: Any) -> _Walk:
    return _Walk(_only(fields.get("only")), _whole(fields.get("at"), "at"),
                 (fields.get("reviewer") or "").strip() or None)


def _decision(typed: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as a review: every part at once, as the form shows them all."""
    verdict = typed["verdict"] or None
    if verdict not in (None, "pass", "fail"):
        raise GitevalsError(f"unknown verdict {verdict!r}: choose pass or fail, or neither")
    score = None
    if typed["score"]:
        try:
            score = float(typed["score"])
        except ValueError:
            raise GitevalsError(f"the score must be a number from 0 to 1, not {typed['score']!r}") from None
        if not 0 <= score <= 1:  # nan and inf too
            raise GitevalsError(f"the score must be from 0 to 1, not {typed['score']}")
    if verdict is None and score is None and not typed["comment"] and not typed["flagged"]:
        raise GitevalsError("nothing to save: choose pass or fail, give a score, write a comment or flag it "
                            "(or skip it)")
    return {"verdict": verdict, "score": score, "comment": typed["comment"] or None, "flagged": typed["flagged"]}


def _form_of(review: ReviewLine | None, reviewer: str | None) -> dict[str, Any]:
    """The form as a result's latest review left it: saving it unchanged says the same again."""
    form: dict[str, Any] = {"verdict": "", "score": "", "comment": "", "flagged": False, "reviewer": reviewer or ""}
    if review is not None:
        form.update(verdict=review.verdict or "", score="" if review.score is None else f"{review.score:g}",
                    comment=review.comment or "", flagged=review.flagged)
    return form


def _choices(run: _Run) -> dict[str, int]:
    """How many results each choice of `only` visits now."""
    return {only: len(run.session(_Walk(only, None, None)).queue) for only in ONLY}


def _page(request: Request, run: _Run, session: ReviewSession, walk: _Walk, status_code: int = 200,
          form: dict[str, Any] | None = None, error: str | None = None) -> Response:
    """The review page of the session's current result."""
    record = session.current
    assert record is not None
    review = session.review_of(record)
    shown = apply_reviews([record], [review] if review else [])[0]  # with its `human` score
    queue, position = session.queue, session.position
    back = walk.url(run.id, queue[position - 1]) if position > 0 else None
    skip = walk.url(run.id, queue[position + 1] if position + 1 < len(queue) else None)
    reviewer = walk.reviewer or default_reviewer(_project(request).root)
    return render(request, "review.html", status_code, m=run.info.manifest, r=shown, status=item_status(shown),
                  diff=text_diff(record.get("expected"), record.get("output")), review=review, human=HUMAN,
                  walk=walk, position=position + 1, total=len(queue), counts=session.counts(),
                  choices=_choices(run), back=back, skip=skip, form=form or _form_of(review, reviewer),
                  error=error, saved=request.query_params.get("saved"))


def review_page(request: Request) -> Response:
    ref = request.path_params["run_id"]
    params = request.query_params
    walk = _walk_of(params)
    trial = _whole(params.get("trial"), "trial") or 0
    item = params.get("item")
    run = _Run.load(_project(request), ref)
    session = run.session(walk)
    if item is not None and not session.go_to(item, trial):
        run.answered(item, trial)
        # a result of the run outside this walk (a link from its page): every answered one is in `all`
        return RedirectResponse(_Walk("all", session.begun, walk.reviewer).url(run.id, {"item_id": item,
                                                                                        "trial": trial}), 303)
    if walk.at is None or item is None or ref != run.id:
        # a walk begins: name its start, its first result and the run's id in the URL
        began = _Walk(walk.only, session.begun, walk.reviewer)
        return RedirectResponse(began.url(run.id, session.current), 303)
    return _page(request, run, session, walk)


async def save_review(request: Request) -> Response:
    project = _project(request)
    ref = request.path_params["run_id"]
    form = await request.form()
    typed: dict[str, Any] = {key: form_text(form, key) for key in (*_FORM, "only", "at", "item", "trial")}
    typed["flagged"] = form.get("flagged") == "on"

    def save() -> str:
        walk = _walk_of(typed)
        trial = _whole(typed["trial"], "trial") or 0
        run = _Run.load(project, ref)
        try:
            run.answered(typed["item"], trial)
        except NotFoundError as exc:  # a form naming a result the run lacks is a bad request
            raise GitevalsError(str(exc)) from None
        decision = _decision(typed)
        found = run.session_at(walk, typed["item"], trial, walk.reviewer or default_reviewer(project.root))
        assert found is not None  # answered: a walk of all visits it
        walk, session = found
        session.decide(**decision)
        session.advance()
        after = session.current
        session.close()  # appended and flushed already; this writes run.json's summary with the reviews
        return _Walk(walk.only, session.begun, walk.reviewer).url(run.id, after, saved=typed["item"])

    try:
        async with request.app.state.edit_lock:
            target = await anyio.to_thread.run_sync(save)
    except GitevalsError as exc:
        message = str(exc)
        return await anyio.to_thread.run_sync(lambda: _refused(request, ref, typed, message))
    return RedirectResponse(target, status_code=303)


def _refused(request: Request, ref: str, typed: dict[str, Any], message: str) -> Response:
    """A 400 page saying what is wrong, with everything that was typed: the
    result's review page when there is one to show, else a plain page."""
    form = {key: typed[key] for key in (*_FORM, "flagged")}
    try:
        run = _Run.load(_project(request), ref)
        found = run.session_at(_walk_of(typed), typed["item"], _whole(typed["trial"], "trial") or 0)
    except GitevalsError:
        found = None  # the walk itself is what is wrong: the plain page says so
    if found is not None:
        walk, session = found
        return _page(request, run, session, walk, 400, form=form, error=message)
    return render(request, "review_error.html", 400, message=message, form=form, run_id=ref, item=typed["item"])


def done_page(request: Request) -> Response:
    project = _project(request)
    walk = _walk_of(request.query_params)
    run = _Run.load(project, request.path_params["run_id"])
    session = run.session(walk)
    manifest = manifest_with_reviews(run.info.manifest, apply_reviews(run.records, run.reviews))
    summary = manifest.summary
    return render(request, "review_done.html", m=manifest, walk=walk, counts=session.counts(),
                  written=len(run.reviews) - session.begun if walk.at is not None else None,
                  walked=len(session.queue), choices=_choices(run),
                  human_score=summary.scores.get(HUMAN) if summary else None)


routes = [
    Route("/runs/{run_id}/review", review_page),
    Route("/runs/{run_id}/review", save_review, methods=["POST"]),
    Route("/runs/{run_id}/review/done", done_page),
]
