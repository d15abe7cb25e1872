"""Walking a recorded trajectory (results.jsonl's `trajectory`): steps with their
children, depth first, in the order they happened."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["walk_steps"]


def walk_steps(steps: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every step, each followed by its children (at any depth)."""
    for step in steps:
        yield step
        yield from walk_steps(step.get("children") or [])
