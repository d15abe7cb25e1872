"""Importing a CSV, TSV, JSONL or JSON file into a dataset: upload, preview
(the first rows, the column mapping, every invalid row with its line), then
confirm. The preview and the import both go through `importing.plan_import`,
as `gitevals dataset import` does, so nothing is written that was not shown.

The uploaded bytes wait between preview and confirm in a private temporary
folder (0700, removed with the app), one sub-folder per upload named by a
random token. Re-posting the content in a hidden field would instead send it
through the browser twice, and a form's line breaks come back as CRLF, which
changes multi-line cells. A request names an upload only by its token, checked
against a fixed pattern, so no request path reaches any other file.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gitevals.datasets import (
    FORMATS,
    ColumnMap,
    EditableDataset,
    ImportPlan,
    apply_import,
    default_mapping,
    detect_format,
    plan_import,
    read_rows,
    versioned_edit,
)
from gitevals.errors import DataError, GitevalsError, NotFoundError, Problem

from ._web import form_text, render, segment
from .datasets import committed_redirect, dataset_file, dataset_response, project_of, tags_of

__all__ = ["routes"]

MAX_BYTES = 50 * 1024 * 1024
KEEP_SECONDS = 3600  # an upload not imported within the hour is removed
PREVIEW_ROWS = 20
SHOWN_PROBLEMS = 200
_TOKEN = re.compile(r"[A-Za-z0-9_-]{24}")
_CONFLICTS = ("error", "skip", "update")


@dataclass(frozen=True)
class Upload:
    """One uploaded file waiting to be imported into `dataset`."""

    folder: Path
    dataset: str
    source: str
    """The file's name as uploaded, for messages only: it never names a path."""
    fmt: str

    @property
    def token(self) -> str:
        return self.folder.name

    @property
    def path(self) -> Path:
        return self.folder / "upload"


def _uploads(request: Request) -> Path:
    """This app's private folder of uploads, made on first use."""
    state = request.app.state
    folder = getattr(state, "uploads", None)
    if folder is None:  # only `upload` makes it, with no await since the check: it is made once
        folder = Path(tempfile.mkdtemp(prefix="gitevals-ui-uploads-"))
        weakref.finalize(request.app, shutil.rmtree, folder, True)
        state.uploads = folder
    return folder


def _prune(root: Path) -> None:
    for folder in root.iterdir():
        try:
            old = time.time() - folder.stat().st_mtime > KEEP_SECONDS
        except FileNotFoundError:  # another upload's pruning got there first
            continue
        if old:
            shutil.rmtree(folder, ignore_errors=True)


def _find(request: Request) -> Upload:
    """The upload a URL names, or 404."""
    name, token = request.path_params["name"], request.path_params["token"]
    gone = NotFoundError("this upload is gone (imported already, or older than an hour)",
                         hint="upload the file again from the dataset page")
    root = getattr(request.app.state, "uploads", None)
    if root is None or not _TOKEN.fullmatch(token):
        raise gone
    folder = root / token
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise gone from None
    if meta.get("dataset") != name or time.time() - folder.stat().st_mtime > KEEP_SECONDS:
        raise gone
    return Upload(folder, name, meta["source"], meta["format"])


def _source_name(filename: str) -> str:
    """The last part of an uploaded file's name (browsers may send a whole path)."""
    return re.split(r"[\\/]", filename)[-1].strip()[:200]


def _format(source: str, chosen: str) -> str:
    if chosen and chosen not in FORMATS:
        raise GitevalsError(f"unknown format {chosen!r}", hint=f"choose one of {', '.join(FORMATS)}")
    try:
        return detect_format(Path(source), chosen or None)
    except DataError:
        raise GitevalsError(f"cannot tell the format of {source!r} from its name",
                            hint=f"choose its format in the form ({', '.join(FORMATS)})") from None


def _message(exc: GitevalsError, kept: Upload, hints: bool = True) -> str:
    """An error about the uploaded file, named as the user knows it (not by its
    temporary path). Without `hints`: the CLI's hints name its options."""
    return "\n".join(_problem_text(p, kept, hints) for p in exc.problems)


def _problem_text(problem: Problem, kept: Upload, hint: bool = True) -> str:
    where = kept.source + (f":{problem.line}" if problem.line else "")
    text = f"{where}: {problem.message}"
    return text + (f"\n  hint: {problem.hint}" if hint and problem.hint else "")


def _too_large() -> GitevalsError:
    return GitevalsError(f"the file is larger than {MAX_BYTES >> 20} MB",
                         hint="split it, or import it with `gitevals dataset import`")


async def _save(file: UploadFile, folder: Path) -> int:
    """Copy the upload into `folder`; refuses one larger than MAX_BYTES."""
    size = 0
    with (folder / "upload").open("wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > MAX_BYTES:
                raise _too_large()
            out.write(chunk)
    return size


async def _keep(request: Request, name: str, file: Any, chosen: str) -> Upload:
    """Keep an uploaded file for its preview, once it reads as rows; else nothing is kept."""
    if not isinstance(file, UploadFile) or not file.filename:
        raise GitevalsError("choose a file to import")
    source = _source_name(file.filename)
    fmt = _format(source, chosen)
    root = _uploads(request)
    await anyio.to_thread.run_sync(_prune, root)
    kept = Upload(root / secrets.token_urlsafe(18), name, source, fmt)
    kept.folder.mkdir()
    try:
        if await _save(file, kept.folder) == 0:
            raise GitevalsError(f"{source} is empty", hint="choose the file with your test cases")
        try:
            await anyio.to_thread.run_sync(read_rows, kept.path, fmt)
        except DataError as exc:
            raise GitevalsError(_message(exc, kept)) from None
    except GitevalsError:
        shutil.rmtree(kept.folder, ignore_errors=True)
        raise
    (kept.folder / "meta.json").write_text(json.dumps({"dataset": name, "source": source, "format": fmt}))
    return kept


async def upload(request: Request) -> Response:
    name = request.path_params["name"]
    dataset_file(project_of(request), name)  # 404 before reading the body for a dataset that is not there
    if int(request.headers.get("content-length") or 0) > MAX_BYTES + (1 << 16):  # refused before it is spooled
        return dataset_response(request, name, 413, import_error=str(_too_large()))
    async with request.form(max_files=1, max_fields=8) as form:  # closes the spooled upload after
        chosen = form_text(form, "format")
        try:
            kept = await _keep(request, name, form.get("file"), chosen)
        except GitevalsError as exc:
            message = str(exc)
            return await anyio.to_thread.run_sync(
                lambda: dataset_response(request, name, 400, import_form={"format": chosen}, import_error=message))
    return RedirectResponse(f"/datasets/{segment(name)}/import/{kept.token}", status_code=303)


def _mapping(values: Any, columns: list[str]) -> tuple[ColumnMap, str]:
    """The column mapping and on-conflict choice in a query or form. Without
    `mapped` (the first preview) the columns with the usual names are used,
    as the CLI does; after that exactly what the form says."""
    conflict = values.get("on_conflict") or "error"
    if conflict not in _CONFLICTS:
        raise GitevalsError(f"unknown on-conflict choice {conflict!r}", hint=f"choose one of {', '.join(_CONFLICTS)}")
    given = ColumnMap(values.getlist("input_col"), values.get("expected_col") or None, values.get("id_col") or None,
                      values.getlist("context_col"), tags_of(values.get("tags") or ""))
    return (given if values.get("mapped") else default_mapping(columns, given)), conflict


@dataclass
class Preview:
    """What the preview page shows, and what confirming would import."""

    columns: list[str]
    rows: list[Any]
    total: int
    mapping: ColumnMap
    on_conflict: str
    plan: ImportPlan | None = None
    mapping_error: str | None = None


def _preview(kept: Upload, values: Any, path: Path) -> Preview:
    """Read the uploaded file and plan its import into the dataset at `path` (nothing is written)."""
    columns, rows = read_rows(kept.path, kept.fmt)
    mapping, conflict = _mapping(values, columns)
    found = Preview(columns, rows[:PREVIEW_ROWS], len(rows), mapping, conflict)
    editor = EditableDataset.open(path, kept.dataset)
    try:
        found.plan = plan_import(editor, kept.path, mapping, fmt=kept.fmt, on_conflict=conflict,
                                 fill_defaults=False)
    except DataError as exc:  # a column the file does not have, or no input column
        found.mapping_error = _message(exc, kept, hints=False)
    return found


def _render(request: Request, kept: Upload, preview: Preview, status_code: int = 200,
            error: str | None = None, form: Mapping[str, Any] | None = None) -> Response:
    project = project_of(request)
    plan = preview.plan
    problems = sorted(plan.problems, key=lambda p: p.line or 0) if plan else []
    by_line: dict[int, list[str]] = {}
    for problem in problems:
        by_line.setdefault(problem.line or 0, []).append(problem.message)
    return render(request, "dataset_import.html", status_code, name=kept.dataset, upload=kept,
                  preview=preview, plan=plan, problems=problems[:SHOWN_PROBLEMS], by_line=by_line,
                  error=error, form=form or {}, auto_commit=project.config.auto_commit,
                  path=project.relative(dataset_file(project, kept.dataset)))


def preview_page(request: Request) -> Response:
    found = _find(request)
    path = dataset_file(project_of(request), found.dataset)
    return _render(request, found, _preview(found, request.query_params, path))


def _write(project: Any, kept: Upload, plan: ImportPlan, path: Path, commit: bool) -> str | None:
    with versioned_edit(project, path, commit) as note:
        editor = EditableDataset.open(path, kept.dataset)
        apply_import(editor, plan)
        editor.save()
        note["message"] = plan.commit_message(kept.dataset, kept.source)
    return note.get("sha")


def _decide(project: Any, found: Upload, form: Any, path: Path) -> tuple[Preview, str | None, str | None]:
    """Plan the import again as the form says and write it unless something
    is wrong: the preview, why nothing was written (or None), the commit's sha."""
    preview = _preview(found, form, path)
    plan = preview.plan
    if plan is None:
        return preview, "nothing imported: fix the column mapping", None
    if plan.problems and form.get("skip_invalid") != "on":
        return preview, (f"nothing imported: {plan.summary()}; fix the rows below, "
                         "or import the rest with “skip the invalid rows”"), None
    if not plan.add and not plan.update:
        return preview, f"nothing to import: {plan.summary()}", None
    return preview, None, _write(project, found, plan, path, form.get("commit") == "on")


async def confirm(request: Request) -> Response:
    project, found = project_of(request), _find(request)
    form = await request.form(max_files=0)  # fields only: a file here is refused, not spooled
    path = dataset_file(project, found.dataset)
    try:
        async with request.app.state.edit_lock:
            preview, refused, sha = await anyio.to_thread.run_sync(_decide, project, found, form, path)
    except NotFoundError:
        raise
    except GitevalsError as exc:  # committing is not possible, or the dataset file is broken
        preview, refused, sha = await anyio.to_thread.run_sync(_preview, found, form, path), str(exc), None
    if refused or preview.plan is None:
        choices = {key: form.get(key) == "on" for key in ("skip_invalid", "commit")}
        return _render(request, found, preview, 400, error=refused, form=choices)
    shutil.rmtree(found.folder, ignore_errors=True)
    plan = preview.plan
    query = f"imported={len(plan.add)}&updated={len(plan.update)}&skipped={len(plan.problems)}"
    return committed_redirect(f"/datasets/{segment(found.dataset)}?{query}", sha)


routes = [
    Route("/datasets/{name}/import", upload, methods=["POST"]),
    Route("/datasets/{name}/import/{token}", preview_page),
    Route("/datasets/{name}/import/{token}", confirm, methods=["POST"]),
]
