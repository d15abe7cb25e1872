"""Line charts of one scorer's mean over runs, as plain numbers to draw: the web UI's
template and the HTML report both draw these (nothing here writes markup, so
nothing escapes by hand)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gitevals.formats import RunManifest

__all__ = ["Chart", "trend_charts"]

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 560, 180, 34, 14, 10, 36


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    run_id: str
    mean: float
    label: str
    """The run's commit (short), else its start date."""


@dataclass(frozen=True)
class Chart:
    scorer: str
    points: list[Point]
    ticks: list[tuple[float, float]] = field(default_factory=list)
    """(y position, value) of the horizontal grid lines."""
    threshold: tuple[float, float] | None = None
    """(y position, value) of the eval's threshold on this scorer's mean, if it has one."""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def labels(self) -> list[tuple[Point, str]]:
        """The points whose label is drawn under the axis (the first and the last),
        each with its text-anchor, so that a label at either end stays inside the chart."""
        shown = self.points[:1] + self.points[-1:] if len(self.points) > 1 else self.points
        return [(p, "start" if p.x - self.left < 30 else "end" if self.plot_right - p.x < 30 else "middle")
                for p in shown]


def trend_charts(runs: Sequence[RunManifest], thresholds: Mapping[str, float] | None = None) -> list[Chart]:
    """One chart per scorer of the runs' summaries, a point per run in the given order;
    `thresholds` (scorer, or `*` for every scorer: the lowest acceptable mean) draws each one's line."""
    thresholds = thresholds or {}
    names: list[str] = []
    for run in runs:
        for name in run.summary.scores if run.summary else {}:
            if name not in names:
                names.append(name)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(runs) - 1)
    ticks = [(TOP + plot_h * (1 - value), value) for value in (0.0, 0.5, 1.0)]
    charts = []
    for name in names:
        points = []
        for index, run in enumerate(runs):
            summary = run.summary.scores.get(name) if run.summary else None
            if summary is None or summary.mean is None:
                continue
            x = LEFT + (index * step if len(runs) > 1 else plot_w / 2)
            label = run.git.commit[:8] if run.git and run.git.commit else run.started_at[:10]
            points.append(Point(x, TOP + plot_h * (1 - summary.mean), run.id, summary.mean, label))
        limit = thresholds.get(name, thresholds.get("*"))
        threshold = (TOP + plot_h * (1 - limit), limit) if limit is not None else None
        charts.append(Chart(name, points, ticks, threshold))
    return charts
