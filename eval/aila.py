"""`ombuds bench aila`: AILA 2019 statute retrieval (FIRE 2019, task 2) through ombuds' own
ingest and search, scored with ranx beside the published figures.

Each of the 197 statutes is written as a small Markdown file (its title as heading) and
ingested with `ingest_file`, as a user's documents would be; each of the 50 long fact
descriptions is searched with `Index.search`, and a statute ranks by its best passage. MAP,
nDCG@10 and R@10 are computed on the 40 official test queries (Q11-Q50, `qrels-test.tsv`);
the 10 training queries (Q1-Q10) are what long-query settings may be chosen on.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from ranx import Qrels, Run, evaluate

from index.search import Index
from index.store import Store
from index.update import ingest_file
from ingest.model import IngestError

AILA = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "aila2019-statutes"
PUBLISHED = {"FIRE 2019 best run (thuir_legal_2)": 0.1566, "tutorial bm25s": 0.091}
METRICS = {"MAP": "map", "nDCG@10": "ndcg@10", "R@10": "recall@10"}
AILA_MD = Path(__file__).resolve().parent / "aila.md"
AILA_JSON = Path(__file__).resolve().parent / "aila.json"


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines()[1:]:
        qid, doc, rel = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(rel)
    return qrels


def build(data_dir: Path, model: str | None = None) -> Index:
    """Ingest the statutes into data_dir (unchanged ones are skipped on a second run)."""
    folder = data_dir / "statutes"
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir)
    for line in (AILA / "corpus.jsonl").read_text().splitlines():
        s = json.loads(line)
        path = folder / f"{s['id']}.md"
        if not path.exists():
            path.write_text(f"---\nid: {s['id']}\ntitle: {json.dumps(s['title'])}\n---\n\n"
                            f"# {s['title']}\n\nDesc: {s['text']}\n", encoding="utf-8")
        try:
            ingest_file(store, path, model)
        except IngestError as e:  # reported, as `ombuds ingest` would; the statute is unfindable
            print(f"{path.name}: {e}", file=sys.stderr)
    store.close()
    return Index.open(data_dir, model)


def rank_statutes(index: Index, query: str, mode: str) -> dict[str, float]:
    """Statutes by their best passage; every passage is ranked (the collection is small)."""
    out: dict[str, float] = {}
    for h in index.search(query, k=len(index.ids), mode=mode):
        out.setdefault(h.passage.doc_id, h.score)
    return out


def run(data_dir: Path | None = None, model: str | None = None,
        modes: tuple[str, ...] = ("hybrid", "bm25", "dense")) -> dict:
    with tempfile.TemporaryDirectory(prefix="aila-") as tmp:
        t0 = time.perf_counter()
        index = build(Path(data_dir or tmp), model)
        built = time.perf_counter() - t0
        queries = [json.loads(x) for x in (AILA / "queries.jsonl").read_text().splitlines()]
        qrels = {"test": load_qrels(AILA / "qrels-test.tsv"), "train": {}}
        for qid, rels in load_qrels(AILA / "qrels.tsv").items():
            if qid not in qrels["test"]:
                qrels["train"][qid] = rels
        results: dict = {"statutes": len(index.docs), "passages": len(index.ids),
                         "build_s": round(built, 1), "published_map": PUBLISHED}
        per_query: dict[str, list[float]] = {}  # test AP per query, in ranx's order
        for mode in modes:
            t1 = time.perf_counter()
            runs = {q["id"]: rank_statutes(index, q["text"], mode) for q in queries}
            per_query_ms = (time.perf_counter() - t1) / len(queries) * 1000
            results[mode] = {"median_query_ms_approx": round(per_query_ms, 1)}
            for split, rels in qrels.items():
                r = Run({qid: runs[qid] or {"none": 0.0} for qid in rels})
                values = evaluate(Qrels(rels), r, list(METRICS.values()), make_comparable=True)
                results[mode][split] = {name: round(float(values[m]), 4)
                                        for name, m in METRICS.items()}
                if split == "test":
                    per_query[mode] = list(evaluate(Qrels(rels), r, "map", return_mean=False,
                                                    make_comparable=True))
        index.store.close()
    results["intervals"] = map_intervals(per_query)
    return results


def map_intervals(per_query: dict[str, list[float]]) -> dict[str, dict]:
    """Test MAP of hybrid with its 95% bootstrap interval, and hybrid's paired difference from
    BM25 and dense over the same queries (eval/stats.py)."""
    from .stats import interval, paired

    out = {}
    if "hybrid" in per_query:
        out["hybrid MAP"] = interval(per_query["hybrid"]).to_dict()
        for other in ("bm25", "dense"):
            if other in per_query:
                out[f"hybrid - {other} MAP"] = paired(per_query["hybrid"],
                                                      per_query[other]).to_dict()
    return out


def render(results: dict) -> str:
    lines = [f"AILA 2019 statutes ({results['statutes']} statutes, {results['passages']} "
             f"passages, ingested in {results['build_s']} s); 40 test queries (Q11-Q50), "
             "10 train queries (Q1-Q10) in brackets:", "",
             "| run | MAP | nDCG@10 | R@10 |", "|---|---|---|---|"]
    for mode in ("hybrid", "bm25", "dense"):
        if mode in results:
            t, tr = results[mode]["test"], results[mode]["train"]
            lines.append(f"| ombuds {mode} | " + " | ".join(
                f"{t[m]:.3f} ({tr[m]:.3f})" for m in METRICS) + " |")
    for name, value in PUBLISHED.items():
        lines.append(f"| {name} (published) | {value:.3f} | | |")
    intervals = results.get("intervals") or {}
    if intervals:
        from .stats import LEVEL, Interval

        cells = [f"{name} {Interval(**d).cell(signed=' - ' in name)}"
                 for name, d in intervals.items()]
        lines += ["", f"Test MAP with {LEVEL:.0%} bootstrap intervals over the 40 queries (a "
                  "difference paired on the same queries): " + "; ".join(cells) + "."]
    return "\n".join(lines)
