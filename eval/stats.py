"""How sure a figure is: bootstrap intervals over the questions (or situations) of a split, and
paired differences between two systems scored on the same ones.

A test split of 54 situations or 256 questions leaves a wide margin around every figure: one
situation more or less moves S@5 by 0.019. `ombuds eval` prints each headline figure with its
95% interval, and each comparison the targets make (hybrid above BM25, dense and the naive
baseline; the citation graph above plain retrieval) as a paired difference: the same resampled
questions scored by both systems, so what the two share does not widen the interval. Percentile
bootstrap of the mean, a fixed seed: the same runs give the same intervals. The per-question
values are ranx's own metrics, unaveraged (`eval.run.per_query`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean (or a mean difference) and its bootstrap interval."""

    value: float
    low: float
    high: float
    n: int  # questions or situations

    def to_dict(self) -> dict:
        return {"value": round(self.value, 4), "low": round(self.low, 4),
                "high": round(self.high, 4), "n": self.n}

    def cell(self, signed: bool = False) -> str:
        f = "{:+.3f}" if signed else "{:.3f}"
        return f"{f.format(self.value)} ({f.format(self.low)} to {f.format(self.high)})"


def _resampled_means(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(values), size=(resamples, len(values)))
    return values[rows].mean(axis=1)


def interval(values, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
             ) -> Interval:
    """The mean of per-question values with its percentile bootstrap interval."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    means = _resampled_means(values, resamples, seed)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(values.mean()), float(low), float(high), len(values))


def paired(a, b, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
           ) -> Interval:
    """The mean difference a - b over the same questions, with its interval: the questions are
    resampled together, so an interval above 0 says a beats b on questions like these."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in length: {len(a)} and {len(b)}")
    return interval(a - b, resamples, seed, level)


def intervals_table(rows: dict[str, dict[str, dict]], targets: dict[str, str]) -> str:
    """Markdown: one row per measure, dev and test side by side, each a value with its
    interval; rows maps measure -> split -> Interval.to_dict()."""
    lines = [f"{LEVEL:.0%} intervals (bootstrap over the questions or situations of each split, "
             f"{RESAMPLES:,} resamples); a difference is paired, on the same ones:", "",
             "| measure | dev | test | target |", "|---|---|---|---|"]
    for measure, by_split in rows.items():
        signed = " - " in measure
        cells = []
        for split in ("dev", "test"):
            d = by_split.get(split)
            cells.append(Interval(d["value"], d["low"], d["high"], d["n"]).cell(signed)
                         if d else "-")
        lines.append(f"| {measure} | {cells[0]} | {cells[1]} | {targets.get(measure, '')} |")
    return "\n".join(lines)
