"""The embedder comparison of `ombuds bench --only embed`: torch against the int8 ONNX export,
texts per second at several batch sizes and thread counts, and how closely their vectors agree.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np

from .bench import percentiles


def _sentences(texts: list[str], n: int) -> list[str]:
    """Up to n sentences of the texts (one in every few, spread over all of them)."""
    found = [s.strip() for t in texts for line in t.splitlines()[1:]
             for s in re.split(r"(?<=[.!?;])\s+(?=[A-Z(\"'])", line) if 20 <= len(s.strip()) <= 400]
    return found[:: max(1, len(found) // n)][:n]


def bench_embedders(data_dir: str | Path | None = None, reps: int = 3, passages: int = 500,
                    sentences: int = 2000) -> dict:
    """Texts per second of the torch and onnx-int8 embedders on passages of a store (the texts
    ingest embeds) and on single sentences from them, per batch size, length sorting and thread
    count, interleaved and repeated (medians); and how far the two agree: cosine of their
    vectors for every stored passage window, and overlap@10 of the dense top-10 passages for
    the dev questions of eval/questions.jsonl."""
    import torch

    from index.embed import Embedder, _Onnx, configured_model, onnx_model, split_model
    from index.search import index_text
    from index.store import Store

    from .run import load_questions

    store = Store(Path(data_dir) if data_dir else None)
    docs = {d["doc_id"]: d for d in store.documents()}
    every = list(store.passages())
    if not every:
        raise RuntimeError(f"no passages in {store.data_dir}: ingest some first")
    texts = {p.passage_id: index_text(p, docs[p.doc_id]) for p in every}
    sample = [texts[p.passage_id] for p in every[:: max(1, len(every) // passages)][:passages]]
    sets = {"passages": sample, "sentences": _sentences(sample, sentences)}
    model = split_model(configured_model())[0]
    torch_embedder, onnx_embedder = Embedder(model, "torch"), Embedder(model, "onnx-int8")
    if onnx_embedder.backend != "onnx-int8":
        raise RuntimeError("the onnx-int8 embedder fell back to torch (see stderr)")
    # one thread per run spread over a worker per core (the default), or two threads per run
    # and one run at a time (the setting before texts ran alone)
    onnx_runners = {1: _Onnx(onnx_model(model), threads=1),
                    2: _Onnx(onnx_model(model), threads=2, workers=1)}
    default_threads = torch.get_num_threads()

    def run_torch(items: list[str], batch: int, ordered: bool, threads: int) -> None:
        torch.set_num_threads(threads)
        try:
            if ordered:  # sentence-transformers sorts by length (characters) inside encode
                torch_embedder.runner.encode(items, batch)
            else:  # one encode per batch, in the given order: nothing to sort
                for i in range(0, len(items), batch):
                    torch_embedder.runner.encode(items[i : i + batch], batch)
        finally:
            torch.set_num_threads(default_threads)

    def run_onnx(items: list[str], batch: int, ordered: bool, threads: int) -> None:
        onnx_runners[threads].encode(items, batch, sort=ordered)

    from index.embed import BATCH_SIZE, ONNX_BATCH, ONNX_THREADS

    onnx_default = (ONNX_BATCH, True, ONNX_THREADS)
    torch_default = (BATCH_SIZE, True, 2)
    configs = list(dict.fromkeys([onnx_default, torch_default, (16, True, 2), (64, True, 2),
                                  (BATCH_SIZE, False, 2)]))
    runs: dict[tuple, list[float]] = {}
    for encode in (run_torch, run_onnx):  # warm up
        encode(sets["sentences"][:64], 32, True, 2)
    for _ in range(reps):  # interleaved, so both backends see the same load on the machine
        for config in configs:
            for backend, encode in (("torch", run_torch), ("onnx-int8", run_onnx)):
                if backend == "torch" and config == onnx_default != torch_default:
                    continue  # torch one text at a time: not a setting anyone would use
                for kind, items in sets.items():
                    t0 = time.perf_counter()
                    encode(items, *config)
                    rate = len(items) / (time.perf_counter() - t0)
                    runs.setdefault((backend, *config, kind), []).append(rate)
    rows = []
    for config in configs:
        for backend in ("torch", "onnx-int8"):
            if (backend, *config, "passages") not in runs:
                continue
            row = {"backend": backend, "batch": config[0], "sorted": config[1],
                   "threads": config[2]}
            for kind in sets:
                mine = runs[(backend, *config, kind)]
                row[f"{kind}_per_s"] = float(np.median(mine))
                row[f"{kind}_runs"] = [round(x, 2) for x in mine]
                if backend == "onnx-int8":  # against torch in the same repetition: less noisy
                    paired = np.array(mine) / np.array(
                        runs.get(("torch", *config, kind), runs[("torch", *torch_default, kind)]))
                    row[f"{kind}_speedup"] = float(np.median(paired))
            rows.append(row)

    # agreement over the whole store: stored vectors for the backend that built it
    ids = [p.passage_id for p in every]
    stored = store.vectors()
    vectors = {}
    for e in (torch_embedder, onnx_embedder):
        if e.name == store.get_meta("model") and len(stored) == len(ids):
            vectors[e.backend] = [stored[i] for i in ids]
        else:
            vectors[e.backend] = e.encode_passages([texts[i] for i in ids])
    a, b = np.concatenate(vectors["torch"]), np.concatenate(vectors["onnx-int8"])
    cosine = (a * b).sum(1)
    questions = [q["question"] for q in load_questions() if q.get("split") == "dev"]
    tops, query_ms = {}, {}
    for e in (torch_embedder, onnx_embedder):
        times = []
        for q in questions:  # one at a time, as a search embeds its query
            t0 = time.perf_counter()
            e.encode([q])
            times.append(time.perf_counter() - t0)
        query_ms[e.backend] = percentiles(times)
        qv = e.encode(questions)
        scores = np.stack([(qv @ m.T).max(1) for m in vectors[e.backend]], axis=1)
        tops[e.backend] = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    overlap = [len(set(x) & set(y)) / 10 for x, y in zip(tops["torch"], tops["onnx-int8"],
                                                          strict=True)]
    default = next(r for r in rows if r["backend"] == "onnx-int8"
                   and (r["batch"], r["sorted"], r["threads"]) == onnx_default)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"), "model": model, "reps": reps,
        "batch": ONNX_BATCH, "load_average": round(os.getloadavg()[0], 1),
        "texts": {k: len(v) for k, v in sets.items()}, "rows": rows,
        "speedup": {k: default[f"{k}_speedup"] for k in sets},
        "cosine": {"windows": len(cosine), "mean": float(cosine.mean()),
                   "min": float(cosine.min())},
        "overlap_at_10": {"questions": len(questions), "mean": float(np.mean(overlap)),
                          "min": float(np.min(overlap))},
        "query_ms": query_ms,
    }


def render_embedders(e: dict) -> str:
    lines = [
        f"Embedders ({e['model']}, run {e.get('date', '')}): texts per second, median of "
        f"{e['reps']} interleaved runs "
        f"(load average {e['load_average']} at the end); {e['texts']['passages']} passages "
        f"and {e['texts']['sentences']} single sentences from them.",
        "",
        "| backend | batch | sorted by length | threads | passages/s | sentences/s | "
        "onnx-int8 / torch (passages, sentences) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in e["rows"]:
        ratio = (f"{r['passages_speedup']:.2f}x, {r['sentences_speedup']:.2f}x"
                 if "passages_speedup" in r else "")
        lines.append(f"| {r['backend']} | {r['batch']} | {'yes' if r['sorted'] else 'no'} | "
                     f"{r['threads']} | {r['passages_per_s']:.1f} | {r['sentences_per_s']:.1f} | "
                     f"{ratio} |")
    c, o = e["cosine"], e["overlap_at_10"]
    lines += ["", "Ratios are medians of onnx-int8 over torch in the same repetition (at the "
              "same setting, else torch's default: batch 32, sorted, 2 threads). onnx-int8 "
              "runs with one thread per text and a worker per core when its threads are 1. At "
              f"its default setting (batch {e.get('batch', 32)}) onnx-int8 is "
              f"{e['speedup']['passages']:.2f}x torch on passages, "
              f"{e['speedup']['sentences']:.2f}x on sentences. Cosine torch vs int8 "
              f"over {c['windows']} passage windows: mean {c['mean']:.4f}, min {c['min']:.4f}; "
              f"dense top-10 overlap for {o['questions']} dev questions: mean {o['mean']:.3f}, "
              f"min {o['min']:.1f}."]
    if e.get("query_ms"):
        q = e["query_ms"]
        lines[-1] += (f" One query embedded alone (ms, p50 / p95): torch {q['torch'][0]:.1f} / "
                      f"{q['torch'][1]:.1f}, onnx-int8 {q['onnx-int8'][0]:.1f} / "
                      f"{q['onnx-int8'][1]:.1f}.")
    return "\n".join(lines) + "\n"
