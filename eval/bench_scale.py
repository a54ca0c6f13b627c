"""Synthetic collections for `ombuds bench`: 100k and 1M passages with their sentence units,
made from a real store's vectors, and what the compact unit index costs on real vectors.

Separate from eval/bench.py because each size runs in a child process of its own (its memory is
its own) and needs none of the corpus benchmark.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .bench import ROOT, _copy_store, percentiles, release_memory, rss_mb


def noisy(real: np.ndarray, size: int, rng) -> np.ndarray:
    """size vectors drawn from real ones plus noise, normalised: they keep the corpus's clusters
    without being copies."""
    block = real[rng.integers(0, len(real), size)]
    block = block + 0.04 * rng.standard_normal(block.shape).astype(np.float32)
    return block / np.linalg.norm(block, axis=1, keepdims=True)


def term_frequencies(passages) -> dict[str, int]:
    """BM25 term -> its count over the passages: synthetic texts are drawn with these."""
    from index.lexical import tokenize

    counts: dict[str, int] = {}
    for p in passages:
        for t in tokenize(p.text):
            counts[t] = counts.get(t, 0) + 1
    return counts


def synthetic(n: int, data_dir: str, queries: list[str], seed: int = 0) -> dict:
    """Index n generated passages: vectors are real passage embeddings plus noise (so they keep
    the corpus's cluster structure), texts are Zipf-sampled corpus tokens; measure build time,
    resident memory, latency per mode, and the recall@10 of the vector index against exact."""
    import bm25s
    from bm25s.tokenization import Tokenized

    from index.embed import get_embedder
    from index.fusion import minmax_fusion
    from index.lexical import Lexical
    from index.search import W_BM25, W_PASSAGE, W_UNIT
    from index.store import Store
    from index.vectors import Vectors

    rng = np.random.default_rng(seed)
    store = Store(Path(data_dir))
    real = np.concatenate(list(store.vectors().values()))
    embedder = get_embedder()
    query_vecs = embedder.encode(queries)
    base_rss = rss_mb()

    # exact top-10 for the queries, computed block by block while generating the vectors
    matrix = np.empty((n, real.shape[1]), dtype=np.float32)
    best = np.full((len(queries), 0), -1, dtype=np.int64)
    best_scores = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        matrix[start:stop] = noisy(real, stop - start, rng)
        scores = query_vecs @ matrix[start:stop].T
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        best = np.concatenate([best, top + start], axis=1)
        best_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, 1)], axis=1)
    order = np.argsort(-best_scores, axis=1)[:, :10]
    exact = np.take_along_axis(best, order, 1)

    t0 = time.perf_counter()
    vectors = Vectors.build(matrix)
    vector_build = time.perf_counter() - t0
    del matrix
    release_memory()
    recall = float(np.mean([len({r for r, _ in vectors.search(q, 10)} & set(e)) / 10
                            for q, e in zip(query_vecs, exact, strict=True)]))
    units, unit_row, unit_recall, unit_build = synthetic_units(store, n, query_vecs, rng)

    # texts: token ids drawn with the corpus's own token frequencies
    counts = term_frequencies(store.passages())
    vocab = {t: i for i, t in enumerate(counts)}
    freq = np.array(list(counts.values()), dtype=np.float64)
    ids = rng.choice(len(vocab), size=n * 60, p=freq / freq.sum()).astype(np.int32)
    t0 = time.perf_counter()
    model = bm25s.BM25()
    model.index(Tokenized(ids=np.split(ids, n), vocab=vocab), show_progress=False)
    lexical_build = time.perf_counter() - t0
    del ids
    lexical = Lexical(model, n)
    release_memory()
    steady_rss = rss_mb()

    out = {"n": n, "vector_index": vectors.kind, "vector_build_s": vector_build,
           "units": units.size, "unit_index": units.kind, "unit_build_s": unit_build,
           "unit_recall_at_10": unit_recall,
           "lexical_build_s": lexical_build, "recall_at_10": recall,
           "rss_mb": steady_rss, "rss_mb_without_model": steady_rss - base_rss}
    timings: dict[str, list[float]] = {"bm25": [], "dense": [], "hybrid": []}
    for q in queries:
        t0 = time.perf_counter()
        qv = embedder.encode_query(q)
        dense = vectors.search(qv, 100)
        t1 = time.perf_counter()
        lex = lexical.search(q, 100)
        t2 = time.perf_counter()
        best: dict[str, float] = {}
        for r, score in units.search(qv, 400):
            best.setdefault(str(unit_row[r]), score)
        minmax_fusion([[(str(r), s) for r, s in dense], list(best.items())[:100],
                       [(str(r), s) for r, s in lex]], [W_PASSAGE, W_UNIT, W_BM25])
        t3 = time.perf_counter()
        timings["dense"].append(t1 - t0)
        timings["bm25"].append(t2 - t1)
        timings["hybrid"].append(t3 - t0)
    for mode, times in timings.items():
        out[mode] = percentiles(times)
    return out


def synthetic_units(store, n: int, query_vecs: np.ndarray, rng, block: int = 500_000):
    """Sentence units for n synthetic passages, as many per passage as the corpus has, made
    like the passage vectors (real unit vectors plus noise) and added block by block to the
    compact index; recall@10 of the passages their best unit ranks, against exact search."""
    from index.vectors import Vectors

    real = np.concatenate([u.vectors for u in store.unit_vectors().values()])
    per_passage = len(real) / max(1, len(store.vectors()))
    total = int(n * per_passage)
    unit_row = np.sort(rng.integers(0, n, total)).astype(np.int32)

    def make(size: int) -> np.ndarray:
        return noisy(real, size, rng)

    t0 = time.perf_counter()
    units = Vectors.trained(make(min(total, 200_000)), total, compact=True)
    best = np.full((len(query_vecs), n), -2.0, dtype=np.float32)  # exact best unit per passage
    for start in range(0, total, block):
        chunk = make(min(block, total - start))
        units.add(chunk)
        rows = unit_row[start : start + len(chunk)]
        scores = query_vecs @ chunk.T
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # rows are sorted
        owners = rows[starts]
        best[:, owners] = np.maximum(best[:, owners],
                                     np.maximum.reduceat(scores, starts, axis=1))
    build = time.perf_counter() - t0
    exact = np.argsort(-best, axis=1)[:, :10]
    del best
    release_memory()
    recall = []
    for qv, e in zip(query_vecs, exact, strict=True):
        found: list[int] = []
        for r, _ in units.search(qv, 400):
            if unit_row[r] not in found:
                found.append(int(unit_row[r]))
        recall.append(len(set(found[:10]) & set(e.tolist())) / 10)
    return units, unit_row, float(np.mean(recall)), build


def unit_index_quality(data_dir: str | Path) -> dict:
    """What the compact (IVF-PQ) sentence-unit index used at scale costs on real vectors: dev
    retrieval with the corpus's units in it against exact search, and the overlap of the two
    unit runs' top-10 passages (synthetic units, noisy copies of a few thousand real ones, are
    too alike to measure this on)."""
    from index.search import Index
    from index.vectors import Vectors

    from .run import evaluate_index, load_questions

    dev = [q for q in load_questions() if q.get("split") == "dev"]
    out: dict = {"questions": sum(bool(q.get("answerable", True)) for q in dev)}
    tops = {}
    with tempfile.TemporaryDirectory() as tmp:
        _copy_store(Path(data_dir), Path(tmp) / "data")
        index = Index.open(Path(tmp) / "data")
        exact = index.units
        for kind in ("flat", "ivfpq"):
            if kind == "ivfpq":  # the same units in the index used at scale; passages stay exact
                index.units = Vectors.build(exact.rows().copy(), approximate=True, compact=True)
            res, _, _ = evaluate_index(index, dev, modes=("hybrid",))
            overall = res["hybrid"]["dev"]["overall"]
            out[kind] = {"units": index.units.size, "index": index.units.kind,
                         "R@5": overall["R@5"], "MRR@10": overall["MRR@10"]}
            tops[kind] = [[pid for pid, _ in index._dense_units(q["question"], 10, None)]
                          for q in dev]
    out["unit_top10_overlap"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in
                                               zip(tops["flat"], tops["ivfpq"], strict=True)]))
    return out


def synthetic_rows(data_dir: str | Path, sizes: list[int], queries: list[str],
                   backend: str = "embedded") -> list[dict]:
    """The synthetic collections made from an ingested store's vectors (in the embedded indexes,
    or with backend "milvus" in a Milvus Lite file), each size in a child process, so its memory
    is its own."""
    rows = []
    function = "synthetic_milvus" if backend == "milvus" else "synthetic"
    for n in sizes:
        out = subprocess.run(
            [sys.executable, "-W", "ignore", "-c",
             f"import json,sys; from eval.bench_scale import {function}; "
             f"print(json.dumps({function}(int(sys.argv[1]), sys.argv[2], "
             "json.loads(sys.argv[3]))))", str(n), str(data_dir), json.dumps(queries[:100])],
            capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            raise RuntimeError(f"synthetic {n} failed: {out.stderr.strip()[-800:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def synthetic_milvus(n: int, data_dir: str | Path, queries: list[str], seed: int = 0) -> dict:
    """n generated passages in a fresh Milvus Lite file, in ombuds' own collections (schemas and
    indexes of index/milvus.py), with as many windows and sentence units per passage as the
    corpus has: vectors are real ones plus noise and texts Zipf-sampled corpus terms, as in
    `synthetic`. A hybrid query runs as MilvusIndex runs it: three filtered searches at once
    (windows, units, BM25), each passage's best window and unit, min-max fused. Measures the
    insert rate, latency per mode and the resident memory of this process and Milvus' engine."""
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    from index.embed import get_embedder
    from index.fusion import minmax_fusion
    from index.lexical import tokenize
    from index.milvus import PASSAGES, UNITS, WINDOWS, MilvusStore
    from index.milvus_index import _best_per_passage
    from index.search import CANDIDATES, W_BM25, W_PASSAGE, W_UNIT
    from index.store import Store

    rng = np.random.default_rng(seed)
    store = Store(Path(data_dir))
    windows_real = np.concatenate(list(store.vectors().values()))
    units_real = np.concatenate([u.vectors for u in store.unit_vectors().values()])
    passages = list(store.passages())
    counts = term_frequencies(passages)
    terms = np.array(list(counts))
    freq = np.array(list(counts.values()), dtype=np.float64)
    freq /= freq.sum()
    embedder = get_embedder()
    query_vecs = embedder.encode(queries)
    dim = windows_real.shape[1]

    tmp = Path(tempfile.mkdtemp(prefix="ombuds-bench-milvus-syn-"))
    milvus = MilvusStore(str(tmp / "synthetic.db"), data_dir=tmp, create=True)
    client = milvus.client
    try:
        for name in (PASSAGES, WINDOWS, UNITS):
            milvus._create(name, dim)
        per_window = len(windows_real) / len(passages)
        per_unit = len(units_real) / len(passages)
        fields = {"doc_id": "synthetic", "version": 1, "passage_type": "narrative",
                  "date_lo": 0, "date_hi": 0}
        inserted = {"passages": 0, "windows": 0, "units": 0}
        t0 = time.perf_counter()
        block = 500  # passages per insert (and their windows, units), as index/milvus.py's BATCH
        for start in range(0, n, block):
            size = min(block, n - start)
            keys = [f"p{start + i}@1" for i in range(size)]
            text = rng.choice(terms, size=(size, 60), p=freq)
            client.insert(PASSAGES, [
                {"key": k, **fields, "kind": "report", "jurisdiction": "KZ",
                 "passage_id": k[:-2], "seq": i, "data": {},
                 "lexical": " ".join(text[i]), "vector": v.tolist()}
                for i, (k, v) in enumerate(zip(keys, noisy(windows_real, size, rng),
                                               strict=True))])
            n_windows = rng.poisson(per_window, size).clip(1)
            owners = np.repeat(np.arange(size), n_windows)
            vectors = noisy(windows_real, len(owners), rng)
            client.insert(WINDOWS, [{"key": f"{keys[o]}#{j}", **fields, "vector": v.tolist()}
                                    for j, (o, v) in enumerate(zip(owners, vectors, strict=True))])
            n_units = rng.poisson(per_unit, size)
            owners = np.repeat(np.arange(size), n_units)
            client.insert(UNITS, [{"key": f"{keys[o]}#u{j}", **fields, "passage_key": keys[o],
                                   "unit": {}, "vector": v.tolist()}
                                  for j, (o, v) in enumerate(zip(
                                      owners, noisy(units_real, len(owners), rng), strict=True))])
            inserted["passages"] += size
            inserted["windows"] += int(n_windows.sum())
            inserted["units"] += len(owners)
        for name in (PASSAGES, WINDOWS, UNITS):
            client.flush(name)
            client.load_collection(name)
        insert_s = time.perf_counter() - t0

        mask = 'version in [1] and doc_id in ["synthetic"]'

        def search(name: str, data, field: str, limit: int) -> list[tuple[str, float]]:
            found = client.search(name, data=[data], anns_field=field, limit=limit, filter=mask,
                                  output_fields=["key"], consistency_level="Eventually")
            return [(h["key"], abs(h["distance"])) for h in found[0]]

        def best(name: str, qv: list[float], hits: float) -> list[tuple[str, float]]:
            found = search(name, qv, "vector", int(CANDIDATES * hits))
            return _best_per_passage([(k.split("#")[0], s) for k, s in found], CANDIDATES)

        timings: dict[str, list[float]] = {"bm25": [], "dense": [], "hybrid": []}
        with ThreadPoolExecutor(3) as pool:
            for q, qv in zip(queries, query_vecs, strict=True):
                qv_list, text = qv.tolist(), " ".join(tokenize(q)) or "x"
                t0 = time.perf_counter()
                search(PASSAGES, text, "sparse", CANDIDATES)
                t1 = time.perf_counter()
                best(WINDOWS, qv_list, 1.6)
                t2 = time.perf_counter()
                runs = [pool.submit(best, WINDOWS, qv_list, 1.6),
                        pool.submit(best, UNITS, qv_list, 3),
                        pool.submit(search, PASSAGES, text, "sparse", CANDIDATES)]
                minmax_fusion([r.result() for r in runs], [W_PASSAGE, W_UNIT, W_BM25])
                t3 = time.perf_counter()
                timings["bm25"].append(t1 - t0)
                timings["dense"].append(t2 - t1)
                timings["hybrid"].append(t3 - t2)
        me = psutil.Process()
        engine = sum(c.memory_info().rss for c in me.children(recursive=True)) / 2**20
        out = {"n": n, **inserted, "insert_s": insert_s,
               "insert_passages_per_s": n / insert_s,
               "rss_mb": me.memory_info().rss / 2**20, "engine_rss_mb": engine}
        for mode, times in timings.items():
            out[mode] = percentiles(times)
        return out
    finally:
        milvus.close()
        shutil.rmtree(tmp, ignore_errors=True)
