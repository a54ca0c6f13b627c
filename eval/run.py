"""`ombuds eval`: retrieval quality on eval/questions.jsonl, per mode and user type, beside the
naive baseline; each run is appended to eval/history.jsonl and plotted in eval/history.png.

Gold evidence is a verbatim quote, not a passage id, so chunking can change without breaking
the set: a retrieved passage is relevant when its text or one of its footnotes contains a gold
quote (whitespace, quote marks and case normalised), or the larger part of it for a quote that
crosses a passage boundary. Recall@k is the share of questions with a relevant passage in the
top k (ranx's hit_rate@k); MRR@10 and nDCG@10 come from ranx as well.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import unicodedata
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
from ranx import Qrels, Run, evaluate

from index.search import EXTRA_MODES, MODES, Index

EVAL_DIR = Path(__file__).resolve().parent
QUESTIONS = EVAL_DIR / "questions.jsonl"
SITUATIONS = EVAL_DIR / "situations.jsonl"
HISTORY = EVAL_DIR / "history.jsonl"
FLOORS = EVAL_DIR / "floors.json"
LATEST = EVAL_DIR / "latest.md"
PLOT = EVAL_DIR / "history.png"
METRICS = {"R@1": "hit_rate@1", "R@5": "hit_rate@5", "R@10": "hit_rate@10",
           "MRR@10": "mrr@10", "nDCG@10": "ndcg@10"}
USERS = ("lawyer", "researcher", "trainer")
# Every weight, threshold and rule is chosen on dev; test is run to report, never to tune.
SPLITS = ("dev", "test")
PARTIAL = 0.6  # share of a quote's words that must appear in one run inside a passage


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"<sup>.*?</sup>", "", text)
    text = text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "«": '"',
                                         "»": '"', "*": "", "\\": "", "_": " "}))
    return " ".join(text.lower().split())


def contains(quote: str, text: str) -> bool:
    q, t = normalise(quote), normalise(text)
    if q in t:
        return True
    qw, tw = q.split(), t.split()
    if len(qw) < 6:
        return False
    m = SequenceMatcher(None, qw, tw, autojunk=False).find_longest_match(0, len(qw), 0, len(tw))
    return m.size >= PARTIAL * len(qw)


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def passage_haystack(p) -> str:
    return p.text + "\n" + "\n".join(f.text for f in p.footnotes)


def qrels_for(questions: list[dict], units: dict[str, tuple[str, str]]) -> dict[str, dict]:
    """Relevant unit ids per answerable question; units: id -> (doc_id, text)."""
    by_doc: dict[str, list[str]] = defaultdict(list)
    for uid, (doc_id, _) in units.items():
        by_doc[doc_id].append(uid)
    qrels = {}
    for q in questions:
        if not q["answerable"]:
            continue
        relevant = {uid: 1 for ev in q["evidence"] for uid in by_doc.get(ev["doc_id"], [])
                    if contains(ev["quote"], units[uid][1])}
        # gold that no unit holds (lost by ingestion) still counts, as a miss
        qrels[q["id"]] = relevant or {f"missing:{q['id']}": 1}
    return qrels


def _ranx(qrels: dict, runs: dict[str, list[str]], ids: list[str]) -> tuple[Qrels, Run]:
    """ranx's Qrels and Run for the given ids, a ranked list scored by 1 / (rank + 1)."""
    q = Qrels({i: qrels[i] for i in ids})
    r = Run({i: {d: 1.0 / (rank + 1) for rank, d in enumerate(runs.get(i, []))} or
             {"none": 0.0} for i in ids})
    return q, r


def score(qrels: dict, runs: dict[str, list[str]], ids: list[str] | None = None) -> dict:
    ids = [i for i in (list(qrels) if ids is None else ids) if i in qrels]
    if not ids:
        return {}
    values = evaluate(*_ranx(qrels, runs, ids), list(METRICS.values()), make_comparable=True)
    return {name: round(float(values[m]), 4) for name, m in METRICS.items()}


def per_query(qrels: dict, runs: dict[str, list[str]], ids: list[str], metric: str
              ) -> np.ndarray:
    """One ranx metric ("hit_rate@5", "mrr@10") per question, in the order of ids, unaveraged:
    what eval/stats.py resamples."""
    q, r = _ranx(qrels, runs, ids)
    values = evaluate(q, r, metric, return_mean=False, make_comparable=True)
    by_id = dict(zip(q.keys(), values, strict=True))  # ranx orders them by id
    return np.array([float(by_id[i]) for i in ids])


def report(qrels: dict, runs: dict[str, list[str]], questions: list[dict]) -> dict:
    """Metrics per split (dev: tuned on; test: reported) and per user type within each."""
    out = {}
    for split in SPLITS:
        part = [q for q in questions if q.get("split", "dev") == split]
        by_user = {"overall": score(qrels, runs, [q["id"] for q in part])}
        for user in USERS:
            by_user[user] = score(qrels, runs, [q["id"] for q in part if q["user"] == user])
        out[split] = by_user
    return out


def evaluate_index(index: Index, questions: list[dict], modes=MODES + EXTRA_MODES, k: int = 10
                   ) -> tuple[dict, dict, dict]:
    units = {p.passage_id: (p.doc_id, passage_haystack(p)) for p in index.passages}
    qrels = qrels_for(questions, units)
    results, runs_by_mode, latency = {}, {}, {}
    for mode in modes:
        runs, times = {}, []
        for q in questions:
            if q["id"] not in qrels:
                continue
            t0 = time.perf_counter()
            hits = index.search(q["question"], k=k, mode=mode)
            times.append(time.perf_counter() - t0)
            runs[q["id"]] = [h.passage.passage_id for h in hits]
        results[mode] = report(qrels, runs, questions)
        runs_by_mode[mode] = runs
        latency[mode] = sorted(times)[len(times) // 2] * 1000 if times else 0.0
    return results, {"qrels": qrels, "runs": runs_by_mode}, latency


def evaluate_naive(index: Index, questions: list[dict], k: int = 10) -> dict:
    from .naive import NaiveIndex, tutorial_embedder

    files = {d["doc_id"]: Path(d["source_file"]) for d in index.store.documents()
             if Path(d["source_file"]).suffix.lower() in (".md", ".txt", ".markdown")}
    naive = NaiveIndex.from_files(files, tutorial_embedder(index))
    units = {c.chunk_id: (c.doc_id, c.text) for c in naive.chunks}
    qrels = qrels_for(questions, units)
    results, runs_by_mode = {}, {}
    for mode in MODES:
        runs = {q["id"]: [c.chunk_id for c in naive.search(q["question"], k, mode)]
                for q in questions if q["id"] in qrels}
        results[f"naive-{mode}"] = report(qrels, runs, questions)
        runs_by_mode[f"naive-{mode}"] = runs
    return results, {"qrels": qrels, "runs": runs_by_mode}


# the targets, shown beside the intervals
TARGETS = {"hybrid R@5": ">= 0.85", "hybrid MRR@10": ">= 0.72", "hybrid - bm25 R@5": "> 0",
           "hybrid - dense R@5": "> 0", "hybrid - naive-hybrid R@5": "> 0",
           "provisions S@5": ">= 0.70"}


def question_intervals(questions: list[dict], details: dict, naive: dict | None = None
                       ) -> dict[str, dict[str, dict]]:
    """Hybrid R@5 and MRR@10 with their intervals, and hybrid's paired R@5 difference from
    BM25, dense and (with its details) the naive baseline, per split (eval/stats.py)."""
    from .stats import interval, paired

    qrels, runs = details["qrels"], details["runs"]
    rows: dict[str, dict[str, dict]] = defaultdict(dict)
    for split in SPLITS:
        ids = [q["id"] for q in questions if q["id"] in qrels and q.get("split", "dev") == split]
        if not ids or "hybrid" not in runs:
            continue
        hybrid = per_query(qrels, runs["hybrid"], ids, "hit_rate@5")
        rows["hybrid R@5"][split] = interval(hybrid).to_dict()
        rows["hybrid MRR@10"][split] = interval(
            per_query(qrels, runs["hybrid"], ids, "mrr@10")).to_dict()
        others = [(m, qrels, runs[m]) for m in ("bm25", "dense") if m in runs]
        if naive and "naive-hybrid" in naive["runs"]:
            others.append(("naive-hybrid", naive["qrels"], naive["runs"]["naive-hybrid"]))
        for name, their_qrels, their_runs in others:
            rows[f"hybrid - {name} R@5"][split] = paired(
                hybrid, per_query(their_qrels, their_runs, ids, "hit_rate@5")).to_dict()
    return dict(rows)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=EVAL_DIR, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(results: dict, users: tuple[str, ...] = ("overall", *USERS)) -> str:
    """Dev and test side by side: one row per system and user type, each metric as dev / test."""
    lines = ["| system | users | " + " | ".join(f"{m} dev / test" for m in METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    for system, by_split in results.items():
        for user in users:
            dev = by_split.get("dev", {}).get(user) or {}
            test = by_split.get("test", {}).get(user) or {}
            if dev or test:
                cells = [f"{_cell(dev, m)} / {_cell(test, m)}" for m in METRICS]
                lines.append(f"| {system} | {user} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(values: dict, metric: str) -> str:
    """A metric to three places, or "-" where the split has no question (`eval --select`)."""
    return f"{values[metric]:.3f}" if metric in values else "-"


def headline(by_split: dict, split: str = "test") -> dict:
    """The overall figures of one split (older history records have no splits)."""
    return by_split.get(split, {}).get("overall") or by_split.get("overall") or {}


def failures(questions: list[dict], details: dict, mode: str = "hybrid", k: int = 10) -> list:
    qrels, runs = details["qrels"], details["runs"][mode]
    out = []
    for q in questions:
        if q["id"] in qrels and not set(runs.get(q["id"], [])[:k]) & set(qrels[q["id"]]):
            out.append(q)
    return out


def append_history(record: dict) -> list[dict]:
    history = [json.loads(x) for x in HISTORY.read_text().splitlines()] if HISTORY.exists() else []
    history.append(record)
    HISTORY.write_text("".join(json.dumps(r) + "\n" for r in history))
    return history


def compare(previous: dict, current: dict, tolerance: float = 0.005) -> list[str]:
    lines = []
    for system, by_split in current["metrics"].items():
        before = headline(previous.get("metrics", {}).get(system, {}))
        for m, v in headline(by_split).items():
            if m in before:
                delta = v - before[m]
                flag = "  DROP" if delta < -tolerance else ""
                lines.append(f"{system:14} {m:8} {before[m]:.3f} -> {v:.3f} ({delta:+.3f}){flag}")
    return lines


def plot(history: list[dict], path: Path = PLOT) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = list(range(1, len(history) + 1))
    for system, metric in (("hybrid", "R@5"), ("hybrid", "MRR@10"), ("bm25", "R@5"),
                           ("dense", "R@5"), ("naive-hybrid", "R@5")):
        ys = [headline(r["metrics"].get(system, {})).get(metric) for r in history]
        if any(y is not None for y in ys):
            ax.plot(xs, ys, marker="o", label=f"{system} {metric}")
    ax.set_xticks(xs, [f"{r['date'][5:10]}\n{r['commit']}" for r in history], fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score")
    ax.set_title("ombuds retrieval quality over recorded runs (test split; before the split: all)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def selection(spec: str) -> set[str]:
    """The ids an `ombuds eval --select` names: "q801-q845,q851,s301-s330" (ranges within one
    prefix, bounds included). ValueError for a part that is not an id or a range."""
    ids: set[str] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        m = re.fullmatch(r"([a-z]+)(\d+)(?:-\1?(\d+))?", part)
        if not m:
            raise ValueError(f"'{part}' is not an id (q801) or a range of ids (q801-q845)")
        prefix, lo = m.group(1), m.group(2)
        hi = m.group(3) or lo
        width = len(lo)
        ids.update(f"{prefix}{n:0{width}d}" for n in range(int(lo), int(hi) + 1))
    return ids


def load_situations(path: Path = SITUATIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


# the rankings measured: the default (retrieval, citation graph and the articles' lay
# descriptions, keyed "graph" as in earlier records), without the descriptions, and plain
# retrieval over provisions
RANKINGS = (("graph", True, True), ("no_anchors", True, False), ("plain", False, False))


def evaluate_situations(index: Index, situations: list[dict], k: int = 20) -> dict:
    """`ombuds provisions` on every situation: S@5 (the share of situations with a gold article
    in the top 5, as R@5 is for questions), Recall@5 (the share of a situation's gold articles in
    the top 5), MRR@10 and nDCG@10 of gold (instrument, article) pairs, with the citation graph
    and with plain retrieval over provisions, per split. Gold articles missing from the corpus
    are left out. S@10 and S@20 say how deep the gold lies (what a reranker of the top 20 could
    reach), and "either" the share found in the top 5 of one ranking or the other: the ceiling
    of any rule that picks, per situation, between the graph and plain retrieval."""
    from index.provisions import graph, rank_provisions

    in_corpus = graph(index).articles
    qrels = {s["id"]: {f"{g['instrument']}|{g['article']}": 1 for g in s["gold"]
                       if (g["instrument"], g["article"]) in in_corpus} for s in situations}
    qrels = {i: gold for i, gold in qrels.items() if gold}
    from .stats import interval, paired

    runs = {name: {s["id"]: [f"{h.article.instrument}|{h.article.article}" for h in
                             rank_provisions(index, s["situation"], k=k, use_graph=use_graph,
                                             use_anchors=use_anchors)]
                   for s in situations if s["id"] in qrels}
            for name, use_graph, use_anchors in RANKINGS}
    out: dict = {"graph": {}, "no_anchors": {}, "plain": {}, "either": {}, "situations": {},
                 "intervals": {"provisions S@5": {}, "provisions default - plain S@5": {}}}
    for split in SPLITS:
        ids = [s["id"] for s in situations if s["id"] in qrels and s.get("split", "dev") == split]
        out["situations"][split] = len(ids)
        for name, run in runs.items():
            out[name][split] = provision_scores({i: qrels[i] for i in ids},
                                                {i: run[i] for i in ids})
        if ids:
            graph_hits = per_query(qrels, runs["graph"], ids, "hit_rate@5")
            plain_hits = per_query(qrels, runs["plain"], ids, "hit_rate@5")
            out["either"][split] = {"S@5": round(float(np.maximum(graph_hits, plain_hits).mean()),
                                                 4)}
            out["intervals"]["provisions S@5"][split] = interval(graph_hits).to_dict()
            out["intervals"]["provisions default - plain S@5"][split] = paired(
                graph_hits, plain_hits).to_dict()
    return out


def provision_scores(qrels: dict, runs: dict[str, list[str]]) -> dict:
    if not qrels:
        return {}
    values = evaluate(*_ranx(qrels, runs, list(qrels)),
                      ["hit_rate@5", "hit_rate@10", "hit_rate@20", "recall@5", "mrr@10",
                       "ndcg@10"], make_comparable=True)
    return {"S@5": round(float(values["hit_rate@5"]), 4),
            "S@10": round(float(values["hit_rate@10"]), 4),
            "S@20": round(float(values["hit_rate@20"]), 4),
            "R@5": round(float(values["recall@5"]), 4),
            "MRR@10": round(float(values["mrr@10"]), 4),
            "nDCG@10": round(float(values["ndcg@10"]), 4)}


def situations_table(results: dict) -> str:
    n = results["situations"]
    lines = [f"`ombuds provisions` on {n['dev']} dev / {n['test']} test situations "
             "(gold articles), dev / test:", "",
             "| ranking | S@5 | R@5 | MRR@10 | nDCG@10 | S@10 | S@20 |",
             "|---|---|---|---|---|---|---|"]
    for name, label in (("graph", "retrieval + citation graph + lay descriptions (default)"),
                        ("no_anchors", "retrieval + citation graph, without the descriptions"),
                        ("plain", "plain retrieval over provisions"),
                        ("either", "either one, whichever finds gold (a ceiling for choosing)")):
        dev, test = results[name].get("dev", {}), results[name].get("test", {})
        cells = [f"{_cell(dev, m)} / {_cell(test, m)}" if m in dev or m in test else "-"
                 for m in ("S@5", "R@5", "MRR@10", "nDCG@10", "S@10", "S@20")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluate_answers(index: Index, questions: list[dict]) -> dict:
    """`ombuds ask` on every question, per split: the share of answerable questions answered,
    of answered ones whose citations include gold evidence and whose first sentence holds it,
    of unanswerable questions correctly declined, and of answers whose every sentence is
    verbatim from a passage it cites."""
    from app.answer import answer_question

    rows = []
    for q in questions:
        a = answer_question(index, q["question"])
        # a sentence is verbatim from its cited passage, or from the passage's note it names
        by_n = {c.n: c for c in a.citations}
        row = {"split": q.get("split", "dev"), "user": q["user"], "answerable": q["answerable"],
               "answered": a.answered, "grounded": False, "first": False,
               # every answer sentence is a verbatim substring of a passage it cites
               "verbatim": all(any(n in by_n and s.text in quoted_from(by_n[n], s.note)
                                   for n in s.citations) for s in a.sentences)}
        if q["answerable"] and a.answered:
            cited = [c.text + "\n" + "\n".join(f["text"] for f in c.footnotes)
                     for c in a.citations]
            row["grounded"] = any(contains(e["quote"], t) for e in q["evidence"] for t in cited)
            first = a.sentences[0].text if a.sentences else ""
            row["first"] = any(quote_in_sentence(e["quote"], first) for e in q["evidence"])
        rows.append(row)
    out = {}
    for split in SPLITS:
        part = [r for r in rows if r["split"] == split]
        out[split] = answer_shares(part)
        # who is answered: the share of each user type's answerable questions
        out[split]["answered_by_user"] = {
            user: answer_shares([r for r in part if r["user"] == user])["answered_share"]
            for user in USERS}
    return out


def quoted_from(citation, note: str | None) -> str:
    """The text an answer sentence must be verbatim in: the cited passage's, or its note's."""
    if note is None:
        return citation.text
    return "\n".join(f["text"] for f in citation.footnotes if f["number"] == note)


def quote_in_sentence(quote: str, sentence: str) -> bool:
    """The sentence holds the gold: it contains the quote, or lies inside it."""
    q, s = normalise(quote), normalise(sentence)
    return bool(s) and (q in s or s in q or contains(quote, sentence))


def answer_shares(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in answerable if r["answered"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answers = [r for r in rows if r["answered"]]
    return {"answered_with_gold": round(sum(r["grounded"] for r in answered)
                                        / max(1, len(answered)), 4),
            "first_sentence_gold": round(sum(r["first"] for r in answered)
                                         / max(1, len(answered)), 4),
            "unanswerable_declined": round(sum(not r["answered"] for r in unanswerable)
                                           / max(1, len(unanswerable)), 4),
            "answered_share": round(len(answered) / max(1, len(answerable)), 4),
            "verbatim": round(sum(r.get("verbatim", True) for r in answers)
                              / max(1, len(answers)), 4),
            "answerable": len(answerable), "unanswerable": len(unanswerable)}


def answers_table(answers: dict) -> str:
    names = {"answered_share": "answerable questions answered",
             "answered_with_gold": "answered citing gold evidence",
             "first_sentence_gold": "answered whose first sentence holds the gold",
             "unanswerable_declined": "unanswerable questions declined",
             "verbatim": "answers whose every sentence is verbatim from its cited passage"}
    dev, test = answers["dev"], answers["test"]
    lines = [f"`ombuds ask` ({dev['answerable']}+{dev['unanswerable']} dev, "
             f"{test['answerable']}+{test['unanswerable']} test questions, answerable+not):", "",
             "| share | dev | test |", "|---|---|---|"]

    def share(split: dict, value: float) -> str:  # "-" for a split with no question
        return f"{value:.1%}" if split["answerable"] + split["unanswerable"] else "-"

    lines += [f"| {label} | {share(dev, dev[k])} | {share(test, test[k])} |"
              for k, label in names.items()]
    lines += [f"| {user}s' answerable questions answered | "
              f"{share(dev, dev['answered_by_user'][user])} | "
              f"{share(test, test['answered_by_user'][user])} |" for user in USERS]
    return "\n".join(lines)
