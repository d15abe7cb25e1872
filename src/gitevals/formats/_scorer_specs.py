"""Scorers as run.json records them (`config.scorers`): the name each one's
scores are stored under, and what identifies its configuration.

`gitevals score` (to keep or replace a recorded scorer) and `compare` (to warn
that a scorer's configuration changed between two runs) must agree on both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitevals._util.imports import is_ref

__all__ = ["recorded_scorer_name", "recorded_scorers", "scorer_config_key"]


def recorded_scorer_name(spec: Any) -> str:
    """The name a recorded spec's scores are stored under. `gitevals run` records
    `module:attr` scorers without the name derived from them: take the attribute's."""
    if not isinstance(spec, Mapping):
        return str(spec)
    kind = str(spec.get("type"))
    return str(spec.get("name") or (kind.rpartition(":")[2].rpartition(".")[2] if is_ref(kind) else kind))


def scorer_config_key(spec: Any) -> str:
    """A spec's configuration without its name, as canonical text: equal keys, same scorer."""
    data = {k: v for k, v in spec.items() if k != "name"} if isinstance(spec, Mapping) else {"type": spec}
    return json.dumps(data, sort_keys=True, default=str)


def recorded_scorers(config: Mapping[str, Any]) -> dict[str, Any]:
    """Scorer name -> its spec, from a run's recorded `config`."""
    return {recorded_scorer_name(spec): spec for spec in config.get("scorers", [])}
