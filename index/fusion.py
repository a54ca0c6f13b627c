"""Rank fusion and near-duplicate collapsing: small pure functions over (id, score) runs."""

from __future__ import annotations

import re

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
