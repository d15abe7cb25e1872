"""Paired statistics without numpy: the paired t-test and its confidence interval.

Student's t distribution comes from the regularized incomplete beta function
(continued fraction evaluated with the modified Lentz method), which is exact
to about 1e-12: no tables, no sampling, and the same answer every time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PairedResult", "paired_t", "t_critical", "t_two_sided_p"]

_EPS = 3e-14
_TINY = 1e-300


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            step = d * c
            h *= step
        if abs(step - 1.0) < _EPS:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom."""
    return _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def t_critical(confidence: float, df: float) -> float:
    """The t value with P(|T| <= t) = confidence (e.g. 2.228 for 0.95 and df 10)."""
    alpha = 1.0 - confidence
    low, high = 0.0, 1e6
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_two_sided_p(mid, df) > alpha:
            low = mid
        else:
            high = mid
        if high - low < 1e-10:
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class PairedResult:
    """Mean of paired differences with a confidence interval and a p-value."""

    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def paired_t(differences: Sequence[float], confidence: float = 0.95) -> PairedResult:
    """The paired t-test on per-item differences (B - A).

    With fewer than two pairs nothing can be said (None). When every
    difference is the same the answer is certain: p = 1 if they are all zero,
    else 0, and the interval is that single value.
    """
    n = len(differences)
    if n == 0:
        return PairedResult(0, None, None, None, None)
    mean = math.fsum(differences) / n
    if n < 2:
        return PairedResult(n, mean, None, None, None)
    variance = math.fsum((d - mean) ** 2 for d in differences) / (n - 1)
    stderr = math.sqrt(variance / n)
    if stderr < 1e-12:
        return PairedResult(n, mean, mean, mean, 1.0 if abs(mean) < 1e-12 else 0.0)
    df = n - 1
    margin = t_critical(confidence, df) * stderr
    return PairedResult(n, mean, mean - margin, mean + margin, t_two_sided_p(mean / stderr, df))
