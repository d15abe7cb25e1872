"""The records of results.jsonl as plain dicts, typed: what `read_results` returns
and every reader walks. `ResultLine` (the pydantic model) validates the same
shape and documents each field; this only types it, since building a model per
line would cost a 100,000-result run seconds."""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["ResultRecord"]


class ResultRecord(TypedDict, total=False):
    item_id: str
    trial: int
    input: Any
    expected: Any
    context: dict[str, Any]
    input_hash: str
    expected_hash: str
    hash: str
    output: Any
    error: dict[str, Any] | None
    """`ErrorInfo`'s fields."""
    latency_ms: float
    attempts: int
    scores: dict[str, dict[str, Any]]
    """Per scorer name, `ScoreRecord`'s fields."""
    usage: dict[str, float] | None
    trajectory: list[dict[str, Any]] | None
    metadata: dict[str, Any] | None
    started_at: str
    reused_from: str | None
