"""Tuning the embedding model's bias terms on the dev questions (BitFit: Ben Zaken et al.,
2022), for index/tuned.py; `ombuds calibrate --tune-model` writes index/model_tuning.npz.

Each answerable dev question gives two training triples, (question, a passage holding its gold,
BM25's best passage not holding it) and the same at the level of sentence units (the gold
passage's unit holding a quote, and the negative passage's unit sharing most of the question's
terms). They are fitted with a softmax over the batch (in-batch and BM25 negatives: "multiple
negatives ranking", as sentence-transformers' MultipleNegativesRankingLoss) on the 26,112 bias
terms alone, with the weights frozen: the model keeps what it knows, while its geometry shifts
toward the users' wording and the documents' (a lay question on dismissal toward "termination
at the initiative of the employer"), on both sides of the match, which a query adapter cannot.
The triples depend on the corpus and the questions only (BM25 picks the negatives), not on the
model a store was embedded with, so the fit can be rerun from any store of the corpus.

`cross_validate` fits on one half of dev and measures on the other (each half's store embedded
again with its model): the held-out figures the README quotes.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.embed import onnx_dir
from index.lexical import tokenize
from index.search import Index, _by_doc, index_text
from index.tuned import BASE_MODEL, assemble
from index.units import Unit, document_units

from .run import contains, passage_haystack, qrels_for, score

EPOCHS = 2
LEARNING_RATE = 1e-3  # biases move in small numbers; 1e-3 is BitFit's usual rate
BATCH = 16  # questions per step: each sees the batch's other positives and negatives
SCALE = 20.0  # cosine to logit, as MultipleNegativesRankingLoss's default
SEED = 0
# The share of the fitted change each bias keeps (weight-space interpolation between the plain
# and the fitted model, as WiSE-FT does for fine-tuned models: Wortsman et al., 2022): below 1
# it gives up some of the gain on this corpus's questions for less loss on corpora unlike it.
INTERPOLATION = 1.0
MAX_CHARS = 2000  # of a passage's text; the model reads its first 256 word pieces anyway
FOLDS = 2  # each fold re-embeds the corpus, so two


def _unit_span(p, u: Unit) -> str:
    """What a unit quotes: its sentence of the passage text, or its note's whole text."""
    if u.note is not None:
        return next((f.text for f in p.footnotes if f.number == u.note), "")
    return p.text[u.start:u.end]


def training_triples(index: Index, questions: list[dict]) -> list[tuple[str, str, str]]:
    """(question, positive text, negative text) for the answerable questions given."""
    qrels = qrels_for(questions, {p.passage_id: (p.doc_id, passage_haystack(p))
                                  for p in index.passages})
    units: dict[str, list[Unit]] = {}
    for doc_id, passages in _by_doc(index.passages).items():
        units.update(document_units(passages, index.docs[doc_id]))
    triples = []
    for q in questions:
        gold = [pid for pid in qrels.get(q["id"], {}) if pid in index.row]
        if not gold:
            continue
        negative = next((h.passage for h in index.search(q["question"], k=10, mode="bm25")
                         if h.passage.passage_id not in gold), None)
        if negative is None:
            continue
        positive = index.passages[index.row[gold[0]]]
        triples.append((q["question"], _text(index, positive), _text(index, negative)))
        quotes = [e["quote"] for e in q["evidence"]]
        gold_unit = next((u.text for pid in gold for u in units.get(pid, [])
                          if _quotes_any(_unit_span(index.passages[index.row[pid]], u), quotes)),
                         None)
        terms = set(tokenize(q["question"]))
        negative_units = units.get(negative.passage_id, [])
        if gold_unit and negative_units:
            closest = max(negative_units, key=lambda u, terms=terms: _shared(index, terms, u))
            triples.append((q["question"], gold_unit, closest.text))
    return triples


def _quotes_any(span: str, quotes: list[str]) -> bool:
    """Whether a unit's span holds a gold quote, or is held in one (a quote longer than it)."""
    return any(contains(quote, span) or contains(span, quote) for quote in quotes)


def _shared(index: Index, terms: set[str], u: Unit) -> float:
    """How much of the question's wording a unit shares (the summed IDF of common terms)."""
    return sum(index.lexical.idf(t) for t in terms & set(tokenize(u.text)))


def _text(index: Index, p) -> str:
    return index_text(p, index.docs[p.doc_id])[:MAX_CHARS]


def fit_biases(triples: list[tuple[str, str, str]], epochs: int = EPOCHS,
               lr: float = LEARNING_RATE, seed: int = SEED,
               log: Callable[[str], None] = print) -> dict[str, np.ndarray]:
    """The changes to the base model's bias terms that the triples teach (name -> array)."""
    import torch

    from index.embed import _load_sentence_transformer

    torch.manual_seed(seed)
    model = _load_sentence_transformer(BASE_MODEL)
    biases = {name: p for name, p in model.named_parameters() if name.endswith("bias")}
    for name, p in model.named_parameters():
        p.requires_grad = name in biases
    start = {name: p.detach().clone() for name, p in biases.items()}
    optimiser = torch.optim.AdamW(list(biases.values()), lr=lr)
    model.train()

    def embed(texts: list[str]):
        features = model.preprocess(texts)
        return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)

    order = list(range(len(triples)))
    rng = random.Random(seed)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        rng.shuffle(order)
        losses = []
        for b in range(0, len(order), BATCH):
            batch = [triples[i] for i in order[b:b + BATCH]]
            queries = embed([t[0] for t in batch])
            documents = embed([t[1] for t in batch] + [t[2] for t in batch])
            logits = SCALE * queries @ documents.T
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        log(f"epoch {epoch + 1}: mean loss {np.mean(losses):.3f} "
            f"({time.perf_counter() - t0:.0f} s)")
    model.eval()
    return {name: (p.detach() - start[name]).numpy() for name, p in biases.items()}


def interpolated(deltas: dict[str, np.ndarray], share: float = INTERPOLATION
                 ) -> dict[str, np.ndarray]:
    """The changes a shipped or fold model applies: share of each fitted one."""
    return {name: (d * share).astype(d.dtype) for name, d in deltas.items()}


def _folds(n: int, folds: int) -> list[int]:
    """A fold per question, fixed by a seeded permutation of their order."""
    fold = np.empty(n, dtype=int)
    fold[np.random.default_rng(SEED).permutation(n)] = np.arange(n) % folds
    return fold.tolist()


def _reembedded(index: Index, model_dir: Path, folder: Path) -> Index:
    """A copy of the index's store in folder, every passage embedded again with model_dir."""
    from index.embed import get_embedder
    from index.store import Store
    from index.update import reembed

    from .bench import _copy_store

    _copy_store(index.store.data_dir, folder)
    reembed(Store(folder), get_embedder(str(model_dir)))
    return Index.open(folder, str(model_dir))


def cross_validate(index: Index, questions: list[dict], folds: int = FOLDS,
                   log: Callable[[str], None] = print) -> dict:
    """Held-out hybrid and dense R@5 and MRR@10 on dev: each fold's questions searched with the
    plain model (no adapter) and with the model tuned on the other folds."""
    fold_of = _folds(len(questions), folds)
    runs: dict[str, dict[str, dict[str, list[str]]]] = {"plain": {}, "tuned": {}}
    modes = ("hybrid", "dense")
    with tempfile.TemporaryDirectory(prefix="ombuds-tune-") as tmp:
        for f in range(folds):
            train = [q for i, q in enumerate(questions) if fold_of[i] != f]
            held = [q for i, q in enumerate(questions) if fold_of[i] == f]
            log(f"fold {f + 1}/{folds}: fitting on {len(train)} questions")
            deltas = fit_biases(training_triples(index, train), log=log)
            model_dir = assemble(interpolated(deltas), Path(tmp) / f"model-{f}")
            tuned = _reembedded(index, model_dir, Path(tmp) / f"store-{f}")
            for name, ix in (("plain", index), ("tuned", tuned)):
                with ix.searching_with(None):
                    for mode in modes:
                        for q in held:
                            runs[name].setdefault(mode, {})[q["id"]] = [
                                h.passage.passage_id for h in ix.search(q["question"], k=10,
                                                                        mode=mode)]
            shutil.rmtree(Path(tmp) / f"store-{f}", ignore_errors=True)
            shutil.rmtree(onnx_dir(str(model_dir)), ignore_errors=True)  # a fold's, not kept
    qrels = qrels_for(questions, {p.passage_id: (p.doc_id, passage_haystack(p))
                                  for p in index.passages})
    out = {name: {mode: score(qrels, by_mode[mode]) for mode in modes}
           for name, by_mode in runs.items()}
    for name, by_mode in out.items():
        log(f"{name}: " + "; ".join(f"{mode} R@5 {v['R@5']:.3f}, MRR@10 {v['MRR@10']:.3f}"
                                   for mode, v in by_mode.items()))
    return out


def out_of_fold(index: Index, questions: list[dict], collect: Callable[[Index, list[dict]], list],
                folds: int = FOLDS, log: Callable[[str], None] = print) -> list:
    """collect(store, part) for each fold of the questions (answerable or not), on a copy of the
    store embedded with a model tuned on the answerable questions of the other folds, the
    results in the questions' order: what the answer models of a tuned store are fitted on, so
    that they see retrieval as it is for a question the model was not tuned on (in-sample, the
    gold passages score higher than they will on new questions, and the answer models learn to
    trust a similarity that will not be there)."""
    fold_of = _folds(len(questions), folds)
    out: dict[int, object] = {}
    with tempfile.TemporaryDirectory(prefix="ombuds-tune-") as tmp:
        for f in range(folds):
            train = [q for i, q in enumerate(questions) if fold_of[i] != f and q["answerable"]]
            held = [i for i in range(len(questions)) if fold_of[i] == f]
            log(f"fold {f + 1}/{folds}: tuning on {len(train)} answerable questions, "
                f"collecting {len(held)}")
            deltas = fit_biases(training_triples(index, train), log=log)
            model_dir = assemble(interpolated(deltas), Path(tmp) / f"model-{f}")
            tuned = _reembedded(index, model_dir, Path(tmp) / f"store-{f}")
            with tuned.searching_with(None):
                for i, item in zip(held, collect(tuned, [questions[i] for i in held]),
                                   strict=True):
                    out[i] = item
            shutil.rmtree(Path(tmp) / f"store-{f}", ignore_errors=True)
            shutil.rmtree(onnx_dir(str(model_dir)), ignore_errors=True)
    return [out[i] for i in range(len(questions))]
