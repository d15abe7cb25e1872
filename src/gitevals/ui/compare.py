"""The compare page: two runs (or a run and its baseline at a git ref) side by
side, with what `gitevals compare` says about them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gitevals.compare import compare
from gitevals.datasets import dataset_commits
from gitevals.errors import GitevalsError, NotFoundError
from gitevals.project import Project
from gitevals.report.comparison import headline
from gitevals.runs import find_baseline, list_runs, load_run

from ._diff import text_diff
from ._web import render

__all__ = ["routes"]

_RUNS_LISTED = 300
_ITEMS_SHOWN = 200


def _float(text: str | None, default: float, field: str) -> float:
    try:
        value = float(text) if text else default
    except ValueError:
        raise GitevalsError(f"{field}: not a number: {text!r}", hint=f"give a number from 0 to 1, like {default:g}") \
            from None
    if not 0 <= value <= 1:
        raise GitevalsError(f"{field}: {value:g} is not between 0 and 1")
    return value


def compare_page(request: Request) -> Response:
    project: Project = request.app.state.project
    params = request.query_params
    a, b, baseline = (params.get(key, "").strip() for key in ("a", "b", "baseline"))
    choices = list(reversed(list_runs(project.runs_dir)))[:_RUNS_LISTED]
    form: dict[str, Any] = {"a": a, "b": b, "baseline": baseline, "tolerance": params.get("tolerance", ""),
            "alpha": params.get("alpha", ""), "include_changed": params.get("include_changed") == "on"}
    context: dict[str, Any] = {"choices": choices, "form": form, "cmp": None, "error": None, "headline": None, "local": {}}
    if not (a or baseline):  # nothing asked yet (B alone only preselects it)
        if params.get("go"):
            context["error"] = "pick the baseline: run A, or a git ref"
        return render(request, "compare.html", 400 if context["error"] else 200, **context)
    try:
        tolerance, alpha = _float(form["tolerance"], 0.05, "tolerance"), _float(form["alpha"], 0.05, "alpha")
        if baseline:
            run_b = load_run(project, b or a or "latest")
            run_a = find_baseline(project, run_b.manifest.eval, baseline, exclude=run_b.id)
        elif a and b:
            run_a, run_b = load_run(project, a), load_run(project, b)
        else:
            run_a = load_run(project, a)
            run_b = load_run(project, run_a.manifest.eval)
            if run_b.id == run_a.id:
                raise GitevalsError(f"{run_a.id} is the newest run of {run_a.manifest.eval!r}: nothing newer to "
                                    "compare with", hint="pick run B too")
        run_a, run_b = run_a.with_reviews(), run_b.with_reviews()
        result = compare(run_a, run_b, include_changed=form["include_changed"], tolerance=tolerance, alpha=alpha,
                         dataset_commits=dataset_commits(project, run_a.manifest, run_b.manifest))
    except GitevalsError as exc:
        return render(request, "compare.html", 404 if isinstance(exc, NotFoundError) else 400,
                      **{**context, "error": str(exc)})
    regressions = [(d, text_diff(d.output_a, d.output_b)) for d in result.regressions[:_ITEMS_SHOWN]]
    return render(request, "compare.html", **{**context, "cmp": result, "headline": headline(result),
                                              "regressions": regressions,
                                              "local": {run_a.id: _is_local(run_a.source),
                                                        run_b.id: _is_local(run_b.source)}})


def _is_local(source: str) -> bool:
    """Whether a run was read from a folder of the working tree (so its pages exist), not from git history."""
    head, _, _ = source.partition(":")
    return not (len(head) == 8 and all(c in "0123456789abcdef" for c in head) and ":" in source)


routes = [Route("/compare", compare_page)]
