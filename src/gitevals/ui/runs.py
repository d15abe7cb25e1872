"""Eval and run pages: every eval with its latest run, an eval's runs with each
scorer's trend, one run (summary, gates, a filtered and sorted item table) and
one result (input, expected and output side by side, trajectory, scores)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gitevals._util.words import EVERY_ITEM_RULE, _number
from gitevals._yaml.validation import read_model
from gitevals.datasets import load_dataset
from gitevals.errors import ConfigError, GitevalsError, NotFoundError
from gitevals.formats import EvalConfig, ResultRecord, ReviewLine, RunManifest
from gitevals.project import Project
from gitevals.report.charts import trend_charts
from gitevals.runs import (
    HUMAN,
    RunInfo,
    apply_reviews,
    find_run,
    interrupt_refusal,
    item_status,
    latest_reviews,
    list_runs,
    manifest_with_reviews,
    process_gone,
    read_checked_results,
    read_reviews,
    resume_command,
    run_history,
    scorer_names,
)

from ._diff import text_diff
from ._web import page_of, render
from .follow import progress_of

__all__ = ["eval_response", "routes"]

STATUSES = ("failing", "errored", "failed", "passed", "needs_review")


def _project(request: Request) -> Project:
    return request.app.state.project


def _target_text(config: EvalConfig) -> str:
    target = config.target
    if isinstance(target, str):
        return target
    return json.dumps(target.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False)


def _read_eval(project: Project, name: str) -> tuple[EvalConfig | None, str | None]:
    """The eval file's config, or the error that keeps it from being read."""
    try:
        _, config = read_model(project.eval_path(name), EvalConfig, ConfigError)
    except NotFoundError:
        raise
    except GitevalsError as exc:
        return None, str(exc)
    return config, None


def evals_page(request: Request) -> Response:
    project = _project(request)
    runs_by_eval: dict[str, list[RunInfo]] = {}
    for info in list_runs(project.runs_dir):
        runs_by_eval.setdefault(info.manifest.eval, []).append(info)
    rows = []
    for name in project.eval_names():
        config, error = _read_eval(project, name)
        runs = runs_by_eval.get(name, [])
        rows.append({"name": name, "config": config, "error": error, "runs": len(runs),
                     "target": _target_text(config) if config else None,
                     "latest": runs[-1].manifest if runs else None,
                     "gone": bool(runs) and process_gone(runs[-1].manifest)})
    return render(request, "evals.html", rows=rows)


def eval_response(request: Request, name: str, status_code: int = 200, **extra: Any) -> Response:
    """An eval's page: its config, each scorer's trend, its runs and the form that starts one."""
    project = _project(request)
    path = project.eval_path(name)
    name = path.stem
    config, error = _read_eval(project, name)
    runs = list_runs(project.runs_dir, name)
    finished = [info.manifest for info in runs if info.manifest.summary is not None]
    history: list[RunManifest] = run_history(project, finished[-1], limit=100) if finished else []
    left_out = len(finished) - len(history)
    extra.setdefault("form", {})
    extra.setdefault("form_error", None)
    live = request.app.state.live
    return render(request, "eval.html", status_code, name=name, config=config, error=error,
                  target=_target_text(config) if config else None, path=project.relative(path),
                  runs=list(reversed(runs)), charts=trend_charts(history, _mean_thresholds(config)),
                  gates=_threshold_texts(config) if config else [], history=history, left_out=left_out,
                  live_ids=live.running_ids(), gone_ids={i.id for i in runs if process_gone(i.manifest)}, **extra)


def _limits(value: Any) -> tuple[float | None, float | None]:
    """(mean, pass rate) of one threshold: a number is the lowest mean."""
    if isinstance(value, (int, float)):
        return float(value), None
    return value.mean, value.pass_rate


def _mean_thresholds(config: EvalConfig | None) -> dict[str, float]:
    """The lowest acceptable mean of each scorer that has one (`*`: every scorer), for the charts."""
    found = {}
    for scorer, value in (config.thresholds if config else {}).items():
        mean, _ = _limits(value)
        if mean is not None:
            found[scorer] = mean
    return found


def _threshold_texts(config: EvalConfig) -> list[tuple[str, str]]:
    """(scorer, what it needs) of each gate, worded as the CLI words it:
    `has-answer`, `mean >= 0.60, pass rate >= 0.90`."""
    texts = []
    for scorer, value in config.thresholds.items():
        mean, pass_rate = _limits(value)
        needs = [f"{words} >= {_number(limit)}" for words, limit in (("mean", mean), ("pass rate", pass_rate))
                 if limit is not None]
        texts.append(("all scorers" if scorer == "*" else scorer, ", ".join(needs)))
    gate = config.gate
    if gate is not None and gate.max_regressions is not None:
        texts.append(("regressed items", f"<= {gate.max_regressions} against the baseline"))
    if gate is not None and gate.fail_on_regression:
        texts.append(("all scorers", "no regression against the baseline"))
    if not config.thresholds:  # as check_gates: a baseline's gates replace the every-item rule
        texts.insert(0, ("all items", EVERY_ITEM_RULE + (" (without a baseline)" if texts else "")))
    if config.thresholds or len(texts) > 1:
        allowed = config.allowed_errors if config.allowed_errors is not None else config.max_errors
        texts.append(("target and each scorer", f"errors <= {allowed or 0}"))
    return texts


def eval_page(request: Request) -> Response:
    return eval_response(request, request.path_params["name"])


def _load_run(project: Project, ref: str) -> tuple[RunInfo, RunManifest, list[ResultRecord], list[ReviewLine]]:
    """A run of the working tree, with its human reviews counted as the scorer
    `human`; and the reviews themselves."""
    info = find_run(project.runs_dir, ref)
    manifest = info.manifest
    records = read_checked_results(info.path, manifest)
    reviews = read_reviews(info.path)
    if reviews:
        records = apply_reviews(records, reviews)
        manifest = manifest_with_reviews(manifest, records)
    return info, manifest, records, reviews


def _wanted(status: str, wanted: str) -> bool:
    if wanted == "failing":
        return status in ("failed", "errored")
    return not wanted or status == wanted


def run_page(request: Request) -> Response:
    project = _project(request)
    info, manifest, records, _ = _load_run(project, request.path_params["run_id"])
    names = scorer_names(manifest, records)
    params = request.query_params
    status, tag, q = params.get("status", ""), params.get("tag", "").strip(), params.get("q", "").strip()
    sort, order = params.get("sort", ""), params.get("order", "asc")
    rows: list[dict[str, Any]] = []
    counts = dict.fromkeys(STATUSES, 0)
    tags: set[str] = set()
    for record in records:
        row_status = item_status(record)
        counts[row_status] += 1
        counts["failing"] += row_status in ("failed", "errored")
        row_tags = (record.get("context") or {}).get("tags") or []
        row_tags = [row_tags] if isinstance(row_tags, str) else [str(t) for t in row_tags]
        tags.update(row_tags)
        rows.append({"record": record, "status": row_status, "tags": row_tags, "trial": record.get("trial", 0)})
    shown = [r for r in rows if _wanted(r["status"], status) and (not tag or tag in r["tags"])]
    if q:
        words = q.lower().split()
        shown = [r for r in shown if all(w in json.dumps([r["record"]["item_id"], r["record"].get("input"),
                                                          r["record"].get("output")], ensure_ascii=False).lower()
                                         for w in words)]
    if sort in names:
        def value(row: dict[str, Any]) -> float | None:
            return (row["record"].get("scores") or {}).get(sort, {}).get("value")

        scored = sorted((r for r in shown if value(r) is not None),
                        key=lambda r: (value(r), r["record"]["item_id"], r["trial"]), reverse=order == "desc")
        shown = scored + [r for r in shown if value(r) is None]  # errors and skips last, either way
    else:
        shown.sort(key=lambda r: (r["record"]["item_id"], r["trial"]))
    page, paging = page_of(shown, params.get("page"))
    live = request.app.state.live.get(manifest.id)
    gone = live is None and process_gone(manifest)
    # a run another process is recording: its page follows the run folder, unless that process is gone
    progress = live or (progress_of(project, manifest, records) if manifest.status == "running" and not gone else None)
    # a run of `gitevals run` on this machine is cancelled with SIGINT, as Ctrl-C in its terminal would
    cancellable = not live.finished if live else manifest.status == "running" and interrupt_refusal(manifest) is None
    return render(request, "run.html", m=manifest, folder=project.relative(info.path), names=names,
                  rows=page, paging=paging, counts=counts, total=len(records), tags=sorted(tags), status=status,
                  tag=tag, q=q, sort=sort if sort in names else "", order=order, live=live, progress=progress,
                  gone=gone, cancellable=cancellable, resume=resume_command(manifest), human=HUMAN,
                  statuses=STATUSES)


def result_page(request: Request) -> Response:
    project = _project(request)
    _, manifest, records, reviews = _load_run(project, request.path_params["run_id"])
    item_id = request.path_params["item_id"]
    trials = sorted((r for r in records if r["item_id"] == item_id), key=lambda r: r.get("trial", 0))
    if not trials:
        raise NotFoundError(f"run {manifest.id} has no result for item {item_id!r}")
    try:
        wanted = int(request.query_params.get("trial", trials[0].get("trial", 0)))
    except ValueError:
        wanted = 0
    record = next((r for r in trials if r.get("trial", 0) == wanted), trials[0])
    review = latest_reviews(reviews).get((item_id, record.get("trial", 0)))
    # the results in the run page's order, for previous / next
    order = sorted((r["item_id"], r.get("trial", 0)) for r in records)
    at = order.index((item_id, record.get("trial", 0)))
    diff = text_diff(record.get("expected"), record.get("output"))
    return render(request, "result.html", m=manifest, r=record, status=item_status(record), review=review,
                  trials=[r.get("trial", 0) for r in trials], diff=diff,
                  tags=(record.get("context") or {}).get("tags") or [], human=HUMAN,
                  context={k: v for k, v in (record.get("context") or {}).items() if k != "tags"},
                  expected_trajectory=_expected_trajectory(project, manifest, record),
                  position=at + 1, count=len(order), previous=order[at - 1] if at else None,
                  following=order[at + 1] if at + 1 < len(order) else None)


def _expected_trajectory(project: Project, manifest: RunManifest, record: ResultRecord) -> Any:
    """The item's expected trajectory, from the dataset file when its item is still
    the one this result was made from (the same content hash); else None."""
    if not manifest.dataset or not record.get("hash"):
        return None
    try:
        dataset = load_dataset(project.dataset_path(manifest.dataset), manifest.dataset)
    except GitevalsError:
        return None
    item = next((i for i in dataset.items if i.id == record["item_id"]), None)
    return item.expected_trajectory if item is not None and item.hash == record["hash"] else None


routes = [
    Route("/evals", evals_page),
    Route("/evals/{name}", eval_page),
    Route("/runs/{run_id}", run_page),
    Route("/runs/{run_id}/items/{item_id}", result_page),
]
