"""Dataset pages: every dataset with its last change, one dataset's items
(searched, filtered by tag, paged), one item, adding and removing items, and a
dataset's history. Creating datasets and editing items are in dataset_edit,
importing files in dataset_import."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gitevals._yaml.validation import read_model
from gitevals.datasets import (
    Dataset,
    DatasetHistory,
    DatasetItem,
    EditableDataset,
    item_changes,
    load_dataset,
    versioned_edit,
)
from gitevals.errors import ConfigError, DataError, GitevalsError, NotFoundError
from gitevals.formats import EvalConfig
from gitevals.git import open_repo
from gitevals.project import Project
from gitevals.runs import RunInfo, item_status, list_runs, read_results, records_with_reviews

from ._web import form_text, page_of, parse_value, render, segment

__all__ = ["committed_redirect", "dataset_file", "dataset_response", "datasets_response", "edit_fields", "field_text",
           "item_response", "json_object", "locked_edit", "project_of", "routes", "tags_of"]


def project_of(request: Request) -> Project:
    return request.app.state.project


def dataset_file(project: Project, name: str) -> Path:
    """The file of dataset `name` from a URL. Only a plain name is looked up:
    `Project.dataset_path` would also take `x.yaml` as a path from the root."""
    if name.endswith((".yaml", ".yml")):
        raise NotFoundError(f"no dataset named {name!r}", hint="a dataset is named by its file's stem")
    return project.dataset_path(name)


def datasets_page(request: Request) -> Response:
    return datasets_response(request)


def datasets_response(request: Request, status_code: int = 200, form: dict[str, Any] | None = None,
                      form_error: str | None = None) -> Response:
    """The list of datasets, with the new-dataset form (kept as typed after an error)."""
    project = project_of(request)
    rows = []
    runs_of = _runs_by_dataset(project)
    repo = open_repo(project.root)
    try:
        head = repo.head() if repo is not None else None
        for name in project.dataset_names():
            path = project.dataset_path(name)
            row: dict[str, Any] = {"name": name, "path": project.relative(path), "error": None, "commit": None,
                                   "dirty": False, "items": None, "tags": [], "description": None,
                                   "runs": runs_of.get(name, [])}
            try:
                dataset = load_dataset(path, name)
                row.update(items=len(dataset.items), tags=dataset.all_tags(), description=dataset.description)
            except GitevalsError as exc:
                row["error"] = str(exc)
            if repo is not None:
                relative = repo.relative(path)
                if head is not None and relative is not None:
                    found = repo.log(relative, None, "HEAD", limit=1)
                    row["commit"] = found[0] if found else None
                row["dirty"] = repo.has_changes(path)
            rows.append(row)
    finally:
        if repo is not None:
            repo.close()
    return render(request, "datasets.html", status_code, rows=rows, in_git=repo is not None, project=project,
                  form=form or {}, form_error=form_error, auto_commit=project.config.auto_commit)


def _runs_by_dataset(project: Project) -> dict[str, list[RunInfo]]:
    """Every run under runs/ by the dataset it ran on, newest first."""
    found: dict[str, list[RunInfo]] = {}
    for info in reversed(list_runs(project.runs_dir)):
        if info.manifest.dataset:
            found.setdefault(info.manifest.dataset, []).append(info)
    return found


def _load(project: Project, name: str) -> Dataset:
    return load_dataset(dataset_file(project, name), name)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _matches(item: DatasetItem, words: list[str]) -> bool:
    text = f"{item.id}\n{_text(item.input)}\n{_text(item.expected)}".lower()
    return all(word in text for word in words)


def dataset_response(request: Request, name: str, status_code: int = 200, **extra: Any) -> Response:
    """The dataset page; `extra` fills the add-item form (`form`, `form_error`)
    or the import form (`import_form`, `import_error`) after an error."""
    project = project_of(request)
    dataset = _load(project, name)
    q = request.query_params.get("q", "").strip()
    tag = request.query_params.get("tag", "").strip()
    items = list(dataset.items)
    if tag:
        items = [item for item in items if tag in item.tags]
    if q:
        words = q.lower().split()
        items = [item for item in items if _matches(item, words)]
    shown, paging = page_of(items, request.query_params.get("page"))
    for key in ("form", "import_form"):
        extra.setdefault(key, {})
    for key in ("form_error", "import_error"):
        extra.setdefault(key, None)
    return render(request, "dataset.html", status_code, dataset=dataset, name=name, items=shown, paging=paging,
                  q=q, tag=tag, path=project.relative(dataset_file(project, name)), evals=_evals_of(project, name),
                  auto_commit=project.config.auto_commit, **extra)


def _evals_of(project: Project, name: str) -> list[str]:
    """The evals that run dataset `name` (those whose file reads)."""
    found = []
    for eval_name in project.eval_names():
        try:
            _, config = read_model(project.eval_path(eval_name), EvalConfig, ConfigError)
        except GitevalsError:
            continue
        if config.dataset == name:
            found.append(eval_name)
    return found


def dataset_page(request: Request) -> Response:
    return dataset_response(request, request.path_params["name"])


def item_page(request: Request) -> Response:
    return item_response(request, request.path_params["name"], request.path_params["item_id"])


def item_response(request: Request, name: str, item_id: str, status_code: int = 200,
                  edit: dict[str, Any] | None = None, edit_error: str | None = None) -> Response:
    """The item page with its edit form: the item's own values, or what was
    typed when saving it failed."""
    project = project_of(request)
    dataset = _load(project, name)
    item = next((i for i in dataset.items if i.id == item_id), None)
    if item is None:
        raise NotFoundError(f"no item {item_id!r} in dataset {name!r}")
    return render(request, "item.html", status_code, name=name, item=item,
                  context={k: v for k, v in item.context.items() if k != "tags"},  # the tags are shown as tags
                  latest=_latest_results(project, name, item.id, item.hash),
                  path=project.relative(dataset_file(project, name)), auto_commit=project.config.auto_commit,
                  edit=edit if edit is not None else edit_fields(item.to_dict()), edit_error=edit_error)


def _latest_results(project: Project, name: str, item_id: str, item_hash: str) -> list[dict[str, Any]]:
    """The item's result in the newest run of each eval of the dataset that has one
    (with its human review counted, as on the run page), and whether the item changed since."""
    found = []
    for eval_name in _evals_of(project, name):
        runs = list_runs(project.runs_dir, eval_name)
        if not runs:
            continue
        info = runs[-1]
        records = [r for r in read_results(info.path) if r.get("item_id") == item_id]
        if records:
            records = records_with_reviews(info.path, records)
        if records:
            record = min(records, key=lambda r: r.get("trial", 0))
            found.append({"eval": eval_name, "run": info.manifest.id, "trial": record.get("trial", 0),
                          "status": item_status(record), "commit": (info.manifest.git.commit or "")[:8]
                          if info.manifest.git else "", "changed": record.get("hash") != item_hash})
    return found


def field_text(value: Any) -> str:
    """What an edit field shows for `value`, such that `parse_value` reads the
    same value back: a string that would read as JSON (`30`, `true`) is shown
    quoted, or saving an untouched form would turn it into a number."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, indent=2 if isinstance(value, (dict, list)) else None)


def edit_fields(item: Mapping[str, Any]) -> dict[str, str]:
    """The edit form's fields for an item (as plain data); its tags have a field of their own."""
    context = dict(item.get("context") or {})
    tags = context.pop("tags", None) or []
    return {"input": field_text(item.get("input")), "expected": field_text(item.get("expected")),
            "context": field_text(context or None), "tags": ", ".join(str(tag) for tag in tags),
            "expected_trajectory": field_text(item.get("expected_trajectory"))}


def json_object(text: str, what: str, example: str) -> dict[str, Any] | None:
    """A form field that must hold a JSON object, or nothing."""
    if not text:
        return None
    value = parse_value(text)
    if not isinstance(value, dict):
        raise GitevalsError(f"{what} must be a JSON object, like {example}")
    return value


def tags_of(text: str) -> list[str]:
    return [tag for tag in re.split(r"[,\s]+", text) if tag]


def committed_redirect(target: str, sha: str | None) -> RedirectResponse:
    """A 303 to `target` (a URL with a query already), naming the edit's commit when it made one."""
    return RedirectResponse(target + (f"&committed={sha[:8]}" if sha else ""), status_code=303)


async def locked_edit(request: Request, edit: Callable[[], tuple[str, str | None]],
                      refused: Callable[[str], Response]) -> Response:
    """Run `edit` in a worker thread under the app's edit lock; it returns the
    page to go to and the sha of the commit it made, if any. When it raises a
    GitevalsError (other than not-found, which is the 404 page), the response
    is `refused(message)` instead: the form again, as typed, with its error."""
    try:
        async with request.app.state.edit_lock:
            target, sha = await anyio.to_thread.run_sync(edit)
    except NotFoundError:
        raise
    except GitevalsError as exc:
        message = str(exc)
        return await anyio.to_thread.run_sync(lambda: refused(message))
    return committed_redirect(target, sha)


async def add_item(request: Request) -> Response:
    project = project_of(request)
    name = request.path_params["name"]
    form = await request.form()
    fields = {key: form_text(form, key) for key in ("input", "expected", "tags", "id", "context")}
    commit = form.get("commit") == "on"

    def add() -> tuple[str, str | None]:
        if not fields["input"]:
            raise GitevalsError("give the item's input")
        context = json_object(fields["context"], "context", '{"channel": "email"}')
        path = dataset_file(project, name)
        with versioned_edit(project, path, commit) as note:
            editor = EditableDataset.open(path, name)
            new_id = editor.add(parse_value(fields["input"]),
                                parse_value(fields["expected"]) if fields["expected"] else None,
                                id=fields["id"] or None, context=context, tags=tags_of(fields["tags"]))
            editor.save()
            note["message"] = f"dataset {name}: +1 ({new_id})"
        return f"/datasets/{segment(name)}/items/{segment(new_id)}?added=1", note.get("sha")

    return await locked_edit(request, add, lambda message: dataset_response(
        request, name, 400, form={**fields, "commit": commit}, form_error=message))


async def remove_item(request: Request) -> Response:
    project = project_of(request)
    name, item_id = request.path_params["name"], request.path_params["item_id"]
    form = await request.form()
    commit = form.get("commit") == "on"

    def remove() -> str | None:
        path = dataset_file(project, name)
        with versioned_edit(project, path, commit) as note:
            editor = EditableDataset.open(path, name)
            editor.remove([item_id])
            editor.save()
            note["message"] = f"dataset {name}: -1 ({item_id})"
        return note.get("sha")

    async with request.app.state.edit_lock:
        sha = await anyio.to_thread.run_sync(remove)
    return committed_redirect(f"/datasets/{segment(name)}?removed={segment(item_id)}", sha)


def history_page(request: Request) -> Response:
    """The commits that changed the dataset file, newest first, each with the
    item ids it added, changed and removed (as `gitevals dataset history`),
    and what the uncommitted changes in the working tree do."""
    project = project_of(request)
    name = request.path_params["name"]
    path = dataset_file(project, name)
    repo = open_repo(project.root)
    versions, pending = [], None
    if repo is not None:
        try:
            relative, head = repo.relative(path), repo.head()
            history = DatasetHistory(repo)
            if relative and head:
                versions = history.versions(relative, name)
            if relative and repo.has_changes(path):
                pending = _pending(history, relative, path, name, has_head=head is not None)
        finally:
            repo.close()
    shown, paging = page_of(versions, request.query_params.get("page"))
    return render(request, "dataset_history.html", name=name, path=project.relative(path), in_git=repo is not None,
                  versions=shown, paging=paging, pending=pending, current=_current_ids(path, name))


def _pending(history: DatasetHistory, relative: str, path: Path, name: str, has_head: bool) -> dict[str, Any]:
    """What the working tree's file changes from HEAD's, item by item."""
    try:
        before = history.at("HEAD", relative, name) if has_head else None
        return {"changes": item_changes(before, load_dataset(path, name)), "error": None}
    except DataError as exc:
        return {"changes": None, "error": f"not a valid dataset ({len(exc.problems)} problems)"}


def _current_ids(path: Path, name: str) -> set[str]:
    """Ids of the items the file has now: the history links only to those."""
    try:
        return {item.id for item in load_dataset(path, name).items}
    except GitevalsError:
        return set()


routes = [
    Route("/datasets", datasets_page),
    Route("/datasets/{name}", dataset_page),
    Route("/datasets/{name}/history", history_page),
    Route("/datasets/{name}/items", add_item, methods=["POST"]),
    Route("/datasets/{name}/items/{item_id}", item_page),
    Route("/datasets/{name}/items/{item_id}/remove", remove_item, methods=["POST"]),
]
