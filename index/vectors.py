"""The FAISS vector index: exact inner product for small collections, HNSW past a threshold.

Row i of the index is passage i of the index's id list. Filters are applied inside the search:
a small allowed set is scored exactly against the stored vectors; a large one is passed to
FAISS as an ID selector, so a filtered search returns k hits whenever k passages match.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

# Exact search costs ~15 ms at 100k vectors and ~175 ms at 1M on two cores: past this size the
# index switches to HNSW, whose recall@10 against exact search is measured by `ombuds bench`.
APPROXIMATE_FROM = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
EXACT_SUBSET_MAX = 50_000  # filtered searches over at most this many passages are exact


class Vectors:
    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        return "hnsw" if isinstance(self.index, faiss.IndexHNSW) else "flat"

    @classmethod
    def build(cls, matrix: np.ndarray, approximate: bool | None = None) -> Vectors:
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        dim = matrix.shape[1]
        if approximate is None:
            approximate = len(matrix) >= APPROXIMATE_FROM
        if approximate:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(dim)
        if len(matrix):
            index.add(matrix)
        return cls(index)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> Vectors:
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index)

    def matrix(self) -> np.ndarray:
        """The stored vectors, as a view without copying."""
        flat = self.index.storage if isinstance(self.index, faiss.IndexHNSW) else self.index
        flat = faiss.downcast_index(flat)
        n, d = self.size, self.index.d
        if n == 0:
            return np.zeros((0, d), dtype=np.float32)
        return faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> list[tuple[int, float]]:
        """(row, score) of the k nearest rows; allowed = row numbers a filter lets through."""
        if self.size == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if allowed is not None:
            if len(allowed) == 0:
                return []
            if len(allowed) <= EXACT_SUBSET_MAX:
                scores = self.matrix()[allowed] @ q[0]
                k = min(k, len(allowed))
                top = np.argpartition(-scores, k - 1)[:k]
                top = top[np.argsort(-scores[top], kind="stable")]
                return [(int(allowed[i]), float(scores[i])) for i in top]
            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            params = (faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
                      if self.kind == "hnsw" else faiss.SearchParameters(sel=selector))
            scores, rows = self.index.search(q, min(k, len(allowed)), params=params)
        else:
            scores, rows = self.index.search(q, min(k, self.size))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
