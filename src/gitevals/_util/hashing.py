"""Content hashes: sha256 of canonical JSON, and git's blob sha."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["blob_sha", "canonical_json", "content_hash", "sha256_hex"]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces, so equal values give equal text."""
    if value is None:  # most items' expected trajectory, hashed with every result
        return "null"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    """sha256 hex digest of `value`'s canonical JSON."""
    return sha256_hex(canonical_json(value))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def blob_sha(data: bytes) -> str:
    """The sha git gives a file with this content, committed or not."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
