"""The naive baseline, as a user would build it from a RAG tutorial, measured beside ombuds.

Each file's raw text is cut into fixed 1000-character chunks with 200 characters of overlap
(langchain's RecursiveCharacterTextSplitter), embedded with the same model (untuned: a tutorial
has no tuning, so the default's plain all-MiniLM-L6-v2) into a flat FAISS
index, and searched with rank_bm25's BM25Okapi on whitespace tokens; hybrid fuses the two with
the same min-max fusion as ombuds. No structure, no footnotes, no filters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter
from rank_bm25 import BM25Okapi

from index.embed import Embedder, get_embedder, split_model
from index.fusion import minmax_fusion
from index.tuned import BASE_MODEL, TUNED_MODEL

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200


@dataclass
class Chunk:
    chunk_id: str
    doc_id: str
    text: str


def tutorial_embedder(index) -> Embedder:
    """The model a tutorial would embed with: the index's own, but plain when that is the tuned
    default (index/tuned.py), so the baseline does not borrow ombuds' tuning."""
    name, backend = split_model(index.model_name)
    if name == TUNED_MODEL:
        return get_embedder(f"{BASE_MODEL}@{backend}" if backend else BASE_MODEL)
    return index.embedder


class NaiveIndex:
    def __init__(self, chunks: list[Chunk], embedder: Embedder) -> None:
        self.chunks = chunks
        self.embedder = embedder
        t0 = time.perf_counter()
        vectors = embedder.encode([c.text for c in chunks])
        self.embed_seconds = time.perf_counter() - t0
        self.flat = faiss.IndexFlatIP(vectors.shape[1])
        self.flat.add(vectors)
        self.bm25 = BM25Okapi([c.text.lower().split() for c in chunks])

    @classmethod
    def from_files(cls, files: dict[str, Path], embedder: Embedder) -> NaiveIndex:
        """files: doc_id -> path of the raw file (Markdown, text; front matter and all)."""
        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE,
                                                  chunk_overlap=CHUNK_OVERLAP)
        chunks = []
        for doc_id, path in files.items():
            for i, text in enumerate(splitter.split_text(path.read_text(encoding="utf-8"))):
                chunks.append(Chunk(f"{doc_id}#{i}", doc_id, text))
        return cls(chunks, embedder)

    def search(self, query: str, k: int = 10, mode: str = "hybrid") -> list[Chunk]:
        runs = []
        if mode in ("dense", "hybrid"):
            q = self.embedder.encode([query])
            scores, rows = self.flat.search(q, 100)
            runs.append([(self.chunks[r].chunk_id, float(s))
                         for r, s in zip(rows[0], scores[0], strict=True) if r >= 0])
        if mode in ("bm25", "hybrid"):
            scores = self.bm25.get_scores(query.lower().split())
            top = np.argsort(-scores)[:100]
            runs.append([(self.chunks[r].chunk_id, float(scores[r])) for r in top])
        ranked = minmax_fusion(runs) if mode == "hybrid" else runs[0]
        by_id = {c.chunk_id: c for c in self.chunks}
        return [by_id[cid] for cid, _ in ranked[:k]]
