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
code (its articles numbered otherwise) gets none.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embed import cache_dir

ANCHORS_PATH = Path(__file__).resolve().parent / "article_anchors.jsonl"


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


def load_descriptions(path: Path = ANCHORS_PATH) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def anchors_for(index, articles: dict[tuple[str, str], str], path: Path = ANCHORS_PATH
                ) -> Anchors:
    """The descriptions of `articles` ((instrument, article) -> the document holding it: those
    the index holds), embedded with the index's model: read from the cache when this model
    embedded this file before (about 2 s otherwise)."""
    if not path.exists():
        return Anchors([], np.zeros((0, 0), dtype=np.float32))
    raw = path.read_bytes()
    rows = load_descriptions(path)
    identity = index.embedder.identity
    digest = hashlib.sha256(identity.encode() + b"\n" + raw).hexdigest()[:16]
    cached = cache_dir() / "anchors" / f"{digest}.npy"
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
