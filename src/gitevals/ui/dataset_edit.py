"""Creating a dataset and editing an item in place, through the same library
calls as `gitevals dataset new` and the CLI's edits: the file is spliced, so
its comments and layout outside the edited item stay as they were."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gitevals.datasets import EditableDataset, create_dataset, versioned_edit
from gitevals.errors import GitevalsError

from ._web import form_text, parse_value, segment
from .datasets import (
    dataset_file,
    datasets_response,
    edit_fields,
    item_response,
    json_object,
    locked_edit,
    project_of,
    tags_of,
)

__all__ = ["routes"]

_EDIT_FIELDS = ("input", "expected", "context", "tags", "expected_trajectory")


async def new_dataset(request: Request) -> Response:
    project = project_of(request)
    form = await request.form()
    fields = {key: form_text(form, key) for key in ("name", "description")}
    commit = form.get("commit") == "on"

    def create() -> tuple[str, str | None]:
        _, sha = create_dataset(project, fields["name"], description=fields["description"] or None, commit=commit)
        return f"/datasets/{segment(fields['name'])}?created=1", sha

    return await locked_edit(request, create, lambda message: datasets_response(
        request, 400, form={**fields, "commit": commit}, form_error=message))


def _changes(item: dict[str, Any], typed: dict[str, str]) -> dict[str, Any]:
    """The fields the form changes (None removes one). A field left as it was
    shown keeps its value exactly, whatever the browser did to its spacing."""
    fields = edit_fields(item)
    shown = {key: form_text(fields, key) for key in _EDIT_FIELDS}  # as the browser sends them back
    changed = {key for key in _EDIT_FIELDS if typed[key] != shown[key]}
    changes: dict[str, Any] = {}
    if "input" in changed:
        if not typed["input"]:
            raise GitevalsError("give the item's input")
        changes["input"] = parse_value(typed["input"])
    if "expected" in changed:
        changes["expected"] = parse_value(typed["expected"]) if typed["expected"] else None
    if changed & {"context", "tags"}:
        changes["context"] = _context(typed["context"], typed["tags"])
    if "expected_trajectory" in changed:
        changes["expected_trajectory"] = json_object(typed["expected_trajectory"], "the expected trajectory",
                                                 '{"steps": [{"type": "tool_call", "name": "lookup"}]}')
    return changes


def _context(context_text: str, tags_text: str) -> dict[str, Any] | None:
    """The context field with the tags field's tags (None when both are empty)."""
    context = json_object(context_text, "context", '{"channel": "email"}') or {}
    extra = context.pop("tags", None) or []
    if not isinstance(extra, list):
        raise GitevalsError("tags in the context must be a list; or use the tags field")
    tags = list(dict.fromkeys([*extra, *tags_of(tags_text)]))
    return {**context, "tags": tags} if tags else (context or None)


async def edit_item(request: Request) -> Response:
    project = project_of(request)
    name, item_id = request.path_params["name"], request.path_params["item_id"]
    form = await request.form()
    typed = {key: form_text(form, key) for key in _EDIT_FIELDS}
    commit = form.get("commit") == "on"

    def edit() -> tuple[str, str | None]:
        page = f"/datasets/{segment(name)}/items/{segment(item_id)}"
        path = dataset_file(project, name)
        editor = EditableDataset.open(path, name)
        changes = _changes(editor.item(item_id), typed)
        if not changes:
            return page + "?edited=0", None  # nothing to write, and an empty commit would fail
        with versioned_edit(project, path, commit) as note:
            editor.update(item_id, **changes)
            editor.save()
            note["message"] = f"dataset {name}: ~1 ({item_id})"
        return page + "?edited=1", note.get("sha")

    return await locked_edit(request, edit, lambda message: item_response(
        request, name, item_id, 400, edit={**typed, "commit": commit}, edit_error=message))


routes = [
    Route("/datasets", new_dataset, methods=["POST"]),
    Route("/datasets/{name}/items/{item_id}/edit", edit_item, methods=["POST"]),
]
