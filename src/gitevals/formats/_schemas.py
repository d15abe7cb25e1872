"""JSON Schemas of the file formats, generated from `models`.

Field docstrings become the schemas' descriptions here rather than through
pydantic's `use_attribute_docstrings`, which parses every model's source when
the module is imported and would cost every command 45 ms.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from . import _models as models
from ._models import SCHEMA_MODELS

__all__ = ["field_docstrings", "generate_schemas", "schema_text", "stale_schemas", "write_schemas"]


def generate_schemas() -> dict[str, dict[str, Any]]:
    """Schema file stem -> JSON Schema."""
    classes = {
        name: cls
        for name, cls in vars(models).items()
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == models.__name__
    }
    schemas = {}
    for stem, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        for definition in [schema, *schema.get("$defs", {}).values()]:
            cls = classes.get(definition.get("title", ""))
            if cls is not None:
                _describe_fields(definition, cls)
        schemas[stem] = schema
    return schemas


def _describe_fields(definition: dict[str, Any], cls: type[BaseModel]) -> None:
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__):  # fields inherited from our own base models too
        if base.__module__ == models.__name__:
            docs.update(field_docstrings(base))
    for name, prop in definition.get("properties", {}).items():
        if name in docs:
            prop.setdefault("description", docs[name])


def field_docstrings(cls: type) -> dict[str, str]:
    """The docstring written under each annotated attribute of `cls`."""
    tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write `<stem>.schema.json` for every format; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, schema in generate_schemas().items():
        path = folder / f"{stem}.schema.json"
        path.write_text(schema_text(schema), encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(folder: Path) -> list[Path]:
    """Schema files in `folder` that are missing or differ from the models."""
    stale = []
    for stem, schema in generate_schemas().items():
        path = folder / f"{stem}.schema.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != schema_text(schema):
            stale.append(path)
    return stale
