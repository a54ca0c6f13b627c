"""Rank fusion and near-duplicate collapsing: small pure functions over (id, score) runs."""

from __future__ import annotations

import re

import numpy as np

RRF_K = 60


def reciprocal_rank_fusion(runs: list[list[tuple[str, float]]], k: int = RRF_K
                           ) -> list[tuple[str, float]]:
    """Fuse ranked runs: score(d) = sum over runs of 1 / (k + rank of d in the run)."""
    fused: dict[str, float] = {}
    for run in runs:
        for rank, (doc, _) in enumerate(run, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def minmax_fusion(runs: list[list[tuple[str, float]]], weights: list[float] | None = None
                  ) -> list[tuple[str, float]]:
    """Convex combination of min-max normalised scores (CombSUM): score(d) = sum over runs of
    w * (s - min) / (max - min), 0 where a run did not return d. Unlike RRF it keeps how far
    ahead a top hit is, which measured better on eval/questions.jsonl (see README)."""
    weights = weights or [1.0] * len(runs)
    fused: dict[str, float] = {}
    for w, run in zip(weights, runs, strict=True):
        if not run:
            continue
        values = [s for _, s in run]
        lo, hi = min(values), max(values)
        for doc, s in run:
            fused[doc] = fused.get(doc, 0.0) + w * ((s - lo) / (hi - lo) if hi > lo else 1.0)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


# A long query's windows each score a passage; the passage gets their log-mean-exp at this
# temperature: near its best window's score when one part of a fact description matches it
# (a statute addresses one act among the many narrated), near their mean when all do. Chosen on
# the 10 AILA 2019 training queries (hybrid MAP 0.131 -> 0.135, dense 0.073 -> 0.077, against
# 0.135 / 0.069 for the plain maximum and 0.135 / 0.069 at 0.02; eval/tried.md).
WINDOW_TEMPERATURE = 0.05


def pool_windows(runs: list[list[tuple[str, float]]], depth: int,
                 temperature: float = WINDOW_TEMPERATURE) -> list[tuple[str, float]]:
    """One run from one run per query window (cosines, best first): each passage's
    log-mean-exp over the windows, a window that did not return it counting its lowest
    returned score (an upper bound of what it would have given)."""
    runs = [run for run in runs if run]
    if len(runs) == 1:
        return runs[0][:depth]
    floors = [run[-1][1] for run in runs]
    scores = [dict(run) for run in runs]
    ids = dict.fromkeys(pid for run in runs for pid, _ in run)
    pooled = []
    for pid in ids:
        values = np.array([s.get(pid, floor) for s, floor in zip(scores, floors, strict=True)])
        top = float(values.max())  # subtracted for a stable exp
        pooled.append((pid, top + temperature * float(
            np.log(np.exp((values - top) / temperature).mean()))))
    pooled.sort(key=lambda item: (-item[1], item[0]))
    return pooled[:depth]


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def collapse_near_duplicates(ranked: list[str], texts: dict[str, str], threshold: float = 0.8,
                             limit: int | None = None) -> list[str]:
    """Drop a result whose text mostly repeats a better-ranked one (a report quoting a report,
    the same table split twice); containment over 5-word shingles. Stops at `limit` kept."""
    kept: list[str] = []
    kept_shingles: list[set] = []
    for pid in ranked:
        if limit is not None and len(kept) >= limit:
            break
        s = shingles(texts[pid])
        if any(len(s & t) / max(1, min(len(s), len(t))) >= threshold for t in kept_shingles):
            continue
        kept.append(pid)
        kept_shingles.append(s)
    return kept
