"""Scorer configurations, as Mastra's runEvals takes them: a flat list of output
scorers, `{agent, trajectory}` for agents, or `{workflow, steps, trajectory}`
for workflows. Each entry becomes a BoundScorer with its scope and the name its
scores are stored under (`trajectory.<name>`, `steps.<step id>.<name>`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from gitevals.formats import AgentScorerConfig, WorkflowScorerConfig

from ._base import BoundScorer

__all__ = ["ScorerEntry", "scorer_entries", "scoped"]

ScorerEntry = tuple[tuple[Any, ...], Any, str]
"""(where the spec sits under `scorers:`, the spec, its scope)."""


def scorer_entries(config: Any) -> Iterator[ScorerEntry]:
    """Every scorer spec of a configuration with its location and scope."""
    if isinstance(config, Mapping):  # from Python: scorer objects are welcome, so no model validation
        keys = set(config)
        allowed = {"workflow", "steps", "trajectory"} if keys & {"workflow", "steps"} else {"agent", "trajectory"}
        if keys - allowed:
            raise ValueError(f"unknown scorer group {sorted(keys - allowed)[0]!r}; use {', '.join(sorted(allowed))}")
        model = WorkflowScorerConfig if "workflow" in allowed else AgentScorerConfig
        config = model.model_construct(**{k: config[k] for k in keys})
    if isinstance(config, AgentScorerConfig):
        yield from ((("agent", i), spec, "output") for i, spec in enumerate(config.agent))
        yield from ((("trajectory", i), spec, "trajectory") for i, spec in enumerate(config.trajectory))
    elif isinstance(config, WorkflowScorerConfig):
        yield from ((("workflow", i), spec, "output") for i, spec in enumerate(config.workflow))
        for step_id, specs in config.steps.items():
            yield from ((("steps", step_id, i), spec, f"step:{step_id}") for i, spec in enumerate(specs))
        yield from ((("trajectory", i), spec, "trajectory") for i, spec in enumerate(config.trajectory))
    else:
        yield from (((i,), spec, "output") for i, spec in enumerate(config or []))


def scoped(scorer: BoundScorer, scope: str) -> BoundScorer:
    """`scorer` with its scope, stored under its scope's prefix."""
    if scope == "output":
        return scorer
    prefix = "trajectory." if scope == "trajectory" else f"steps.{scope.removeprefix('step:')}."
    spec = scorer.spec
    if isinstance(spec, dict):
        spec = {**spec, "name": prefix + scorer.name}
    return dataclasses.replace(scorer, name=prefix + scorer.name, scope=scope, spec=spec or prefix + scorer.name)
