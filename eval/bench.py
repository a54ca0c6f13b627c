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
SCANNED = ROOT.parent / "shared" / "pdfs" / "un-ohchr-letter-scanned-image-only.pdf"


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


def bench_ocr(path: Path = SCANNED) -> dict:
    """OCR throughput: every page of a scanned PDF rendered and read by Tesseract, as
    `ombuds ingest` does for a scan (pages in parallel, one per core)."""
    from ingest import ocr
    from ingest.pdf import read_pdf

    if not path.is_file() or not ocr.tesseract_available():
        return {}
    t0 = time.perf_counter()
    pdf = read_pdf(path, ocr="always")
    seconds = time.perf_counter() - t0
    pages = sum(p.ocr for p in pdf.pages)
    return {"file": path.name, "pages": pages, "seconds": seconds, "pages_per_s": pages / seconds,
            "dpi": ocr.DPI, "workers": ocr.WORKERS}


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


def bench_reload(data_dir: str, repeats: int = 5) -> dict:
    """What the app does when another process changes the store under it, on a copy of
    data_dir: the time to bring its index up to date after one document (the largest) is
    removed and after it is put back, incrementally (LiveIndex, as the app now does) and by a
    full rebuild from the stored embeddings (Index.open, as it did before), each with the
    citation graph; and the cost of the generation check that every request makes."""
    from index.live import LiveIndex
    from index.provisions import graph
    from index.search import Index
    from index.store import Store
    from index.update import stored_document

    tmp = Path(tempfile.mkdtemp(prefix="ombuds-bench-reload-"))
    try:
        _copy_store(Path(data_dir), tmp)
        index = Index.open(tmp)
        graph(index)
        index.passage_tokens()  # as the app does at start
        live = LiveIndex(index)
        t0 = time.perf_counter()
        for _ in range(1000):
            live.current()
        check_us = (time.perf_counter() - t0) * 1000
        store = Store(tmp)
        if not store.documents():
            raise SystemExit(f"error: {data_dir}: the store holds no document")
        doc_id = max(store.documents(), key=lambda d: d["n_passages"])["doc_id"]
        doc, passages = stored_document(store, doc_id), list(store.passages(doc_id))
        vectors, units = store.vectors(doc_id), store.unit_vectors(doc_id)
        times: dict[str, list[float]] = {k: [] for k in
                                         ("remove", "remove_full", "add", "add_full")}

        def timed(name: str, reload) -> None:
            t0 = time.perf_counter()
            graph(reload())
            times[name].append(time.perf_counter() - t0)

        for _ in range(repeats):
            store.remove(doc_id)
            timed("remove", live.current)
            timed("remove_full", lambda: Index.open(tmp))
            store.put(doc, passages, vectors, units)  # as an ingest stores it: with its units
            timed("add", live.current)
            timed("add_full", lambda: Index.open(tmp))
        assert live.current().ids == Index.open(tmp).ids
        return {"date": time.strftime("%Y-%m-%d %H:%M"), "passages": len(index.ids),
                "doc_id": doc_id, "doc_passages": len(passages), "repeats": repeats,
                "check_us": check_us,
                **{f"{k}_s": float(np.median(v)) for k, v in times.items()}}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _copy_store(src: Path, dst: Path) -> None:
    """A consistent copy of a data dir's store (SQLite's backup API); its index files are
    rebuilt from it."""
    import sqlite3

    dst.mkdir(parents=True, exist_ok=True)
    source, target = sqlite3.connect(src / "ombuds.sqlite3"), sqlite3.connect(
        dst / "ombuds.sqlite3")
    source.backup(target)
    source.close()
    target.close()


def bench_naive(index, queries: list[str]) -> dict:
    from .naive import NaiveIndex, tutorial_embedder

    files = {d["doc_id"]: Path(d["source_file"]) for d in index.store.documents()}
    t0 = time.perf_counter()
    naive = NaiveIndex.from_files(files, tutorial_embedder(index))
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


def run(paths: list[str], sizes: list[int], queries: list[str], embedders: bool = True) -> dict:
    from index.search import Index

    from .bench_embed import bench_embedders
    from .bench_scale import synthetic_rows

    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{os.cpu_count()} cores"}
    results["ocr"] = bench_ocr()
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
        results["reload"] = bench_reload(data_dir)
        if embedders:
            results["embedders"] = bench_embedders(data_dir)
        results["synthetic"] = synthetic_rows(data_dir, sizes, queries)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


def ocr_row(o: dict) -> str:
    return (f"| OCR: pages per second ({o['file']}, {o['pages']} pages at {o['dpi']} dpi, "
            f"{o['workers']} Tesseract processes) | {o['pages_per_s']:.2f} | - |")


def render(r: dict) -> str:
    from .bench_embed import render_embedders

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
    o = r.get("ocr")
    if o:
        lines.append(ocr_row(o))
    a = r.get("answers")
    if a:
        lines.append(f"| `ombuds ask` end to end ({a['questions']} questions) | "
                     f"{a['ask'][0]:.0f} / {a['ask'][1]:.0f} | - |")
        lines.append(f"| `ombuds provisions` end to end ({a['situations']} situations, k=10) | "
                     f"{a['provisions'][0]:.0f} / {a['provisions'][1]:.0f} | - |")
    lines += reload_rows(r.get("reload"))
    if r.get("synthetic_date"):
        lines += ["", f"Synthetic collections: run {r['synthetic_date']}."]
    lines += ["", "| synthetic passages (sentence units) | vector index (units) | recall@10 vs "
              "exact (units) | build s (vectors + units + BM25) | resident MB (all / index "
              "only) | bm25 | dense | hybrid |",
              "|---|---|---|---|---|---|---|---|"]
    for s in r.get("synthetic", []):
        lines.append(
            f"| {s['n']:,} ({s.get('units', 0):,}) | {s['vector_index']} "
            f"({s.get('unit_index', '-')}) | {s['recall_at_10']:.3f} "
            f"({s.get('unit_recall_at_10', float('nan')):.3f}) | {s['vector_build_s']:.0f} + "
            f"{s.get('unit_build_s', 0):.0f} + {s['lexical_build_s']:.0f} | {s['rss_mb']:.0f} / "
            f"{s['rss_mb_without_model']:.0f} | {s['bm25'][0]:.1f} / {s['bm25'][1]:.1f} | "
            f"{s['dense'][0]:.1f} / {s['dense'][1]:.1f} | {s['hybrid'][0]:.1f} / "
            f"{s['hybrid'][1]:.1f} |")
    if (u := r.get("unit_index_quality")) and "ivfpq" in u:
        lines += ["", f"The compact unit index on real vectors ({u['flat']['units']:,} corpus "
                  f"units, {u['questions']} answerable dev questions; the overlap over all dev "
                  f"questions): hybrid R@5 {u['flat']['R@5']:.3f} "
                  f"exact, {u['ivfpq']['R@5']:.3f} with the units in IVF-PQ; MRR@10 "
                  f"{u['flat']['MRR@10']:.3f} / {u['ivfpq']['MRR@10']:.3f}; the unit runs "
                  f"share {u['unit_top10_overlap']:.3f} of their top-10 passages."]
    if r.get("embedders"):
        lines += ["", render_embedders(r["embedders"]).rstrip("\n")]
    return "\n".join(lines) + "\n"


def bench_milvus(data_dir: Path, questions: list[dict]) -> dict:
    """The Milvus backend on Milvus Lite beside the embedded one, over the same store: migrate
    rate, query latency per mode, how often both give the same top 5, and on the dev split the
    default fusion (min-max CombSUM over passage vectors, sentence units and BM25) against
    Milvus' own RRFRanker and WeightedRanker over passage vectors and BM25."""
    from index.milvus_index import MilvusIndex
    from index.milvus_migrate import migrate
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
    if r.get("synthetic"):
        lines += ["", "Synthetic collections (eval/bench_scale.py: corpus vectors plus noise, "
                  "corpus terms; as many windows and sentence units per passage as the corpus), "
                  "each in a child process, 100 queries; ms p50 / p95, resident MB:", "",
                  "| passages | backend | build or insert (s) | bm25 | dense | hybrid | "
                  "resident MB |", "|---|---|---|---|---|---|---|"]
        for e, m in zip(r["synthetic"]["embedded"], r["synthetic"]["milvus"], strict=True):
            build = e["vector_build_s"] + e["unit_build_s"] + e["lexical_build_s"]
            lines.append(f"| {e['n']:,} | embedded | {build:.0f} (indexes) | "
                         + " | ".join(f"{e[k][0]:.1f} / {e[k][1]:.1f}"
                                      for k in ("bm25", "dense", "hybrid"))
                         + f" | {e['rss_mb']:.0f} |")
            lines.append(f"| {m['n']:,} | Milvus Lite | {m['insert_s']:.0f} (insert, "
                         f"{m['insert_passages_per_s']:.0f} passages/s) | "
                         + " | ".join(f"{m[k][0]:.1f} / {m[k][1]:.1f}"
                                      for k in ("bm25", "dense", "hybrid"))
                         + f" | {m['rss_mb']:.0f} + engine {m['engine_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def reload_rows(rl: dict | None) -> list[str]:
    """The reload table (its own run date: `python -m eval.bench reload` reruns just it)."""
    if not rl:
        return []
    return [
        "", f"Reload when another process changes the store under a running app (run "
        f"{rl['date']}, {rl['passages']} passages, the largest document {rl['doc_id']} of "
        f"{rl['doc_passages']} passages; seconds, median of {rl['repeats']}, citation graph "
        "included):", "",
        "| change | incremental (LiveIndex) | full rebuild (Index.open) |",
        "|---|---|---|",
        f"| document removed | {rl['remove_s']:.2f} | {rl['remove_full_s']:.2f} |",
        f"| document ingested again | {rl['add_s']:.2f} | {rl['add_full_s']:.2f} |",
        f"| generation check, every request, nothing changed (µs) | {rl['check_us']:.0f} | - |",
    ]


def main(argv: list[str] | None = None) -> None:
    """`python -m eval.bench reload DATA_DIR`: just the reload rows, on a copy of an ingested
    data dir, merged into eval/bench.json and eval/bench.md."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m eval.bench")
    parser.add_argument("part", choices=["reload"])
    parser.add_argument("data_dir", help="an ingested data dir (not changed: a copy is used)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    store = Path(args.data_dir) / "ombuds.sqlite3"
    if not store.is_file():
        sys.exit(f"error: {args.data_dir}: no ombuds store (ombuds.sqlite3) there; ingest into "
                 "it first: ombuds ingest --data-dir DIR corpus ../shared/corpus")
    reload = bench_reload(args.data_dir, args.repeats)
    results = json.loads(BENCH_JSON.read_text()) if BENCH_JSON.is_file() else {}
    results["reload"] = reload
    BENCH_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
    if "corpus" in results:
        BENCH_MD.write_text("# Benchmark\n\n" + render(results), encoding="utf-8")
    print("\n".join(reload_rows(reload)))


if __name__ == "__main__":
    main()
