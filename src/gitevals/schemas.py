"""JSON Schemas of the file formats, generated from `models`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .models import SCHEMA_MODELS

__all__ = ["generate_schemas", "schema_text", "stale_schemas", "write_schemas"]


def generate_schemas() -> dict[str, dict[str, Any]]:
    """Schema file stem -> JSON Schema."""
    schemas = {}
    for stem, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schemas[stem] = schema
    return schemas


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
