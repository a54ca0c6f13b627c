"""Hybrid retrieval over the passage store: FAISS + BM25, fused, filtered, cited.

The SQLite store is the source of truth (passages and their embeddings, written in one
transaction per document). The FAISS and BM25 files under data/index/ are derived from it and
stamped with the store's generation; `Index.open` rebuilds them from stored embeddings (no model
work) whenever the stamp does not match, so a process killed at any moment leaves an index that
opens and answers with either the previous state or the new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ingest.language import is_cyrillic
from ingest.model import Passage

from .adapter import QueryAdapter, adapter_for
from .anchors import Anchors, anchors_for, scaled
from .citation import citation
from .embed import Embedder, averaged, configured_model, get_embedder, same_model, stored_model
from .filters import DateError, Filters, date_span
from .fusion import collapse_near_duplicates, minmax_fusion, pool_windows, reciprocal_rank_fusion
from .lexical import TOKENIZER_VERSION, Lexical, tokenize
from .store import Store, _pause_for_tests
from .units import UNITS_VERSION
from .vectors import Vectors

MODES = ("hybrid", "dense", "bm25")
# measured by `ombuds eval` beside the default fusion: RRF, and hybrid without sentence units
EXTRA_MODES = ("hybrid-rrf", "hybrid-passages")
CANDIDATES = 100  # per-mode depth fused
# Hybrid fuses three runs (min-max CombSUM): passage vectors, sentence units (a passage scored
# by its best sentence or footnote) and BM25. Weights chosen on the dev split (README).
W_PASSAGE, W_UNIT, W_BM25 = 1.0, 0.5, 1.0
# The articles' lay descriptions (index/anchors.py) in hybrid search: each described article's
# best description cosine, min-max scaled from the DESCRIPTION_DEPTH-th best to the best, times
# W_DESCRIPTION, added to the fused score of the article's best-ranked passage (its first
# passage when none was retrieved and the search is unfiltered). Chosen on the dev questions
# with the plain model and no adapter, which never saw them (R@5 0.845 -> 0.864 / 0.868 at
# 0.25 / 0.5, MRR@10 0.712 -> 0.734 / 0.741; lawyers R@5 0.783 -> 0.817 / 0.833), and with the
# tuned model, which did (R@5 0.937 -> 0.946 / 0.943, MRR@10 0.812 -> 0.821 / 0.825).
W_DESCRIPTION = 0.5
DESCRIPTION_DEPTH = 80
# The default embedding model is English-only: it places a Russian query near Russian passages
# by shared subword noise, not by meaning. For a Cyrillic query the hybrid run is BM25 alone
# (which stems Russian), and the dense run is used only when BM25 finds nothing.
ENGLISH_ONLY_NOTE = ("the embedding model is English-only: passages and queries in other "
                     "languages are matched by their words (BM25), not by meaning")
MULTILINGUAL = re.compile(r"multilingual|labse|bge-m3|xlm|\bm?e5\b", re.IGNORECASE)


def english_only(model_name: str) -> bool:
    """Whether an embedding model knows English only (all-MiniLM-L6-v2, the default, does);
    a configured multilingual model ("paraphrase-multilingual-MiniLM-L12-v2") is trusted."""
    return not MULTILINGUAL.search(model_name)


class IndexError_(Exception):
    """The index cannot be used as asked (e.g. built with another model)."""


@dataclass
class Hit:
    rank: int
    score: float
    passage: Passage
    doc_title: str
    short_title: str
    citation: str

    def to_dict(self) -> dict:
        p = asdict(self.passage)
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "passage_id": p.pop("passage_id"),
            "doc_id": p.pop("doc_id"),
            "doc_title": self.doc_title,
            "citation": self.citation,
            **p,
        }


# --- the index -----------------------------------------------------------------------------


def index_text(p: Passage, doc: dict) -> str:
    """What is embedded and BM25-indexed: the passage with its context (document, section,
    attribution, footnotes), so "testimonies from the Big Shanghai market" finds a quotation
    whose place is only in its source note."""
    head = doc["title"] if p.passage_type == "provision" else doc["short_title"]
    if p.passage_type == "provision" and doc["short_title"] != doc["title"]:
        head += f" ({doc['short_title']})"
    context = " > ".join(p.section[-2:])
    extra = [x for x in (p.speaker, p.place, p.date, p.addressee) if x]
    notes = " ".join(f.text for f in p.footnotes if f.number != "amendments")
    return "\n".join(x for x in (f"{head} | {context}", p.text, " | ".join(extra), notes) if x)


class Index:
    def __init__(self, store: Store, embedder_name: str, docs: dict[str, dict] | None = None,
                 passages: list[Passage] | None = None, generation: int | None = None) -> None:
        """The documents and passages given (by `updated`), else read from the store."""
        self.store = store
        self.model_name = embedder_name
        self._embedder: Embedder | None = None
        self._query_vectors: dict[str | tuple[str, str], np.ndarray] = {}  # see model_vector
        self._tokens: dict[str, list[str]] | None = None  # BM25 tokens by passage id, if kept
        self._descriptions: Anchors | None = None  # the articles' lay descriptions, when read
        self._article_rows: dict[tuple[str, str], list[int]] = {}  # provision rows by article
        if passages is None:
            with store.snapshot():  # the generation stamps exactly the passages read with it
                generation = store.generation
                docs = {d["doc_id"]: d for d in store.documents()}
                passages = list(store.passages())
        self.generation: int = generation or 0
        self.docs: dict[str, dict] = docs or {}
        self.passages: list[Passage] = passages
        self.ids = [p.passage_id for p in self.passages]
        self.row = {pid: i for i, pid in enumerate(self.ids)}
        self.vectors: Vectors
        self.lexical: Lexical
        self.units: Vectors  # one row per sentence unit (index/units.py)
        self.unit_row: np.ndarray  # unit -> passage row
        self.unit_span: np.ndarray  # unit -> (start, end) in the passage text; (-1, -1): a note
        self._columns()

    # opening and building

    @classmethod
    def open(cls, data_dir: Path | None = None, model: str | None = None) -> Index:
        store = Store(data_dir)
        name = check_model(store, configured_model(model, store.get_meta("model")))
        index = cls(store, name)
        index._load_or_build()
        return index

    def fresh_store(self) -> Store:
        """Another connection to this index's store (LiveIndex reads generations with one and
        builds each reloaded index on one of its own); MilvusIndex opens one to Milvus."""
        return Store(self.store.data_dir)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.model_name)
        return self._embedder

    def _columns(self) -> None:
        docs = self.docs
        self.col_doc = np.array([p.doc_id for p in self.passages], dtype=object)
        self.col_kind = np.array([docs[p.doc_id]["kind"] for p in self.passages], dtype=object)
        self.col_jur = np.array([docs[p.doc_id]["jurisdiction"] or "" for p in self.passages],
                                dtype=object)
        self.col_type = np.array([p.passage_type for p in self.passages], dtype=object)
        self.col_lang = np.array([docs[p.doc_id]["language"] or "en" for p in self.passages],
                                 dtype=object)
        spans = [date_span(p.date) or date_span(docs[p.doc_id]["date"]) or (0, 0)
                 for p in self.passages]
        self.col_date_lo = np.array([s[0] for s in spans], dtype=np.int64)
        self.col_date_hi = np.array([s[1] for s in spans], dtype=np.int64)

    def _load_or_build(self) -> None:
        folder = index_dir(self.store)
        current = _read_current(folder)
        generation = self.generation
        self._renew_units()
        if (current and current["generation"] == generation and current["ids"] == len(self.ids)
                and current.get("tokenizer") == TOKENIZER_VERSION
                and current.get("units") == UNITS_VERSION):
            path = folder / current["dir"]
            try:
                ids = json.loads((path / "ids.json").read_text())
                if ids == self.ids:
                    self.vectors = Vectors.load(path / "vectors.faiss")
                    self.window_row = np.load(path / "window_row.npy")
                    self.lexical = Lexical.load(path / "bm25", len(ids))
                    self.units = Vectors.load(path / "units.faiss")
                    self.unit_row = np.load(path / "unit_row.npy")
                    self.unit_span = np.load(path / "unit_span.npy")
                    self._unit_offsets()
                    return
            except (OSError, ValueError, RuntimeError):
                pass  # a damaged or partial index: rebuild it from the store below
        self._build()
        try:
            self._save(folder, generation)
        except OSError:
            pass  # a read-only data dir still answers, from the in-memory index

    def _renew_units(self) -> None:
        """Units stored by an earlier version of index/units.py are dropped, to be embedded
        again by _build_units (a read-only store keeps and uses them)."""
        if self.store.get_meta("units_version") == UNITS_VERSION:
            return
        try:
            self.store.clear_units(UNITS_VERSION)
        except sqlite3.OperationalError:
            pass

    def _build(self) -> None:
        stored = self.store.vectors()
        missing = [p for p in self.passages if p.passage_id not in stored]
        if missing:  # e.g. passages ingested before embeddings existed
            vecs = self.embedder.encode_passages(
                [index_text(p, self.docs[p.doc_id]) for p in missing])
            stored.update(zip([p.passage_id for p in missing], vecs, strict=True))
        dim = next(iter(stored.values())).shape[-1] if stored else 384
        blocks = [stored[pid].reshape(-1, dim) for pid in self.ids]
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
        self.window_row = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
        self.vectors = Vectors.build(matrix)
        self.lexical = Lexical.build([index_text(p, self.docs[p.doc_id]) for p in self.passages])
        self._build_units(dim)

    def _build_units(self, dim: int, known: dict[str, tuple[np.ndarray, np.ndarray]]
                     | None = None, doc_ids: set[str] | None = None) -> None:
        """The sentence-unit index: (spans, vectors) per passage from `known` (kept from a
        previous index), else from the store (all documents, or those in doc_ids); a store
        from before sentence units gets them embedded once, and kept."""
        found = dict(known or {})
        for doc_id in (sorted(doc_ids) if doc_ids is not None else [None]):
            for pid, uv in self.store.unit_vectors(doc_id).items():
                found[pid] = (np.array([(u.start, u.end) for u in uv.units],
                                       dtype=np.int32).reshape(-1, 2), uv.vectors)
        missing = [p for p in self.passages if p.passage_id not in found]
        if missing:
            from .update import embed_units

            print(f"embedding the sentence units of {len(missing)} passages (once)",
                  file=sys.stderr)
            documents = _by_doc(self.passages)  # a list continued across passages: all of them
            for doc_id, passages in _by_doc(missing).items():
                fresh = embed_units(self.embedder, passages, self.docs[doc_id], documents[doc_id])
                self.store.add_units(fresh)
                for pid, uv in fresh.items():  # as stored (float16), so a reopen is equal
                    found[pid] = (np.array([(u.start, u.end) for u in uv.units],
                                           dtype=np.int32).reshape(-1, 2),
                                  uv.vectors.astype(np.float16).astype(np.float32))
        parts = [found[pid] for pid in self.ids]
        self.unit_row = np.repeat(np.arange(len(parts)), [len(sp) for sp, _ in parts])
        self.unit_span = (np.concatenate([sp for sp, _ in parts]) if parts
                          else np.zeros((0, 2), dtype=np.int32))
        vecs = [v for sp, v in parts if len(sp)]
        self.units = Vectors.build(np.concatenate(vecs) if vecs
                                   else np.zeros((0, dim), dtype=np.float32), compact=True)
        self._unit_offsets()

    def _unit_offsets(self) -> None:
        """unit_first[r]:unit_first[r + 1] are the unit rows of passage row r."""
        self.unit_first = np.searchsorted(self.unit_row, np.arange(len(self.ids) + 1))

    def _save(self, folder: Path, generation: int) -> None:
        """Write the index files into a fresh folder, then switch CURRENT to it atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"g{generation}-", dir=folder))
        self.vectors.save(tmp / "vectors.faiss")
        np.save(tmp / "window_row.npy", self.window_row)
        self.lexical.save(tmp / "bm25")
        self.units.save(tmp / "units.faiss")
        np.save(tmp / "unit_row.npy", self.unit_row)
        np.save(tmp / "unit_span.npy", self.unit_span)
        (tmp / "ids.json").write_text(json.dumps(self.ids))
        _fsync_tree(tmp)
        _pause_for_tests("index-written")
        record = {"generation": generation, "dir": tmp.name, "ids": len(self.ids),
                  "model": self.model_name, "tokenizer": TOKENIZER_VERSION,
                  "units": UNITS_VERSION,
                  "built": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if self.store.generation != generation:  # the store moved on (e.g. a removal) while
            shutil.rmtree(tmp, ignore_errors=True)  # building: never publish what it dropped
            return
        staged = folder / "CURRENT.tmp"
        with open(staged, "w") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(staged, folder / "CURRENT")
        for old in folder.iterdir():  # earlier generations are no longer referenced
            if old.is_dir() and old.name != tmp.name:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def updated(cls, previous: Index, store: Store) -> Index:
        """The index of `store` as it is now, built from `previous` (an index of the same store
        and model) instead of from scratch: the passages of documents whose version (content
        hash, time ingested) is unchanged keep everything `previous` holds for them, keyed by
        passage id; only changed and new documents are read from the store. Equal to what
        Index.open would give; writes no index files (they are Index.open's)."""
        with store.snapshot():
            check_model(store, previous.model_name)
            generation = store.generation
            docs = {d["doc_id"]: d for d in store.documents()}
            before = _by_doc(previous.passages)
            passages: list[Passage] = []
            kept: set[str] = set()
            stored: dict[str, np.ndarray] = {}
            for doc_id, doc in docs.items():  # in doc_id order, as store.passages() reads them
                if _version(previous.docs.get(doc_id)) == _version(doc):
                    passages += before.get(doc_id, [])
                    kept.update(p.passage_id for p in before.get(doc_id, []))
                else:
                    passages += store.passages(doc_id)
                    stored.update(store.vectors(doc_id))
        index = cls(store, previous.model_name, docs, passages, generation)
        index._embedder, index._query_vectors = previous._embedder, previous._query_vectors
        index._build_from(previous, kept, stored)
        return index

    def _build_from(self, previous: Index, kept: set[str], stored: dict[str, np.ndarray]
                    ) -> None:
        """Build the vector and BM25 indexes from each passage's data: `previous`'s for the
        passage ids in `kept`, else stored vectors and fresh tokens. Each kind of per-passage
        data is a dict by passage id, so another kind is one more dict here."""
        windows = previous.passage_vectors()
        old_tokens = previous.passage_tokens()
        missing = [p for p in self.passages
                   if p.passage_id not in kept and p.passage_id not in stored]
        if missing:  # as in _build: passages stored without embeddings
            vecs = self.embedder.encode_passages(
                [index_text(p, self.docs[p.doc_id]) for p in missing])
            stored.update(zip([p.passage_id for p in missing], vecs, strict=True))
        dim = next(iter(stored.values())).shape[-1] if stored else previous.vectors.index.d
        blocks = [(windows[p.passage_id] if p.passage_id in kept else stored[p.passage_id])
                  .reshape(-1, dim) for p in self.passages]
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
        self.window_row = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
        self.vectors = Vectors.build(matrix)
        self._tokens = {p.passage_id: old_tokens[p.passage_id] if p.passage_id in kept
                        else tokenize(index_text(p, self.docs[p.doc_id]))
                        for p in self.passages}
        self.lexical = Lexical.from_tokens([self._tokens[pid] for pid in self.ids])
        changed = {p.doc_id for p in self.passages if p.passage_id not in kept}
        self._build_units(dim, {pid: previous.passage_units(pid) for pid in kept}, changed)

    def passage_vectors(self) -> dict[str, np.ndarray]:
        """Each passage's indexed vectors (one row per window), by passage id."""
        if not self.ids:
            return {}
        counts = np.bincount(self.window_row, minlength=len(self.ids))
        blocks = np.split(self.vectors.rows(), np.cumsum(counts)[:-1])
        return dict(zip(self.ids, blocks, strict=True))

    def passage_tokens(self) -> dict[str, list[str]]:
        """Each passage's BM25 tokens, by passage id: kept by `updated`, else tokenized now (an
        index loaded from its files holds only the BM25 matrix)."""
        if self._tokens is None:
            self._tokens = {p.passage_id: tokenize(index_text(p, self.docs[p.doc_id]))
                            for p in self.passages}
        return self._tokens

    @property
    def adapter(self) -> QueryAdapter | None:
        """The query adapter searches use: the one fitted for this model (index/adapter.py),
        looked up once per opened index, unless searching_with chose another."""
        if not hasattr(self, "_adapter"):
            self._adapter = adapter_for(self.embedder.name, self.embedder.dim)
        return self._adapter

    @contextlib.contextmanager
    def searching_with(self, adapter: QueryAdapter | None) -> Iterator[Index]:
        """Search with this adapter (None: the model's own vectors) inside the block, then with
        the one before: what `ombuds calibrate` cross-validates with."""
        before = self.adapter
        self._adapter, self._query_vectors = adapter, {}
        try:
            yield self
        finally:
            self._adapter, self._query_vectors = before, {}

    def query_vector(self, text: str) -> np.ndarray:
        """The vector a query is searched with: the model's, moved by the query adapter fitted
        for it, if any (index/adapter.py)."""
        adapter = self.adapter
        if adapter is None:
            return self.model_vector(text)
        key = ("adapted", text)
        if key not in self._query_vectors:
            vec = adapter.apply(self.model_vector(text))
            vec.setflags(write=False)
            self._remember(key, vec)
        return self._query_vectors[key]

    def descriptions(self) -> Anchors:
        """The lay descriptions of the articles this index holds (index/anchors.py), embedded
        once per opened index (from the cache when the model embedded them before)."""
        if self._descriptions is None:
            rows: dict[tuple[str, str], list[int]] = {}
            for r, p in enumerate(self.passages):
                if p.passage_type == "provision" and p.instrument and p.article:
                    rows.setdefault((p.instrument, p.article), []).append(r)
            self._article_rows = rows
            self._descriptions = anchors_for(self, {key: self.passages[r[0]].doc_id
                                                    for key, r in rows.items()})
        return self._descriptions

    def _with_descriptions(self, ranked: list[tuple[str, float]], text: str,
                           filtered: bool) -> list[tuple[str, float]]:
        """The fused run with each described article's passage lifted (see W_DESCRIPTION). A
        filtered search lifts only the passages it retrieved (what the filters allow, whichever
        backend applied them); an unfiltered one also an article it did not retrieve."""
        near = scaled(self.descriptions().best(self.model_vector(text)), DESCRIPTION_DEPTH)
        if not near:
            return ranked
        scores = dict(ranked)
        lifted = set()
        for pid, _ in ranked:  # the article's best-ranked passage
            p = self.passages[self.row[pid]]
            key = (p.instrument, p.article)
            if key in near and key not in lifted and p.passage_type == "provision":
                lifted.add(key)
                scores[pid] += W_DESCRIPTION * near[key]
        for key, v in near.items():  # not retrieved: its first passage
            rows = self._article_rows.get(key, [])
            if key in lifted or filtered or not rows:
                continue
            pid = self.ids[rows[0]]
            scores[pid] = scores.get(pid, 0.0) + W_DESCRIPTION * v
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))

    def query_vectors(self, text: str) -> np.ndarray:
        """The rows the dense runs search with: the query vector, or for a query longer than
        the model reads one (adapted) vector per window (Embedder.query_windows)."""
        key = ("windows", text)
        if key not in self._query_vectors:
            rows = self._window_rows(text)
            if len(rows) == 1:
                rows = self.query_vector(text)[None, :]
            elif self.adapter is not None:
                rows = np.stack([self.adapter.apply(v) for v in rows])
                rows.setflags(write=False)
            self._remember(key, rows)
        return self._query_vectors[key]

    def _window_rows(self, text: str) -> np.ndarray:
        """The model's vectors of a query's windows (one row for an ordinary query), embedded
        once for both the pooled dense runs and the averaged model_vector."""
        key = ("rows", text)
        if key not in self._query_vectors:
            rows = self.embedder.encode_query_windows(text)
            rows.setflags(write=False)
            self._remember(key, rows)
        return self._query_vectors[key]

    def model_vector(self, text: str) -> np.ndarray:
        """The model's own embedding of a query, kept for the next few calls: `ombuds ask`
        measures how close its sentences are with it (the confidence its answer models were
        fitted on), and `ombuds provisions` searches twice."""
        if text not in self._query_vectors:
            vec = averaged(self._window_rows(text))
            vec.setflags(write=False)
            self._remember(text, vec)
        return self._query_vectors[text]

    def _remember(self, key: str | tuple[str, str], vec: np.ndarray) -> None:
        if len(self._query_vectors) >= 64:
            self._query_vectors.pop(next(iter(self._query_vectors)))
        self._query_vectors[key] = vec

    def jurisdictions(self) -> list[str]:
        """The jurisdictions of the documents in the index ("international", "KZ"...)."""
        return sorted({d["jurisdiction"] for d in self.docs.values() if d["jurisdiction"]})

    def passage(self, passage_id: str) -> Passage | None:
        row = self.row.get(passage_id)
        return None if row is None else self.passages[row]

    def cite(self, p: Passage) -> str:
        """The pinpoint citation of a passage ("ICCPR, art. 8(1)-(3)")."""
        doc = self.docs[p.doc_id]
        return citation(p, doc["short_title"] or doc["title"])

    # searching

    def mask(self, f: Filters) -> np.ndarray | None:
        if not f.active():
            return None
        m = np.ones(len(self.ids), dtype=bool)
        if f.doc:
            m &= np.isin(self.col_doc, f.doc)
        if f.kind:
            m &= np.isin(self.col_kind, f.kind)
        if f.jurisdiction:
            m &= np.isin(self.col_jur, f.jurisdiction)
        if f.passage_type:
            m &= np.isin(self.col_type, f.passage_type)
        if f.language:
            m &= np.isin(self.col_lang, f.language)
        try:
            lo, hi = f.date_bounds()
        except DateError as e:
            raise IndexError_(str(e)) from None
        if lo is not None or hi is not None:
            dated = self.col_date_lo > 0
            m &= dated
            if lo is not None:
                m &= self.col_date_hi >= lo
            if hi is not None:
                m &= self.col_date_lo <= hi
        return m

    def _dense(self, query: str, depth: int, mask: np.ndarray | None) -> list[tuple[str, float]]:
        """Passages by their best-matching window (a long passage has several)."""
        return self._best_rows(self.vectors, self.window_row, query, depth * 3, depth, mask)

    def _dense_units(self, query: str, depth: int, mask: np.ndarray | None
                     ) -> list[tuple[str, float]]:
        """Passages by their best sentence unit (a sentence or a footnote)."""
        return self._best_rows(self.units, self.unit_row, query, depth * 4, depth, mask)

    def _best_rows(self, vectors: Vectors, owner: np.ndarray, query: str, fetch: int,
                   depth: int, mask: np.ndarray | None) -> list[tuple[str, float]]:
        """Passages by their best row of `vectors` (owner: row -> passage row)."""
        allowed = None if mask is None else np.flatnonzero(mask[owner])
        runs = []
        for vector in self.query_vectors(query):  # one per window of a long query
            best: dict[str, float] = {}
            for r, score in vectors.search(vector, fetch, allowed):
                best.setdefault(self.ids[owner[r]], score)
            runs.append(sorted(best.items(), key=lambda item: -item[1]))
        return pool_windows(runs, depth)

    def _lexical(self, query: str, depth: int, mask: np.ndarray | None
                 ) -> list[tuple[str, float]]:
        """Passages by BM25 (a Milvus backend overrides this and the two dense runs)."""
        m = None if mask is None else mask.astype(np.float32)
        return [(self.ids[r], s) for r, s in self.lexical.search(query, depth, m)]

    def best_unit_score(self, query: str, filters: Filters) -> float | None:
        """The cosine of the query's best-matching sentence unit among the passages the filters
        allow, or None when they allow none."""
        best = self._dense_units(query, 1, self.mask(filters))
        return float(best[0][1]) if best else None

    def passage_units(self, passage_id: str) -> tuple[np.ndarray, np.ndarray]:
        """The (start, end) spans of a passage's units and their stored vectors: `ombuds ask`
        scores sentences with these instead of embedding them again."""
        r = self.row[passage_id]
        rows = np.arange(self.unit_first[r], self.unit_first[r + 1])
        return self.unit_span[rows], self.units.rows(rows)

    def _runs(self, searches: list, queries: list[str], depth: int, mask
              ) -> list[list[tuple[str, float]]]:
        """The ranked runs of one query, one per search, each with its query text (here
        in-process, one after another)."""
        return [search(q, depth, mask) for search, q in zip(searches, queries, strict=True)]

    def search(self, query: str, k: int = 10, mode: str = "hybrid",
               filters: Filters | None = None, dense_query: str | None = None,
               descriptions: bool = True) -> list[Hit]:
        """The k best passages for a query. dense_query, when given, is what the dense runs
        embed instead of the query (BM25 still reads the query): `ombuds provisions` leaves
        out the words the whole collection shares, and weighs the articles' lay descriptions
        itself, per article (descriptions=False)."""
        if mode not in MODES + EXTRA_MODES:
            raise IndexError_(f"unknown mode '{mode}' (one of: {', '.join(MODES)})")
        if not query.strip() or not self.ids:
            return []
        mask = self.mask(filters or Filters())
        depth = max(CANDIDATES, 3 * k)
        searches, weights = [], []
        if mode != "bm25":
            searches.append(self._dense)
            weights.append(W_PASSAGE if mode == "hybrid" else 1.0)
        if mode == "hybrid":
            searches.append(self._dense_units)
            weights.append(W_UNIT)
        if mode != "dense":
            searches.append(self._lexical)
            weights.append(W_BM25 if mode == "hybrid" else 1.0)
        dense_text = dense_query if dense_query and dense_query.strip() else query
        runs = self._runs(searches, [query if search == self._lexical else dense_text
                                     for search in searches], depth, mask)
        if (mode != "dense" and len(runs) > 1 and runs[-1] and is_cyrillic(query)
                and english_only(self.model_name)):
            runs, weights = runs[-1:], weights[-1:]  # BM25 alone: see ENGLISH_ONLY_NOTE
        if len(runs) == 1:
            ranked = runs[0]
        elif mode in ("hybrid", "hybrid-passages"):
            ranked = minmax_fusion(runs, weights)
            if mode == "hybrid" and descriptions and W_DESCRIPTION > 0:
                ranked = self._with_descriptions(ranked, dense_text,
                                                 (filters or Filters()).active())
        else:
            ranked = reciprocal_rank_fusion(runs)
        scores = dict(ranked)
        candidates = [pid for pid, _ in ranked[:depth]]
        texts = {pid: self.passages[self.row[pid]].text for pid in candidates}
        kept = collapse_near_duplicates(candidates, texts, limit=k)
        hits = []
        for rank, pid in enumerate(kept[:k], start=1):
            p = self.passages[self.row[pid]]
            doc = self.docs[p.doc_id]
            hits.append(Hit(rank, scores[pid], p, doc["title"], doc["short_title"], self.cite(p)))
        return hits


# --- helpers -------------------------------------------------------------------------------


def _version(doc: dict | None) -> tuple | None:
    """What tells a stored document's passages apart from an earlier ingest of it."""
    return None if doc is None else (doc["content_hash"], doc["ingested_at"], doc["n_passages"])


def _by_doc(passages: list[Passage]) -> dict[str, list[Passage]]:
    out: dict[str, list[Passage]] = {}
    for p in passages:
        out.setdefault(p.doc_id, []).append(p)
    return out


def language_note(index: Index, query: str, hits: list[Hit]) -> str | None:
    """ENGLISH_ONLY_NOTE when it matters for these results: a non-English query or passage,
    with an English-only embedding model."""
    if not english_only(index.model_name):
        return None
    foreign = any((index.docs[h.passage.doc_id]["language"] or "en") != "en" for h in hits)
    return ENGLISH_ONLY_NOTE if foreign or is_cyrillic(query) else None



def index_dir(store: Store) -> Path:
    return store.data_dir / "index"


def _read_current(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "CURRENT").read_text())
    except (OSError, ValueError):
        return None


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def check_model(store: Store, name: str) -> str:
    """Refuse to mix embeddings of two models in one index; returns the model identity to embed
    with. The same model run by another backend (torch, onnx-int8) is no error: the store's own
    identity wins, for queries and new documents alike, so its vectors all come from one backend
    (`ombuds reindex` switches)."""
    built_with = store.get_meta("model")
    if not built_with or store.vectors_count() == 0:
        return name
    if same_model(built_with, name):
        return stored_model(built_with)
    raise IndexError_(
        f"the index in {store.data_dir} was built with the model '{built_with}', not "
        f"'{name}'; rebuild it with: ombuds reindex --model {name}"
    )
