"""`ombuds bench`: ingest throughput, query latency per mode, scale to 100k and 1M passages,
and the naive tutorial baseline, printed as a table and written to eval/bench.md and .json.

Numbers, not assertions: the machines are shared and noisy, so the benchmark reports medians
and 95th percentiles and the README quotes them; no test times anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .run import load_situations

ROOT = Path(__file__).resolve().parent.parent
BENCH_MD = ROOT / "eval" / "bench.md"
BENCH_JSON = ROOT / "eval" / "bench.json"


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def release_memory() -> None:
    """Give freed heap back to the OS, so resident memory shows what the index holds."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def _cli(*args: str, env: dict | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(f"ombuds {' '.join(args)} failed: {out.stderr.strip()[-500:]}")
    return time.perf_counter() - t0, out.stdout


def bench_ingest(paths: list[str]) -> dict:
    """Full ingest into a fresh data dir, then the same again (unchanged), as subprocesses."""
    tmp = Path(tempfile.mkdtemp(prefix="ombuds-bench-"))
    try:
        seconds, out = _cli("ingest", "-q", "--data-dir", str(tmp), *paths)
        passages = int(re.search(r"\((\d+) passages", out).group(1))
        again, out2 = _cli("ingest", "-q", "--data-dir", str(tmp), *paths)
        assert "0 document(s) ingested" in out2, out2
        return {"passages": passages, "seconds": seconds, "passages_per_s": passages / seconds,
                "reingest_unchanged_s": again, "data_dir": str(tmp)}
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def bench_queries(index, queries: list[str], modes=("bm25", "dense", "hybrid")) -> dict:
    index.search("warm up the model", k=10, mode="dense")
    out = {}
    for mode in modes:
        times = []
        for q in queries:
            t0 = time.perf_counter()
            index.search(q, k=10, mode=mode)
            times.append(time.perf_counter() - t0)
        out[mode] = percentiles(times)
    return out


def bench_answers(index, questions: list[str], situations: list[str]) -> dict:
    """End-to-end latency of `ombuds ask` (retrieval + sentence scoring) and of `ombuds
    provisions` (two filtered searches + the citation graph), model warm."""
    from app.answer import answer_question
    from index.provisions import graph, rank_provisions

    graph(index)  # built once per opened index, as the app does at start
    out = {}
    for name, items, call in (
            ("ask", questions, lambda q: answer_question(index, q)),
            ("provisions", situations, lambda s: rank_provisions(index, s, k=10))):
        times = []
        for item in items:
            t0 = time.perf_counter()
            call(item)
            times.append(time.perf_counter() - t0)
        out[name] = percentiles(times)
    return out


def bench_naive(index, queries: list[str]) -> dict:
    from .naive import NaiveIndex

    files = {d["doc_id"]: Path(d["source_file"]) for d in index.store.documents()}
    t0 = time.perf_counter()
    naive = NaiveIndex.from_files(files, index.embedder)
    build = time.perf_counter() - t0
    out = {"chunks": len(naive.chunks), "build_s": build,
           "chunks_per_s": len(naive.chunks) / naive.embed_seconds}
    for mode in ("bm25", "dense", "hybrid"):
        times = []
        for q in queries:
            t0 = time.perf_counter()
            naive.search(q, 10, mode)
            times.append(time.perf_counter() - t0)
        out[mode] = percentiles(times)
    return out


def synthetic(n: int, data_dir: str, queries: list[str], seed: int = 0) -> dict:
    """Index n generated passages: vectors are real passage embeddings plus noise (so they keep
    the corpus's cluster structure), texts are Zipf-sampled corpus tokens; measure build time,
    resident memory, latency per mode, and the recall@10 of the vector index against exact."""
    import bm25s
    from bm25s.tokenization import Tokenized

    from index.embed import get_embedder
    from index.fusion import reciprocal_rank_fusion
    from index.lexical import Lexical, tokenize
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
        block = real[rng.integers(0, len(real), stop - start)]
        block = block + 0.04 * rng.standard_normal(block.shape).astype(np.float32)
        matrix[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
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

    # texts: token ids drawn with the corpus's own token frequencies
    counts: dict[str, int] = {}
    for p in store.passages():
        for t in tokenize(p.text):
            counts[t] = counts.get(t, 0) + 1
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
           "lexical_build_s": lexical_build, "recall_at_10": recall,
           "rss_mb": steady_rss, "rss_mb_without_model": steady_rss - base_rss}
    timings: dict[str, list[float]] = {"bm25": [], "dense": [], "hybrid": []}
    for q in queries:
        t0 = time.perf_counter()
        qv = embedder.encode([q])[0]
        dense = vectors.search(qv, 100)
        t1 = time.perf_counter()
        lex = lexical.search(q, 100)
        t2 = time.perf_counter()
        reciprocal_rank_fusion([[(str(r), s) for r, s in dense], [(str(r), s) for r, s in lex]])
        t3 = time.perf_counter()
        timings["dense"].append(t1 - t0)
        timings["bm25"].append(t2 - t1)
        timings["hybrid"].append(t3 - t0)
    for mode, times in timings.items():
        out[mode] = percentiles(times)
    return out


def run(paths: list[str], sizes: list[int], queries: list[str]) -> dict:
    from index.search import Index

    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{os.cpu_count()} cores"}
    ingest = bench_ingest(paths)
    results["ingest"] = {k: v for k, v in ingest.items() if k != "data_dir"}
    data_dir = ingest["data_dir"]
    try:
        index = Index.open(Path(data_dir))
        results["queries"] = len(queries)
        results["corpus"] = {"passages": len(index.ids), **bench_queries(index, queries)}
        situations = [s["situation"] for s in load_situations()]
        results["answers"] = {"questions": len(queries[:60]), "situations": len(situations),
                              **bench_answers(index, queries[:60], situations)}
        results["naive"] = bench_naive(index, queries)
        results["synthetic"] = []
        for n in sizes:  # each size in a child process, so its memory is its own
            out = subprocess.run(
                [sys.executable, "-c",
                 "import json,sys; from eval.bench import synthetic; "
                 "print(json.dumps(synthetic(int(sys.argv[1]), sys.argv[2], "
                 "json.loads(sys.argv[3]))))", str(n), data_dir, json.dumps(queries[:100])],
                capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                raise RuntimeError(f"synthetic {n} failed: {out.stderr.strip()[-800:]}")
            results["synthetic"].append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


def render(r: dict) -> str:
    i, c, nv = r["ingest"], r["corpus"], r["naive"]
    lines = [
        f"Run {r['date']} on {r['machine']}; {r['queries']} queries (eval/questions.jsonl), "
        "k=10, model warm. Latency in ms (p50 / p95).",
        "",
        "| what | ombuds | naive baseline |",
        "|---|---|---|",
        f"| ingest: passages (chunks) | {i['passages']} | {nv['chunks']} |",
        f"| ingest: total seconds (parse + embed + index) | {i['seconds']:.1f} | "
        f"{nv['build_s']:.1f} |",
        f"| ingest: passages per second | {i['passages_per_s']:.1f} | "
        f"{nv['chunks_per_s']:.1f} |",
        f"| re-ingest unchanged corpus (whole command, s) | {i['reingest_unchanged_s']:.2f} | - |",
    ]
    for mode in ("bm25", "dense", "hybrid"):
        lines.append(f"| {mode} query on the corpus ({c['passages']} passages) | "
                     f"{c[mode][0]:.1f} / {c[mode][1]:.1f} | {nv[mode][0]:.1f} / "
                     f"{nv[mode][1]:.1f} |")
    a = r.get("answers")
    if a:
        lines.append(f"| `ombuds ask` end to end ({a['questions']} questions) | "
                     f"{a['ask'][0]:.0f} / {a['ask'][1]:.0f} | - |")
        lines.append(f"| `ombuds provisions` end to end ({a['situations']} situations, k=10) | "
                     f"{a['provisions'][0]:.0f} / {a['provisions'][1]:.0f} | - |")
    lines += ["", "| synthetic passages | vector index | recall@10 vs exact | build s (vectors "
              "+ BM25) | resident MB (all / index only) | bm25 | dense | hybrid |",
              "|---|---|---|---|---|---|---|---|"]
    for s in r.get("synthetic", []):
        lines.append(
            f"| {s['n']:,} | {s['vector_index']} | {s['recall_at_10']:.3f} | "
            f"{s['vector_build_s']:.0f} + {s['lexical_build_s']:.0f} | {s['rss_mb']:.0f} / "
            f"{s['rss_mb_without_model']:.0f} | {s['bm25'][0]:.1f} / {s['bm25'][1]:.1f} | "
            f"{s['dense'][0]:.1f} / {s['dense'][1]:.1f} | {s['hybrid'][0]:.1f} / "
            f"{s['hybrid'][1]:.1f} |")
    return "\n".join(lines) + "\n"


def bench_milvus(data_dir: Path, questions: list[dict]) -> dict:
    """The Milvus backend on Milvus Lite beside the embedded one, over the same store: migrate
    rate, query latency per mode, how often both give the same top 5, and on the dev split the
    default fusion (min-max CombSUM over passage vectors, sentence units and BM25) against
    Milvus' own RRFRanker and WeightedRanker over passage vectors and BM25."""
    from index.milvus import MilvusIndex, migrate
    from index.search import Index
    from index.store import Store

    from .run import passage_haystack, qrels_for, score

    tmp = Path(tempfile.mkdtemp(prefix="ombuds-bench-milvus-"))
    try:
        uri = str(tmp / "milvus.db")
        first = migrate(Store(data_dir), uri)
        again = migrate(Store(data_dir), uri)
        embedded, milvus = Index.open(data_dir), MilvusIndex.open(uri, data_dir=data_dir)
        queries = [q["question"] for q in questions]
        out = {"passages": len(embedded.ids), "queries": len(queries),
               "migrate": {"passages": first["passages"], "seconds": first["seconds"],
                           "passages_per_s": first["passages"] / first["seconds"],
                           "unchanged_s": again["seconds"]},
               "embedded": bench_queries(embedded, queries),
               "milvus": bench_queries(milvus, queries)}
        same = sum([h.passage.passage_id for h in embedded.search(q, k=5)]
                   == [h.passage.passage_id for h in milvus.search(q, k=5)] for q in queries)
        out["same_top5"] = same / len(queries)
        dev = [q for q in questions if q.get("split") == "dev"]
        qrels = qrels_for(dev, {p.passage_id: (p.doc_id, passage_haystack(p))
                                for p in embedded.passages})
        asked = [q for q in dev if q["id"] in qrels]
        ids = [q["id"] for q in asked]
        runs = {
            "min-max CombSUM, 3 runs (default)": lambda q: [
                h.passage.passage_id for h in milvus.search(q, k=10)],
            "min-max CombSUM, passages + BM25": lambda q: [
                h.passage.passage_id for h in milvus.search(q, k=10, mode="hybrid-passages")],
            "Milvus RRFRanker(60), passages + BM25": lambda q: milvus.hybrid_milvus(q, 10, "rrf"),
            "Milvus WeightedRanker(0.5, 0.5)": lambda q: milvus.hybrid_milvus(q, 10, "weighted"),
            "Milvus WeightedRanker(0.33, 0.67)": lambda q: milvus.hybrid_milvus(
                q, 10, "weighted", weights=(1 / 3, 2 / 3)),
        }
        out["fusion_dev"] = {name: score(qrels, {q["id"]: rank(q["question"]) for q in asked},
                                         ids) for name, rank in runs.items()}
        out["dev_questions"] = len(ids)
        milvus.store.close()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render_milvus(r: dict) -> str:
    m, e, v = r["migrate"], r["embedded"], r["milvus"]
    lines = [
        f"Run {r['date']} on {r['machine']}; {r['passages']} passages, {r['queries']} queries "
        "(eval/questions.jsonl), k=10, model warm. Latency in ms (p50 / p95).", "",
        "| what | embedded (SQLite + FAISS + bm25s) | Milvus Lite |", "|---|---|---|",
        f"| migrate the store (no embedding), passages per second | - | "
        f"{m['passages_per_s']:.0f} ({m['passages']} in {m['seconds']:.1f} s) |",
        f"| migrate again, unchanged (s) | - | {m['unchanged_s']:.2f} |",
    ]
    for mode in ("bm25", "dense", "hybrid"):
        lines.append(f"| {mode} query | {e[mode][0]:.1f} / {e[mode][1]:.1f} | "
                     f"{v[mode][0]:.1f} / {v[mode][1]:.1f} |")
    lines += [f"| same top 5 as embedded (hybrid) | - | {r['same_top5']:.1%} |", "",
              f"Fusion on the dev split ({r['dev_questions']} answerable questions), Milvus "
              "backend:", "", "| fusion | R@5 | MRR@10 | nDCG@10 |", "|---|---|---|---|"]
    for name, s in r["fusion_dev"].items():
        lines.append(f"| {name} | {s['R@5']:.3f} | {s['MRR@10']:.3f} | {s['nDCG@10']:.3f} |")
    return "\n".join(lines) + "\n"
