"""Searching over the Milvus backend (index/milvus.py): MilvusIndex, the Index whose dense,
sentence-unit and BM25 runs are Milvus searches, filtered inside Milvus."""

from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ingest.model import Passage

from .embed import configured_model
from .filters import DateError, Filters
from .fusion import pool_windows
from .lexical import LONG_QUERY_TERMS, Lexical, tokenize
from .milvus import (
    BM25_PARAMS,
    PASSAGES,
    UNIT_FIELDS,
    UNITS,
    WINDOWS,
    MilvusError,
    MilvusStore,
    _among,
    _group_units,
    _quote,
)
from .search import Index, IndexError_, _by_doc, _version, index_text


class MilvusIndex(Index):
    """Index (index/search.py) whose three runs are Milvus searches, filtered inside Milvus by
    an expression; fusion, near-duplicate collapsing, ask and provisions are Index's own."""

    store: MilvusStore
    # Windows and units read per passage wanted: the embedded index reads 3 and 4 (index/search.py)
    # and keeps each passage's best; Milvus Lite spends most of a search reading its hits, so a
    # first, smaller read is enough when it already holds `depth` passages (it then has the same
    # best `depth` as the larger one): 100 passages took at most 146 windows and 292 units over
    # 40 eval questions
    window_hits = (1.6, 3)
    unit_hits = (3, 4)

    def __init__(self, store: MilvusStore, embedder_name: str, docs: dict[str, dict] | None = None,
                 passages: list[Passage] | None = None, generation: int | None = None) -> None:
        # Index reads the documents and passages inside store.snapshot(), which pins the
        # documents rows: they, the passages and every search see one set of versions
        super().__init__(store, embedder_name, docs, passages, generation)
        weakref.finalize(self, store.close)  # an index replaced by a reload lets its client go
        self._units: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._last: list[str] = []  # the passages of the last search, whose units ask reads
        self._lexical_df: Lexical | None = None
        # threads start on first use; an index replaced by a reload lets them go
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="ombuds-milvus")
        weakref.finalize(self, self._pool.shutdown, wait=False)

    @classmethod
    def open(cls, uri: str, token: str | None = None, data_dir: Path | None = None,
             model: str | None = None) -> MilvusIndex:
        store = MilvusStore(uri, token, data_dir)
        try:
            name = store.check_model(configured_model(model, store.get_meta("model")))
        except MilvusError:
            store.close()
            raise
        return cls(store, name)

    def fresh_store(self) -> MilvusStore:
        """Another connection to this index's Milvus (LiveIndex reads generations with one and
        builds each reloaded index on one of its own)."""
        return MilvusStore(self.store.uri, self.store.token, self.store.data_dir)

    @classmethod
    def updated(cls, previous: Index, store: MilvusStore) -> MilvusIndex:
        """As Index.updated: the index of the store as it is now (its generation and documents
        rows read, pinned, first), reusing `previous`'s passages of unchanged documents; only
        changed and new documents' passages are read. Vectors, units and BM25 stay in Milvus,
        so nothing else is rebuilt."""
        with store.snapshot():
            name = store.check_model(previous.model_name)
            generation = store.generation
            docs = {d["doc_id"]: d for d in store.documents()}
            before = _by_doc(previous.passages)
            passages: list[Passage] = []
            for doc_id, doc in docs.items():
                if _version(previous.docs.get(doc_id)) == _version(doc):
                    passages += before.get(doc_id, [])
                else:
                    passages += store.passages(doc_id)
        index = cls(store, name, docs, passages, generation)
        index._embedder, index._query_vectors = previous._embedder, previous._query_vectors
        return index

    def passage_tokens(self) -> dict[str, list[str]]:
        """Nothing kept: an incremental reload of a Milvus index needs no BM25 tokens (Milvus
        holds them), so the app's warm-up call costs nothing here."""
        return {}

    @property
    def lexical(self) -> Lexical:
        """Document frequencies for ask's coverage check (app/answer.py reads them from a
        bm25s index; Milvus does not expose them): built here on first use."""
        if self._lexical_df is None:
            self._lexical_df = Lexical.build([index_text(p, self.docs[p.doc_id])
                                              for p in self.passages])
        return self._lexical_df

    def mask(self, f: Filters) -> str:
        """The filters as a Milvus expression, with the visible versions."""
        parts = [self.store.visible()]
        docs = set(f.doc) if f.doc else None
        if f.kind or f.jurisdiction:
            docs = {d for d in (docs if docs is not None else self.docs)
                    if (not f.kind or self.docs.get(d, {}).get("kind") in f.kind)
                    and (not f.jurisdiction
                         or (self.docs.get(d, {}).get("jurisdiction") or "") in f.jurisdiction)}
        if f.language:
            docs = {d for d in (docs if docs is not None else self.docs)
                    if (self.docs.get(d, {}).get("language") or "en") in f.language}
        if docs is not None:
            parts.append(_among("doc_id", sorted(docs)))
        if f.passage_type:
            parts.append(_among("passage_type", f.passage_type))
        try:
            lo, hi = f.date_bounds()
        except DateError as e:
            raise IndexError_(str(e)) from None
        if lo is not None or hi is not None:
            parts.append("date_lo > 0")
            if lo is not None:
                parts.append(f"date_hi >= {lo}")
            if hi is not None:
                parts.append(f"date_lo <= {hi}")
        return " and ".join(parts)

    def _search(self, name: str, data, field: str, limit: int, expr: str
                ) -> list[tuple[str, float]]:
        found = self.store.client.search(name, data=[data], anns_field=field, limit=limit,
                                         filter=expr, output_fields=["key"],
                                         consistency_level=self.store.search_consistency)
        # BM25 "distances" are negated scores on Milvus Lite and scores on a server
        return [(hit["key"], abs(hit["distance"]) if field == "sparse" else hit["distance"])
                for hit in found[0]]

    def _dense(self, query: str, depth: int, mask: str) -> list[tuple[str, float]]:
        """Passages by their best window."""
        return self._best(WINDOWS, query, depth, mask, self.window_hits)

    def _dense_units(self, query: str, depth: int, mask: str) -> list[tuple[str, float]]:
        """Passages by their best sentence unit."""
        return self._best(UNITS, query, depth, mask, self.unit_hits)

    def _best(self, name: str, query: str, depth: int, mask: str,
              hits: tuple[float, float]) -> list[tuple[str, float]]:
        first, full = int(depth * hits[0]), int(depth * hits[1])
        runs = []
        for vector in self.query_vectors(query):  # one per window of a long query
            q = vector.tolist()
            found = self._search(name, q, "vector", first, mask)
            best = _best_per_passage(found, depth)
            if len(best) < depth and len(found) == first:  # too few passages yet: read as many
                best = _best_per_passage(self._search(name, q, "vector", full, mask), depth)
            runs.append(best)
        return pool_windows(runs, depth)

    def _lexical(self, query: str, depth: int, mask: str) -> list[tuple[str, float]]:
        tokens = tokenize(query)
        if not tokens:
            return []
        if len(set(tokens)) > LONG_QUERY_TERMS:  # as Lexical.search: the most specific terms
            vocab = self.lexical.model.vocab_dict if self.lexical.model is not None else {}
            tokens = [t for t in tokens if t in vocab]
            if len(set(tokens)) > LONG_QUERY_TERMS:
                tokens = sorted(set(tokens), key=lambda t: (-self.lexical.idf(t), t)
                                )[:LONG_QUERY_TERMS]
            if not tokens:
                return []
        found = self._search(PASSAGES, " ".join(tokens), "sparse", depth, mask)
        # Milvus' BM25 has (k1 + 1) in the numerator, bm25s' Lucene variant does not
        scale = 1 + BM25_PARAMS["bm25_k1"]
        return [(key.split("@")[0], s / scale) for key, s in found if s > 0]

    def _runs(self, searches: list, queries: list[str], depth: int, mask: str
              ) -> list[list[tuple[str, float]]]:
        """The runs at once: each is a round trip that mostly waits on Milvus."""
        if len(searches) < 2:
            return super()._runs(searches, queries, depth, mask)
        for search, q in zip(searches, queries, strict=True):
            if search != self._lexical:
                self.query_vectors(q)  # embedded once, before the threads read it
        futures = [self._pool.submit(search, q, depth, mask)
                   for search, q in zip(searches, queries, strict=True)]
        return [f.result() for f in futures]

    def search(self, query: str, k: int = 10, mode: str = "hybrid",
               filters: Filters | None = None, dense_query: str | None = None,
               descriptions: bool = True):
        hits = super().search(query, k, mode, filters, dense_query, descriptions)
        self._last = [h.passage.passage_id for h in hits]
        return hits

    def passage_units(self, passage_id: str) -> tuple[np.ndarray, np.ndarray]:
        """A passage's unit spans and vectors; the first call after a search reads those of
        all its hits in one query (ask reads several)."""
        if passage_id not in self._units:
            if len(self._units) > 5000:
                self._units.clear()
            wanted = [passage_id] + [p for p in self._last
                                     if p not in self._units and p != passage_id]
            keys = [f"{p}@{self.store._rows()[self.passage(p).doc_id]['version']}"
                    for p in wanted]
            found = _group_units(self.store._query(UNITS, f"passage_key in {_quote(keys)}",
                                                   UNIT_FIELDS))
            dim = int(self.store.get_meta("model_dim") or 0)
            for pid in wanted:
                uv = found.get(pid)
                if uv is None:
                    self._units[pid] = (np.zeros((0, 2), dtype=np.int32),
                                        np.zeros((0, dim), dtype=np.float32))
                else:
                    self._units[pid] = (np.array([(u.start, u.end) for u in uv.units],
                                                 dtype=np.int32).reshape(-1, 2), uv.vectors)
        return self._units[passage_id]

    def hybrid_milvus(self, query: str, k: int, ranker: str, filters: Filters | None = None,
                      weights: tuple[float, float] = (0.5, 0.5)) -> list[str]:
        """Passage ids ranked by Milvus' own fusion (RRFRanker or WeightedRanker) of the passage
        vector and BM25 in one hybrid_search, for eval/bench.py to measure against min-max
        CombSUM (sentence units are another collection, outside Milvus' fusion)."""
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        expr = self.mask(filters or Filters())
        depth = max(100, 3 * k)
        reqs = [AnnSearchRequest([self.query_vector(query).tolist()], "vector", {}, depth,
                                 expr=expr)]
        tokens = tokenize(query)
        if tokens:
            reqs.append(AnnSearchRequest([" ".join(tokens)], "sparse", {}, depth, expr=expr))
        rank = RRFRanker() if ranker == "rrf" else WeightedRanker(*weights[: len(reqs)])
        found = self.store.client.hybrid_search(PASSAGES, reqs, rank, limit=k,
                                                output_fields=["key"])
        return [hit["key"].split("@")[0] for hit in found[0]]


def _best_per_passage(found: list[tuple[str, float]], depth: int) -> list[tuple[str, float]]:
    """(row key, score) hits, best first -> each passage's best score, best first."""
    best: dict[str, float] = {}
    for key, score in found:
        best.setdefault(key.split("@")[0], score)
    return sorted(best.items(), key=lambda item: -item[1])[:depth]
