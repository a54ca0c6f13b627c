"""The FAISS vector index: exact inner product for small collections, IVF past a threshold.

Row i of the index is passage i of the index's id list. Filters are applied inside the search:
a small allowed set is scored exactly against the stored vectors; a large one is passed to
FAISS as an ID selector, so a filtered search returns k hits whenever k passages match.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

# Exact search costs ~15 ms at 100k vectors and ~175 ms at 1M on two cores: past this size the
# index switches to an inverted file (IVF), whose recall@10 against exact search is measured by
# `ombuds bench`. IVF rather than HNSW: HNSW took 108 s to build 100k vectors on this machine
# (about 20 min for 1M), IVF trains in seconds and adds 1M vectors in under a minute.
APPROXIMATE_FROM = 200_000
IVF_TRAIN_PER_LIST = 64
IVF_NPROBE = 24
EXACT_SUBSET_MAX = 50_000  # filtered searches over at most this many passages are exact
PQ_CODES = 48  # sub-quantisers of the compact (sentence unit) index: 8 dimensions each


class Vectors:
    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "flat"

    @classmethod
    def build(cls, matrix: np.ndarray, approximate: bool | None = None,
              compact: bool = False) -> Vectors:
        """An index of the rows of matrix: exact below APPROXIMATE_FROM rows, else an inverted
        file (compact: product-quantised, for the ~5 sentence units per passage)."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        vectors = cls.trained(matrix, len(matrix), approximate, compact)
        vectors.add(matrix)
        return vectors

    @classmethod
    def trained(cls, sample: np.ndarray, n: int, approximate: bool | None = None,
                compact: bool = False) -> Vectors:
        """An empty index for n vectors like sample (trained on it when approximate); filled
        with add(), block by block when the vectors do not fit in memory at once."""
        sample = np.ascontiguousarray(sample, dtype=np.float32)
        dim = sample.shape[1]
        if approximate is None:
            approximate = n >= APPROXIMATE_FROM
        if not (approximate and n >= 1000):
            return cls(faiss.IndexFlatIP(dim))
        nlist = max(16, int(np.sqrt(n)))
        quantizer = faiss.IndexFlatIP(dim)
        if compact:
            # 48 bytes a vector instead of 768 (fp16): 5M sentence units in 0.3 GB; a unit only
            # has to bring its passage into the candidates, which fusion then re-scores
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, PQ_CODES, 8,
                                     faiss.METRIC_INNER_PRODUCT)
        else:
            # vectors kept as float16: half the memory (1M x 384 dims: 0.77 GB instead of 1.5)
            # for scores that differ in the fourth decimal
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist,
                                                  faiss.ScalarQuantizer.QT_fp16,
                                                  faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        per_list = IVF_TRAIN_PER_LIST * (4 if compact else 1)  # PQ needs more to train
        take = rng.choice(len(sample), min(len(sample), nlist * per_list), replace=False)
        index.train(sample[np.sort(take)])
        index.nprobe = IVF_NPROBE
        return cls(index)

    def add(self, block: np.ndarray) -> None:
        if len(block):
            self.index.add(np.ascontiguousarray(block, dtype=np.float32))

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> Vectors:
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexIVF):
            index.nprobe = IVF_NPROBE
        return cls(index)

    def rows(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Stored vectors (all, or the given rows); a view without copying for the flat index."""
        n, d = self.size, self.index.d
        if n == 0:
            return np.zeros((0, d), dtype=np.float32)
        if isinstance(self.index, faiss.IndexIVF):
            self.index.make_direct_map()
            ids = np.arange(n) if rows is None else rows
            return self.index.reconstruct_batch(ids.astype(np.int64))
        flat = faiss.rev_swig_ptr(self.index.get_xb(), n * d).reshape(n, d)
        return flat if rows is None else flat[rows]

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
                scores = self.rows(allowed) @ q[0]
                k = min(k, len(allowed))
                top = np.argpartition(-scores, k - 1)[:k]
                top = top[np.argsort(-scores[top], kind="stable")]
                return [(int(allowed[i]), float(scores[i])) for i in top]
            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            params = (faiss.SearchParametersIVF(sel=selector, nprobe=IVF_NPROBE * 2)
                      if self.kind == "ivf" else faiss.SearchParameters(sel=selector))
            scores, rows = self.index.search(q, min(k, len(allowed)), params=params)
        else:
            scores, rows = self.index.search(q, min(k, self.size))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
