"""`ombuds calibrate`: fit the two models of app/answerability.py on the dev split only, with
cross-validation, and write them to app/answerability.json.

1. The sentence model: over every candidate sentence of the best passages of the answerable dev
   questions, does this sentence hold a gold quote? Its log-odds rank the answer's sentences.
2. The answerability model: over dev questions, positive = answerable and a gold passage is
   among the passages the answer draws on; negative = unanswerable. Answerable questions whose
   gold was not retrieved are left out of the fit (see LABELS): they are neither what an answer
   should look like nor a question the corpus cannot answer.

Regularisation strengths, the share of the best sentence's probability that lets other
sentences join, and the operating threshold are all chosen on out-of-fold predictions over dev
(stratified K-fold, repeated with several seeds, both models refitted inside every fold). The
threshold maximises the smallest margin over the targets (answered >= 85% of answerable,
gold cited in >= 80% of answered, >= 80% of unanswerable declined). The test split is never
read here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from app import answer as ans
from app.answerability import (
    ANSWER_FEATURES,
    MODEL_PATH,
    SENTENCE_FEATURES,
    Candidate,
    Logistic,
    answer_features,
)
from app.question import Question, analyse, idf_of
from index.search import Hit, Index

from .run import contains, passage_haystack, quote_in_sentence

TARGETS = {"answered_share": 0.85, "answered_with_gold": 0.80, "unanswerable_declined": 0.80}
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
KEEP_GRID = (0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
FOLDS, REPEATS = 5, 4
# how answerable questions whose gold passage was not retrieved enter the answerability fit
LABELS = ("leave-out", "negative")


@dataclass
class Sample:
    """One dev question with its evidence, ready for either model."""

    qid: str
    answerable: bool
    q: Question
    hits: list[Hit]
    candidates: list[Candidate]
    hit_terms: dict[str, set[str]]
    X: np.ndarray  # candidates x SENTENCE_FEATURES
    gold: np.ndarray  # per candidate: the sentence holds a gold quote
    gold_passages: set[str]  # retrieved passages holding a gold quote

    @property
    def retrieved(self) -> bool:
        """A gold passage is among those the answer's sentences come from."""
        return any(c.hit.passage.passage_id in self.gold_passages for c in self.candidates)


def collect(index: Index, questions: list[dict],
            search: Callable[[dict], list[Hit]] | None = None) -> list[Sample]:
    """The evidence of each question as `ombuds ask` sees it (hybrid, k=8)."""
    idf = idf_of(index)
    search = search or (lambda q: index.search(q["question"], k=8, mode="hybrid"))
    samples = []
    for item in questions:
        hits = search(item)
        q = analyse(item["question"], idf, index)
        candidates, hit_terms = ans.evidence(index, q, hits)
        quotes = [e["quote"] for e in item["evidence"]]
        gold = np.array([any(quote_in_sentence(x, c.text) for x in quotes) for c in candidates],
                        dtype=bool)
        gold_passages = {h.passage.passage_id for h in hits
                         if any(contains(x, passage_haystack(h.passage)) for x in quotes)}
        X = (np.stack([c.features for c in candidates]) if candidates
             else np.zeros((0, len(SENTENCE_FEATURES))))
        samples.append(Sample(item["id"], item["answerable"], q, hits, candidates, hit_terms, X,
                              gold, gold_passages))
    return samples


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float, names: tuple[str, ...],
                 balanced: bool = False) -> Logistic:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=2000, class_weight="balanced" if balanced else None)
    lr.fit((X - mean) / scale, y)
    return Logistic(list(names), lr.coef_[0], float(lr.intercept_[0]), mean, scale)


def fit_sentence(samples: list[Sample], C: float) -> Logistic:
    train = [s for s in samples if s.answerable and len(s.candidates)]
    X = np.concatenate([s.X for s in train])
    y = np.concatenate([s.gold for s in train])
    return fit_logistic(X, y, C, SENTENCE_FEATURES)


@dataclass
class Outcome:
    """What the answer would be for one sample under a sentence model."""

    features: np.ndarray  # ANSWER_FEATURES
    first: bool  # the first answer sentence holds gold
    grounded: bool  # a cited passage holds gold
    sentences: int


def outcome(s: Sample, sentence: Logistic, keep: float) -> Outcome:
    if not s.candidates:
        return Outcome(np.zeros(len(ANSWER_FEATURES)), False, False, 0)
    ranked = ans.rank(s.candidates, sentence)
    chosen = ans.choose(ranked, keep)
    cs = [c for c, _, _ in chosen]
    ev = answer_features(s.q, s.hits, s.candidates, cs, s.hit_terms)
    first = bool(s.gold[s.candidates.index(cs[0])]) if cs else False
    grounded = any(c.hit.passage.passage_id in s.gold_passages for c in cs)
    return Outcome(ev.values, first, grounded, len(cs))


def label(s: Sample, policy: str) -> int | None:
    """1, 0, or None (left out of the answerability fit)."""
    if not s.answerable:
        return 0
    if s.retrieved:
        return 1
    return {"leave-out": None, "negative": 0}[policy]


def fit_answerable(samples: list[Sample], outcomes: list[Outcome], C: float, policy: str,
                   balanced: bool) -> Logistic:
    rows = [(o.features, label(s, policy)) for s, o in zip(samples, outcomes, strict=True)]
    rows = [(x, y) for x, y in rows if y is not None]
    return fit_logistic(np.stack([x for x, _ in rows]), np.array([y for _, y in rows]), C,
                        ANSWER_FEATURES, balanced)


def strata(samples: list[Sample]) -> np.ndarray:
    return np.array([0 if not s.answerable else 1 if s.retrieved else 2 for s in samples])


@dataclass
class Fold:
    train: np.ndarray
    test: np.ndarray
    outcomes: list[Outcome]  # every sample, under the sentence model fitted on train


def folds_for(samples: list[Sample], c_sentence: float, keep: float, seed: int) -> list[Fold]:
    """The CV folds of one repeat, the sentence model refitted inside each."""
    n = len(samples)
    out = []
    split = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train_idx, test_idx in split.split(np.zeros(n), strata(samples)):
        sentence = fit_sentence([samples[i] for i in train_idx], c_sentence)
        out.append(Fold(train_idx, test_idx, [outcome(s, sentence, keep) for s in samples]))
    return out


def out_of_fold(samples: list[Sample], folds: list[Fold], c_answer: float, policy: str,
                balanced: bool) -> dict[str, np.ndarray]:
    """Out-of-fold probability, first-sentence and grounded flags for every sample."""
    n = len(samples)
    prob, first, grounded = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
    for f in folds:
        model = fit_answerable([samples[i] for i in f.train], [f.outcomes[i] for i in f.train],
                               c_answer, policy, balanced)
        for i in f.test:
            prob[i] = model.probability(f.outcomes[i].features)
            first[i], grounded[i] = f.outcomes[i].first, f.outcomes[i].grounded
    return {"prob": prob, "first": first, "grounded": grounded}


def shares(samples: list[Sample], oof: dict[str, np.ndarray], threshold: float) -> dict:
    answerable = np.array([s.answerable for s in samples])
    answered = oof["prob"] >= threshold
    a = answerable & answered
    return {"answered_share": a.sum() / max(1, answerable.sum()),
            "answered_with_gold": (a & oof["grounded"]).sum() / max(1, a.sum()),
            "first_sentence_gold": (a & oof["first"]).sum() / max(1, a.sum()),
            "unanswerable_declined": (~answerable & ~answered).sum()
            / max(1, (~answerable).sum())}


def margin(figures: dict) -> float:
    """The smallest margin over the targets (negative: a target missed)."""
    return min(figures[k] - v for k, v in TARGETS.items())


def mean_shares(samples: list[Sample], runs: list[dict], threshold: float) -> dict:
    per_run = [shares(samples, oof, threshold) for oof in runs]
    return {k: float(np.mean([r[k] for r in per_run])) for k in per_run[0]}


def best_threshold(samples: list[Sample], runs: list[dict]) -> tuple[float, dict]:
    """The threshold with the largest smallest margin over the targets, averaged over the CV
    repeats; among near-ties, the middle of the best plateau (less sensitive to noise)."""
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    scored = [(margin(mean_shares(samples, runs, t)), t) for t in grid]
    top = max(m for m, _ in scored)
    plateau = [t for m, t in scored if m >= top - 0.005]
    t = float(plateau[len(plateau) // 2])
    return t, mean_shares(samples, runs, t)


def auc(samples: list[Sample], runs: list[dict]) -> float:
    """Answerable-and-retrieved against unanswerable, out of fold (mean over repeats)."""
    y = strata(samples)
    values = []
    for oof in runs:
        pos, neg = oof["prob"][y == 1], oof["prob"][y == 0]
        values.append((pos[:, None] > neg[None, :]).mean()
                       + 0.5 * (pos[:, None] == neg[None, :]).mean())
    return float(np.mean(values))


def first_sentence_cv(samples: list[Sample], C: float, seeds: range) -> float:
    """Out of fold: the share of answerable questions with a gold sentence among the candidates
    whose top-ranked sentence holds it."""
    usable = [s for s in samples if s.answerable and s.gold.any()]
    hits = []
    for seed in seeds:
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
        for train_idx, test_idx in folds.split(np.zeros(len(usable)), np.zeros(len(usable))):
            model = fit_sentence([usable[i] for i in train_idx], C)
            for i in test_idx:
                s = usable[i]
                hits.append(bool(s.gold[int(np.argmax(model.logit(s.X)))]))
    return float(np.mean(hits))


def calibrate(samples: list[Sample], log: Callable[[str], None] = print,
              repeats: int = REPEATS, c_grid=C_GRID, keep_grid=KEEP_GRID,
              labels=LABELS) -> dict:
    """Choose everything by cross-validation on the samples (dev) and fit the final models on
    all of them. Returns the JSON-ready model file."""
    t0 = time.perf_counter()
    seeds = range(repeats)
    usable = [s for s in samples if s.answerable and s.gold.any()]
    similarity_only = float(np.mean([s.gold[int(np.argmax(s.X[:, 0]))] for s in usable]))
    first = {C: first_sentence_cv(samples, C, seeds) for C in c_grid}
    c_sentence = max(first, key=lambda C: (round(first[C], 3), -C))
    log(f"sentence model: top sentence holds gold (CV, {len(usable)} questions with a gold "
        f"sentence among the candidates): {first[c_sentence]:.3f} at C={c_sentence} "
        f"(similarity alone: {similarity_only:.3f})")
    # keep: the share of answered citing gold, with every question answered (no threshold)
    keep_scores = {}
    for keep in keep_grid:
        runs = [out_of_fold(samples, folds_for(samples, c_sentence, keep, seed), 1.0,
                            "leave-out", False) for seed in seeds]
        everything = mean_shares(samples, runs, 0.0)
        keep_scores[keep] = everything["answered_with_gold"]
    best_gold = max(keep_scores.values())
    keep = max(k for k, v in keep_scores.items() if v >= best_gold - 0.01)  # fewest sentences
    log("keep (gold cited when all answered): " + ", ".join(
        f"{k}: {v:.3f}" for k, v in keep_scores.items()) + f" -> {keep}")
    best = None
    repeats_folds = [folds_for(samples, c_sentence, keep, seed) for seed in seeds]
    for policy in labels:
        for balanced in (False, True):
            for C in c_grid:
                runs = [out_of_fold(samples, folds, C, policy, balanced)
                        for folds in repeats_folds]
                t, figures = best_threshold(samples, runs)
                key = (round(margin(figures), 4), auc(samples, runs))
                if best is None or key > best[0]:
                    best = (key, policy, balanced, C, t, figures)
                log(f"answerability {policy:9} balanced={balanced!s:5} C={C:<5} AUC "
                    f"{key[1]:.3f} threshold {t:.2f}: " + ", ".join(
                        f"{k} {v:.3f}" for k, v in figures.items()))
    (m, roc), policy, balanced, c_answer, threshold, figures = best
    sentence = fit_sentence(samples, c_sentence)
    outs = [outcome(s, sentence, keep) for s in samples]
    answerable = fit_answerable(samples, outs, c_answer, policy, balanced)
    counts = {"answerable": sum(s.answerable for s in samples),
              "unanswerable": sum(not s.answerable for s in samples),
              "answerable_retrieved": sum(s.answerable and s.retrieved for s in samples)}
    log(f"chosen: labels {policy}, balanced={balanced}, C={c_answer}, threshold {threshold:.2f};"
        f" dev CV AUC {roc:.3f}; {time.perf_counter() - t0:.0f} s")
    return {
        "_comment": "Written by `ombuds calibrate` (eval/calibrate.py) from the dev split only; "
                    "read by app/answerability.py. Coefficients apply to standardised features "
                    "((x - mean) / scale). Review changes like code.",
        "threshold": round(threshold, 4), "keep": keep,
        "sentence": sentence.to_dict(), "answerable": answerable.to_dict(),
        "fit": {"split": "dev", "folds": FOLDS, "repeats": repeats, "questions": counts,
                "sentence_C": c_sentence, "answerable_C": c_answer, "labels": policy,
                "balanced": balanced},
        "dev_cv": {"auc": round(roc, 4),
                   "first_sentence_gold_top1": round(first[c_sentence], 4),
                   "first_sentence_gold_top1_similarity_only": round(similarity_only, 4),
                   **{k: round(v, 4) for k, v in figures.items()}},
    }


def write(model: dict, path: Path = MODEL_PATH) -> None:
    path.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
