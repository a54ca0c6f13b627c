"""Fit the query adapter of index/adapter.py on the dev questions, and cross-validate it.

Each answerable dev question is a training pair: its model vector q, and the passages holding
its gold quotes. A passage scores max over its sentence units of cos(normalise(q + qA), unit),
the units being the stored vectors searches use; the loss is the cross-entropy of the gold
passages under a softmax over every passage of the corpus at temperature TAU, plus LAMBDA·|A|²,
which keeps A small: the model's geometry moved, not replaced. Adam, full batch, EPOCHS steps
from A = 0, seeded: the same store and questions give the same matrix.

LAMBDA and TAU were chosen by 5-fold cross-validation within dev (`ombuds calibrate
--adapter-cv` prints the grid): hybrid R@5 and MRR@10 of each held-out fold, searched with the
adapter fitted on the other four. The test split is never read here.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from index.adapter import QueryAdapter, base_model
from index.search import Index

from .run import passage_haystack, qrels_for, score

LAMBDA = 0.3
TAU = 0.08
EPOCHS = 150
LEARNING_RATE = 2e-3
GRID = ((0.03, 0.05), (0.1, 0.08), (0.3, 0.08), (0.1, 0.12))
FOLDS = 5


def training_pairs(index: Index, questions: list[dict]) -> list[tuple[str, list[int]]]:
    """(question, rows of the passages holding its gold) for the answerable questions given."""
    units = {p.passage_id: (p.doc_id, passage_haystack(p)) for p in index.passages}
    qrels = qrels_for(questions, units)
    pairs = []
    for q in questions:
        rows = [index.row[pid] for pid in qrels.get(q["id"], {}) if pid in index.row]
        if rows:
            pairs.append((q["question"], rows))
    return pairs


def fit_matrix(index: Index, pairs: list[tuple[str, list[int]]], lam: float = LAMBDA,
               tau: float = TAU, epochs: int = EPOCHS, seed: int = 0) -> np.ndarray:
    import torch  # installed with sentence-transformers; only fitting needs it

    torch.manual_seed(seed)
    units = np.array(index.units.rows(), dtype=np.float32)  # a copy: rows() may be a view
    units /= np.maximum(np.linalg.norm(units, axis=1, keepdims=True), 1e-12)
    unit_t = torch.from_numpy(units)
    owner = torch.from_numpy(np.asarray(index.unit_row, dtype=np.int64))
    queries = np.stack([index.embedder.encode_query(text) for text, _ in pairs])
    q = torch.from_numpy(queries.astype(np.float32))
    owners = owner.expand(len(pairs), -1)
    dim, n = units.shape[1], len(index.ids)
    a = torch.zeros(dim, dim, requires_grad=True)
    opt = torch.optim.Adam([a], lr=LEARNING_RATE)
    for _ in range(epochs):
        opt.zero_grad()
        moved = q + q @ a
        moved = moved / moved.norm(dim=1, keepdim=True)
        # a passage scores its best unit; passages without units stay out of the softmax
        scores = torch.full((len(pairs), n), -1e4).scatter_reduce(
            1, owners, moved @ unit_t.T, reduce="amax", include_self=True)
        logp = torch.log_softmax(scores / tau, dim=1)
        gold = torch.stack([logp[i, rows].logsumexp(0) for i, (_, rows) in enumerate(pairs)])
        loss = -gold.mean() + lam * (a**2).sum()
        loss.backward()
        opt.step()
    return a.detach().numpy().astype(np.float32)


def fit_adapter(index: Index, questions: list[dict], lam: float = LAMBDA, tau: float = TAU
                ) -> QueryAdapter:
    """The adapter fitted on the given (dev) questions."""
    pairs = training_pairs(index, questions)
    matrix = fit_matrix(index, pairs, lam, tau)
    return QueryAdapter(matrix, base_model(index.embedder.name), {
        "fitted_on": "dev", "questions": len(pairs), "lambda": lam, "tau": tau,
        "epochs": EPOCHS, "passages": len(index.ids)})


def _folds(n: int, folds: int) -> list[int]:
    """The fold of each of n items: a shuffle (seed 0) dealt round, the same for every call."""
    order = list(range(n))
    random.Random(0).shuffle(order)
    fold_of = [0] * n
    for dealt, i in enumerate(order):
        fold_of[i] = dealt % folds
    return fold_of


def _held_out(index: Index, pairs: list[tuple[str, list[int]]], which: list[int]
              ) -> dict[str, list[str]]:
    """The hybrid top 10 of the pairs numbered `which`, with the index's current adapter."""
    return {str(i): [h.passage.passage_id for h in index.search(pairs[i][0], k=10)]
            for i in which}


def cross_validate(index: Index, questions: list[dict], grid=GRID, folds: int = FOLDS,
                   log: Callable[[str], None] = print) -> list[dict]:
    """Held-out hybrid R@5 and MRR@10 over dev for each (lambda, tau), and without an adapter;
    the questions are split into folds once, the same for every setting."""
    pairs = training_pairs(index, questions)
    qrels = {str(i): {index.ids[r]: 1 for r in rows} for i, (_, rows) in enumerate(pairs)}
    fold_of = _folds(len(pairs), folds)
    with index.searching_with(None):
        run = _held_out(index, pairs, list(range(len(pairs))))
    results = [{"lambda": None, "tau": None, **score(qrels, run)}]
    log(f"no adapter: R@5 {results[0]['R@5']:.3f}, MRR@10 {results[0]['MRR@10']:.3f}")
    for lam, tau in grid:
        run = {}
        for f in range(folds):
            train = [p for i, p in enumerate(pairs) if fold_of[i] != f]
            adapter = QueryAdapter(fit_matrix(index, train, lam, tau),
                                   base_model(index.embedder.name))
            with index.searching_with(adapter):
                run |= _held_out(index, pairs, [i for i in range(len(pairs)) if fold_of[i] == f])
        results.append({"lambda": lam, "tau": tau, **score(qrels, run)})
        log(f"lambda {lam}, tau {tau}: held-out R@5 {results[-1]['R@5']:.3f}, "
            f"MRR@10 {results[-1]['MRR@10']:.3f}")
    return results


def out_of_fold(index: Index, questions: list[dict], collect: Callable[[Index, list[dict]], list],
                folds: int = FOLDS) -> list:
    """collect(index, part) for each fold of the questions, searched with an adapter fitted on
    the answerable questions of the other folds, the results in the questions' order: what the
    answer models are fitted on, so that they see retrieval as it is for a question the adapter
    was not fitted on (fitted on all of dev, it would look better than it will on new ones)."""
    fold_of = _folds(len(questions), folds)
    out: dict[int, object] = {}
    for f in range(folds):
        train = [q for i, q in enumerate(questions) if fold_of[i] != f and q["answerable"]]
        held = [i for i in range(len(questions)) if fold_of[i] == f]
        with index.searching_with(fit_adapter(index, train)):
            for i, item in zip(held, collect(index, [questions[i] for i in held]), strict=True):
                out[i] = item
    return [out[i] for i in range(len(questions))]
