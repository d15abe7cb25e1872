"""Dataset pages: every dataset with its last change, one dataset's items
(searched, filtered by tag, paged), one item, and adding and removing items."""

from __future__ import annotations

import json
import re
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..authoring import EditableDataset, versioned_edit
from ..datasets import Dataset, DatasetItem, load_dataset
from ..errors import GitevalsError, NotFoundError
from ..git import open_repo
from ..project import Project
from ._web import form_text, page_of, parse_value, render, segment

__all__ = ["routes"]


def _project(request: Request) -> Project:
    return request.app.state.project


def datasets_page(request: Request) -> Response:
    project = _project(request)
    rows = []
    repo = open_repo(project.root)
    try:
        head = repo.head() if repo is not None else None
        for name in project.dataset_names():
            path = project.dataset_path(name)
            row: dict[str, Any] = {"name": name, "path": project.relative(path), "error": None, "commit": None,
                                   "dirty": False, "items": None, "tags": [], "description": None}
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
    return render(request, "datasets.html", rows=rows, in_git=repo is not None, project=project)


def _load(project: Project, name: str) -> Dataset:
    return load_dataset(project.dataset_path(name), name)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _matches(item: DatasetItem, words: list[str]) -> bool:
    text = f"{item.id}\n{_text(item.input)}\n{_text(item.expected)}".lower()
    return all(word in text for word in words)


def _dataset_response(request: Request, name: str, status_code: int = 200, **extra: Any) -> Response:
    project = _project(request)
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
    extra.setdefault("form", {})
    extra.setdefault("form_error", None)
    return render(request, "dataset.html", status_code, dataset=dataset, name=name, items=shown, paging=paging,
                  q=q, tag=tag, path=project.relative(project.dataset_path(name)),
                  auto_commit=project.config.auto_commit, **extra)


def dataset_page(request: Request) -> Response:
    return _dataset_response(request, request.path_params["name"])


def item_page(request: Request) -> Response:
    project = _project(request)
    name, item_id = request.path_params["name"], request.path_params["item_id"]
    dataset = _load(project, name)
    item = next((i for i in dataset.items if i.id == item_id), None)
    if item is None:
        raise NotFoundError(f"no item {item_id!r} in dataset {name!r}")
    return render(request, "item.html", dataset=dataset, name=name, item=item,
                  path=project.relative(project.dataset_path(name)), auto_commit=project.config.auto_commit)


def _tags(text: str) -> list[str]:
    return [tag for tag in re.split(r"[,\s]+", text) if tag]


async def add_item(request: Request) -> Response:
    project = _project(request)
    name = request.path_params["name"]
    form = await request.form()
    fields = {key: form_text(form, key) for key in ("input", "expected", "tags", "id", "context")}
    commit = form.get("commit") == "on"

    def add() -> tuple[str, str | None]:
        if not fields["input"]:
            raise GitevalsError("give the item's input")
        context = parse_value(fields["context"]) if fields["context"] else None
        if context is not None and not isinstance(context, dict):
            raise GitevalsError("context must be a JSON object, like {\"channel\": \"email\"}")
        path = project.dataset_path(name)
        with versioned_edit(project, path, commit) as note:
            editor = EditableDataset.open(path, name)
            new_id = editor.add(parse_value(fields["input"]),
                                parse_value(fields["expected"]) if fields["expected"] else None,
                                id=fields["id"] or None, context=context, tags=_tags(fields["tags"]))
            editor.save()
            note["message"] = f"dataset {name}: +1 ({new_id})"
        return new_id, note.get("sha")

    try:
        async with request.app.state.edit_lock:
            new_id, sha = await anyio.to_thread.run_sync(add)
    except NotFoundError:
        raise
    except GitevalsError as exc:
        message = str(exc)
        return await anyio.to_thread.run_sync(
            lambda: _dataset_response(request, name, 400, form={**fields, "commit": commit}, form_error=message))
    committed = f"&committed={sha[:8]}" if sha else ""
    return RedirectResponse(f"/datasets/{segment(name)}/items/{segment(new_id)}?added=1{committed}", status_code=303)


async def remove_item(request: Request) -> Response:
    project = _project(request)
    name, item_id = request.path_params["name"], request.path_params["item_id"]
    form = await request.form()
    commit = form.get("commit") == "on"

    def remove() -> str | None:
        path = project.dataset_path(name)
        with versioned_edit(project, path, commit) as note:
            editor = EditableDataset.open(path, name)
            editor.remove([item_id])
            editor.save()
            note["message"] = f"dataset {name}: -1 ({item_id})"
        return note.get("sha")

    async with request.app.state.edit_lock:
        sha = await anyio.to_thread.run_sync(remove)
    committed = f"&committed={sha[:8]}" if sha else ""
    return RedirectResponse(f"/datasets/{segment(name)}?removed={segment(item_id)}{committed}", status_code=303)


routes = [
    Route("/datasets", datasets_page),
    Route("/datasets/{name}", dataset_page),
    Route("/datasets/{name}/items", add_item, methods=["POST"]),
    Route("/datasets/{name}/items/{item_id}", item_page),
    Route("/datasets/{name}/items/{item_id}/remove", remove_item, methods=["POST"]),
]
