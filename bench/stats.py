"""Percentiles and the words and numbers the table prints."""

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was really measured, never interpolated."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    value = seconds * 1000
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def spread(values: Sequence[float], pcts: Sequence[int] = (50, 95, 99)) -> str:
    """'12.3 / 40.1 / 88 ms' for the given percentiles of durations in seconds."""
    if not values:
        return "no samples"
    return " / ".join(ms(percentile(values, p)) for p in pcts) + " ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"
