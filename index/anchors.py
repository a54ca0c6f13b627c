"""Lay descriptions of the articles of the legal texts in ../shared/corpus, as anchor text for
`ombuds provisions`: a story in a layperson's words ("they called me back four days into my
holiday") is nearer a description written in such words than the article's own terms ("recall
from a paid annual leave"), which the model does not bridge.

index/article_anchors.jsonl holds 1,223 descriptions of 609 articles (one to three each,
15-45 words): written, before any was run through ombuds, by sessions that read each article and
nothing else (not eval/), to say in everyday words a situation the article answers. Articles no
one's situation engages (entry into force, ratification, committees' procedure) have none. A
document ombuds has no descriptions for is ranked as before, by retrieval and the citation
graph. Each description names its article by the instrument registry's id, the document it was
written from and the article number, and applies only to that document: another version of a
code (its articles numbered otherwise) gets none. A collection adds its own, for the codes it
ingests, in the same format in `article_anchors.jsonl` in its data dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embed import cache_dir

ANCHORS_PATH = Path(__file__).resolve().parent / "article_anchors.jsonl"
USER_FILE = "article_anchors.jsonl"  # a collection's own descriptions, in its data dir


@dataclass
class Anchors:
    """The descriptions of the articles an index holds, embedded by its model."""

    keys: list[tuple[str, str]]  # (instrument, article) per description
    vectors: np.ndarray  # one normalised row per description

    def __post_init__(self) -> None:
        self.articles = list(dict.fromkeys(self.keys))  # each described article once
        where = {key: i for i, key in enumerate(self.articles)}
        self._article_of = np.array([where[key] for key in self.keys], dtype=np.int64)

    def best(self, query_vector: np.ndarray) -> dict[tuple[str, str], float]:
        """Each described article's best cosine with the query."""
        if not self.keys:
            return {}
        best = np.full(len(self.articles), -np.inf, dtype=np.float32)
        np.maximum.at(best, self._article_of, self.vectors @ query_vector)
        return dict(zip(self.articles, best.tolist(), strict=True))


FIELDS = ("instrument", "doc_id", "article", "text")


def scaled(best: dict[tuple[str, str], float], depth: int) -> dict[tuple[str, str], float]:
    """Articles' best cosines min-max scaled from the depth-th best (0) to the best (1); those
    at or below the depth-th are left out."""
    if not best:
        return {}
    values = sorted(best.values(), reverse=True)
    hi, lo = values[0], values[min(depth, len(values)) - 1]
    if hi <= lo:
        return {key: 1.0 for key, v in best.items() if v >= hi}
    return {key: (v - lo) / (hi - lo) for key, v in best.items() if v > lo}


def load_descriptions(path: Path = ANCHORS_PATH) -> list[dict]:
    """The descriptions in a file; a line that is not one gets one line on stderr naming the
    file, the line and why, and is skipped (the others still count)."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row, why = None, "not JSON"
        else:
            missing = [f for f in FIELDS if not (isinstance(row, dict)
                                                and isinstance(row.get(f), str) and row[f])]
            why = f"no {', '.join(missing)}" if missing else ""
        if why:
            print(f"{path}:{n}: not an article description ({why}); skipped", file=sys.stderr)
            continue
        rows.append({f: row[f].strip() for f in FIELDS})
    return rows


def description_files(data_dir: Path | None) -> list[Path]:
    """The shipped descriptions, then a collection's own (USER_FILE in its data dir), if any."""
    own = Path(data_dir) / USER_FILE if data_dir is not None else None
    return [ANCHORS_PATH] + ([own] if own is not None and own.is_file() else [])


def anchors_for(index, articles: dict[tuple[str, str], str],
                paths: list[Path] | None = None) -> Anchors:
    """The descriptions of `articles` ((instrument, article) -> the document holding it: those
    the index holds) in the shipped file and the data dir's own, embedded with the index's
    model: read from the cache when this model embedded these files before (about 2 s
    otherwise)."""
    if paths is None:
        paths = description_files(getattr(index.store, "data_dir", None))
    paths = [p for p in paths if p.is_file()]
    rows = [row for p in paths for row in load_descriptions(p)]
    if not rows:
        return Anchors([], np.zeros((0, 0), dtype=np.float32))
    key = hashlib.sha256(index.embedder.identity.encode())
    for row in rows:
        key.update(("\n" + row["text"]).encode())
    cached = cache_dir() / "anchors" / f"{key.hexdigest()[:16]}.npy"
    vectors = None
    if cached.exists():
        try:
            vectors = np.load(cached)
        except (OSError, ValueError):
            vectors = None
    if vectors is None or len(vectors) != len(rows):
        vectors = index.embedder.encode([r["text"] for r in rows]).astype(np.float32)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.npy")
            np.save(tmp, vectors)
            os.replace(tmp, cached)
        except OSError:  # a read-only cache: embed again next time
            pass
    keep = [i for i, r in enumerate(rows)
            if articles.get((r["instrument"], r["article"])) == r["doc_id"]]
    return Anchors([(rows[i]["instrument"], rows[i]["article"]) for i in keep], vectors[keep])
