"""Trajectories from OpenTelemetry spans: what agent frameworks already emit.

`trace: otel` in an eval (or a trajectory scorer, with the SDK installed)
captures the spans each item's target creates in this process (`install`),
or, for a target that runs elsewhere, the spans its agent exports to the
run's OTLP receiver (`Receiver`), and turns them into its trajectory
(`steps_from_spans`), by the GenAI and OpenInference conventions. Needs `pip install 'gitevals[otel]'`; nothing
imports OpenTelemetry until an eval asks for it.
"""

from typing import TYPE_CHECKING

from gitevals._util.lazy import attach

if TYPE_CHECKING:
    from ._capture import install
    from ._receiver import Receiver
    from ._spans import SpanRecord, merged_trajectory, steps_from_spans, tokens_of

__all__ = ["Receiver", "SpanRecord", "install", "merged_trajectory", "steps_from_spans", "tokens_of"]

__getattr__, __dir__ = attach(__name__, {
    "_capture": ["install"],
    "_receiver": ["Receiver"],
    "_spans": ["SpanRecord", "merged_trajectory", "steps_from_spans", "tokens_of"],
})
