"""Parsed datasets kept under .git/gitevals/datasets/, one file per git blob.

Parsing and validating a dataset costs about 50 µs an item; reading it back
from here costs a few. The key is git's blob sha of the file's bytes, so a
cached copy is found again for the same content in the working tree, in any
commit and in any branch, and an edited file simply misses.

The format is line-based so that it is read and written in one pass, never
whole in memory: a JSON header, then one line per item with its parts'
canonical JSON separated by tabs (JSON text never holds a raw tab or newline).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitevals._version import __version__

from ._item import OPTIONAL_FIELDS, Dataset, DatasetItem

__all__ = ["cache_dir_for", "load", "store"]

# Bump when what a parsed item holds changes; gitevals' version is checked too,
# since validation rules may change between releases.
_FORMAT = 5
# Every version of every dataset read gets a file: the least recently used go
# once they hold more than this, so a large dataset edited often cannot fill the disk.
MAX_BYTES = 256 * 1024 * 1024


def cache_dir_for(folder: Path) -> Path | None:
    """.git/gitevals of the repository holding `folder`; None outside one (or in
    a linked worktree, whose .git is a file: it just goes uncached)."""
    for parent in (folder, *folder.parents):
        git = parent / ".git"
        if git.is_dir():
            return git / "gitevals"
        if git.exists():
            return None
    return None


def _path(cache_dir: Path, blob: str) -> Path:
    return cache_dir / "datasets" / f"{blob}.tsv"


def load(cache_dir: Path, blob: str, name: str, path: Path | None = None) -> Dataset | None:
    """The dataset parsed earlier from a file with this blob sha; None when not cached."""
    try:
        with open(_path(cache_dir, blob), encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            if header.get("format") != _FORMAT or header.get("gitevals") != __version__:
                return None
            items = tuple(DatasetItem(*_item_fields(line)) for line in handle)
            content_hash = str(header["hash"])
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing, unreadable or torn: parse the file instead
    if len(items) != header.get("items"):
        return None
    _touch(_path(cache_dir, blob))
    found = Dataset(name=name, items=items, description=header["description"], input_schema=header["input_schema"],
                    expected_schema=header["expected_schema"], path=path, blob_sha=blob)
    # The content hash every run records, stored with the items: hashing
    # 100,000 items again would take longer than reading them.
    found.__dict__["hash"] = content_hash  # where the cached_property keeps it
    return found


def _item_fields(line: str) -> list[Any]:
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 5:
        raise ValueError("torn line")
    optional = json.loads(parts[4]) if parts[4] else {}
    return [*parts[:4], *(optional.get(key) for key in OPTIONAL_FIELDS)]


def store(cache_dir: Path, dataset: Dataset) -> None:
    """Keep `dataset` (valid, with its blob sha) for the next load; a cache that
    cannot be written only costs time."""
    assert dataset.blob_sha is not None
    target = _path(cache_dir, dataset.blob_sha)
    header = {"format": _FORMAT, "gitevals": __version__, "items": len(dataset.items),
              "description": dataset.description, "input_schema": dataset.input_schema,
              "expected_schema": dataset.expected_schema, "hash": dataset.hash}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(header, ensure_ascii=False) + "\n")
                handle.writelines(_lines(dataset))
            os.replace(tmp, target)  # no fsync: a cache lost in a crash is rebuilt
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        prune(target.parent, MAX_BYTES)
    except OSError:
        pass


def prune(folder: Path, max_bytes: int) -> None:
    """Delete the least recently used cached datasets until `folder` holds at most `max_bytes`."""
    entries = []
    for path in folder.glob("*.tsv"):
        try:
            stat = path.stat()
        except OSError:
            continue  # removed meanwhile by another process
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size


def _touch(path: Path) -> None:
    """Mark a cached dataset as just used (its mtime orders pruning)."""
    try:
        os.utime(path)
    except OSError:
        pass


def _lines(dataset: Dataset) -> Iterator[str]:
    for item in dataset.items:
        optional = {key: getattr(item, key) for key in OPTIONAL_FIELDS if getattr(item, key) is not None}
        extra = json.dumps(optional, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if optional else ""
        yield "\t".join((item.id, *item.json_parts(), extra)) + "\n"
