"""`ombuds eval --llm`: the generative mode on the dev and test splits of eval/questions.jsonl.

Each question goes through what `ombuds ask --llm` does (hybrid search, the extractive answer,
then the configured endpoint). Per split it reports the share of asked questions whose
generated answer was shown (it passed the check: these are the only generated answers a user
sees), the share that fell back to the extractive answer and why, the share of shown answers
citing gold evidence, the median latency, and the longest wait after a last token (bounded by
the idle timeout). A question the extractive answerer declines is not sent to the model.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from app.answer import answer_question
from app.llm import LLMConfig, llm_answer
from index.search import Index

from .run import EVAL_DIR, contains

LATEST = EVAL_DIR / "llm.md"
SPLITS = ("dev", "test")
FALLBACKS = ("unverified", "timeout", "server error", "no answer")
# why a reply failed the check, from app.llm.check's message
CHECK_FAILURES = (("cites no passage", "a sentence cites no passage"),
                  ("does not exist", "cites a passage it was not given"),
                  ("quotation", "a quotation is not verbatim"),
                  ("number", "a number is not in its passage"),
                  ("not supported", "a sentence's words are not in its passage"),
                  ("max_tokens", "cut at max_tokens before a cited sentence"),
                  ("empty", "empty reply"))


def _median(values: list[float]) -> float | None:
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def why(detail: str | None) -> str:
    for needle, label in CHECK_FAILURES:
        if needle in (detail or ""):
            return label
    return detail or "unknown"


def ask(index: Index, question: dict, config: LLMConfig, k: int = 8) -> dict:
    """One question through `ombuds ask --llm`: its outcome and timings."""
    t0 = time.perf_counter()
    hits = index.search(question["question"], k=k, mode="hybrid")
    answer = answer_question(index, question["question"], hits=hits)
    answer = llm_answer(index, question["question"], hits, answer, config)
    g = answer.generation or {}
    cited = [c.text + "\n" + "\n".join(f["text"] for f in c.footnotes) for c in answer.citations]
    return {"id": question["id"], "split": question.get("split"),
            "answerable": question["answerable"], "outcome": g.get("outcome", "not asked"),
            "detail": g.get("detail"), "seconds": time.perf_counter() - t0,
            "generation_seconds": g.get("seconds"), "tokens": g.get("tokens", 0),
            "after_last_token": (g["seconds"] - g["last_token_seconds"])
            if g.get("last_token_seconds") is not None else None,
            "gold": answer.mode == "llm" and any(
                contains(e["quote"], t) for e in question["evidence"] for t in cited)}


def summarise(rows: list[dict]) -> dict:
    asked = [r for r in rows if r["outcome"] != "not asked"]
    shown = [r for r in asked if r["outcome"] == "shown"]
    n = max(1, len(asked))
    outcomes = Counter(r["outcome"] for r in asked)
    unverified = Counter(why(r["detail"]) for r in asked if r["outcome"] == "unverified")
    waits = [r["after_last_token"] for r in asked if r["after_last_token"] is not None]
    return {
        "questions": len(rows), "asked": len(asked), "shown": len(shown),
        "shown_share": round(len(shown) / n, 4),
        "fallback_share": {o: round(outcomes[o] / n, 4) for o in FALLBACKS},
        "unverified_because": dict(unverified.most_common()),
        "shown_with_gold": round(sum(r["gold"] for r in shown) / max(1, len(shown)), 4),
        "median_seconds": _median([r["seconds"] for r in asked]),
        "median_generation_seconds": _median([r["generation_seconds"] for r in asked]),
        "median_tokens": _median([r["tokens"] for r in asked]),
        "max_after_last_token_seconds": max(waits) if waits else None,
    }


def evaluate_llm(index: Index, questions: list[dict], config: LLMConfig,
                 limit: int | None = None, progress: Callable[[dict], None] | None = None
                 ) -> dict:
    """Per split (the first `limit` questions of each, in file order, when given): the
    summary, and the rows it was made from."""
    out: dict = {"model": config.model, "max_tokens": config.max_tokens,
                 "timeout": config.timeout, "idle_timeout": config.idle_timeout,
                 "limit": limit, "splits": {}, "rows": []}
    for split in SPLITS:
        chosen = [q for q in questions if q.get("split") == split][:limit]
        rows = []
        for q in chosen:
            rows.append(ask(index, q, config))
            if progress:
                progress(rows[-1])
        out["splits"][split] = summarise(rows)
        out["rows"] += rows
    return out


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def table(results: dict) -> str:
    lines = [f"`ombuds ask --llm` with {results['model']} (max_tokens {results['max_tokens']}, "
             f"timeout {results['timeout']:g} s, idle timeout {results['idle_timeout']:g} s"
             + (f", first {results['limit']} questions of each split" if results["limit"]
                else "") + "):", "",
             "| split | questions | model asked | generated answer shown (verified) | fell back: "
             "unverified / timeout / server error / no answer | shown citing gold | median "
             "latency (ask) | median generation | longest wait after last token |",
             "|---|---|---|---|---|---|---|---|---|"]
    for split, m in results["splits"].items():
        fb = " / ".join(f"{m['fallback_share'][o]:.0%}" for o in FALLBACKS)
        lines.append(f"| {split} | {m['questions']} | {m['asked']} | {m['shown']} "
                     f"({m['shown_share']:.1%}) | {fb} | "
                     f"{format(m['shown_with_gold'], '.0%') if m['shown'] else '-'} | "
                     f"{_s(m['median_seconds'])} | {_s(m['median_generation_seconds'])} | "
                     f"{_s(m['max_after_last_token_seconds'])} |")
    for split, m in results["splits"].items():
        if m["unverified_because"]:
            lines.append(f"\n{split}: unverified because " + "; ".join(
                f"{label} ({count})" for label, count in m["unverified_because"].items()))
    return "\n".join(lines)
