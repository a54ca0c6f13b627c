"""The Milvus backend: passages, their vectors and BM25 kept in Milvus and searched there.

The URI is a file path ending in .db for Milvus Lite (one SQLite file that milvus-lite's bundled
C++ engine serves to one process at a time) or http://host:19530 for a Milvus server, with an
optional token. Collections:

- ombuds_documents: one row per document (key doc_id): metadata, content hash, and the version
  of its rows that readers see; a reserved row holds the model, its dimension and the schema.
- ombuds_passages: one row per passage and version: the filter fields as scalars, the passage as
  JSON, `sparse`, filled by Milvus' BM25 function, and the passage's first vector, for Milvus'
  own hybrid search (measured in eval/bench.py).
- ombuds_windows: every window vector of every passage (index/embed.py: a long passage has
  several; it scores its best), with the filter fields.
- ombuds_units: sentence and footnote vectors (index/units.py), with their passage and offsets.

Searched collections hold few columns (hits are read with the key only). Filters on
kind and jurisdiction, which are document fields, become `doc_id in [...]`.
- ombuds_texts: each document's text, footnotes and stats, in chunks (a VARCHAR holds 64 KB).

No mixed states: Milvus has no multi-row transactions, so a changed document is written as rows
of a new version, unseen until the one documents row naming that version is upserted; every
search and read filters by the versions the documents rows name (read once, when an index is
opened). After that write the document's older versions are deleted; rows no documents row
names (a killed write's) are swept an hour on (SWEEP_AFTER_S), so a write under way elsewhere is
never swept. One writer per document at a time.

BM25: Milvus' analyzers stem English, though not as index/lexical.py does (and milvus-lite 3.x's
only split words and lower-cased), so `lexical` holds the passage already analysed by
index/lexical.tokenize (stemmed, stop words out, "C029" -> "29"), which the standard analyzer
splits at spaces: the same terms as the embedded bm25s index, and with bm25s' k1 and b, the same
scores where Milvus' statistics cover the same passages.

This module holds the connection, the collections' schemas and MilvusStore; searching is in
index/milvus_index.py (MilvusIndex), copying an embedded store in index/milvus_migrate.py.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ingest.model import Document, Passage

from .embed import same_model, stored_model
from .filters import date_span
from .lexical import tokenize
from .search import IndexError_, index_text
from .store import UnitVectors, _pause_for_tests, default_data_dir
from .units import Unit

PREFIX = "ombuds_"
DOCS, PASSAGES, WINDOWS, UNITS, TEXTS = (PREFIX + n for n in
                                         ("documents", "passages", "windows", "units", "texts"))
COLLECTIONS = (DOCS, PASSAGES, WINDOWS, UNITS, TEXTS)
META_ID = "~ombuds"  # the reserved documents row: model, dimension, schema
GEN_ID = "~generation"  # the reserved documents row whose version is the store's generation
RESERVED = [META_ID, GEN_ID]
SCHEMA_VERSION = 1
BATCH = 500  # rows per insert: well under gRPC's 64 MB message limit
TEXT_CHUNK = 16_000  # characters per text chunk: at most 64 KB in UTF-8
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # bm25s' defaults (index/lexical.py)
SWEEP_AFTER_S = 3600
CONNECT_TIMEOUT_S = 5  # a reachable server answers in milliseconds
# Milvus Lite starts its own server process first: 0.6 s warm, but far longer the first time its
# 100 MB binary is read from a cold disk (a fresh CI machine timed out at 5 s)
LITE_START_TIMEOUT_S = 60


class MilvusError(IndexError_):
    """Milvus cannot be used as asked; the message is one line naming the URI."""


def is_lite(uri: str) -> bool:
    return not uri.startswith(("http://", "https://", "tcp://", "unix:"))


_lite_users: dict[str, int] = {}  # Milvus Lite file -> stores open on it in this process


def connect(uri: str, token: str | None = None):
    """A MilvusClient, or one line saying why not (nothing is written)."""
    # milvus-lite 2.5 imports pkg_resources, which warns on every import (setuptools < 81)
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise MilvusError("the milvus backend needs pymilvus and milvus-lite: "
                          "pip install 'ombuds[milvus]'") from None
    logging.getLogger("milvus_lite").addHandler(logging.NullHandler())  # errors come as one line
    # Milvus Lite keeps no MVCC timestamps; the iterator warns on each read, then does without
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    if is_lite(uri):
        path = Path(uri).expanduser()
        if path.suffix != ".db":
            raise MilvusError(f"'{uri}' is neither a Milvus Lite file (a path ending in .db) nor a "
                              "server URI (http://host:19530)")
        if not path.parent.is_dir():
            raise MilvusError(f"cannot open Milvus Lite at {uri}: no folder {path.parent}")
        uri = str(path.resolve())
    try:
        timeout = LITE_START_TIMEOUT_S if is_lite(uri) else CONNECT_TIMEOUT_S
        client = MilvusClient(uri=uri, token=token or "", timeout=timeout)
        client.list_collections()
    except Exception as e:  # noqa: BLE001 - any failure to connect is reported the same way
        reason = (str(getattr(e, "message", "") or e).splitlines() or [type(e).__name__])[0]
        hint = ("another process may have it open (Milvus Lite allows one; use a server for more)"
                if is_lite(uri) else "start Milvus there or pass another --milvus-uri")
        raise MilvusError(f"cannot reach Milvus at {uri}: {reason}; {hint}") from None
    if is_lite(uri):
        _lite_users[uri] = _lite_users.get(uri, 0) + 1
    return client, uri


def _quote(values) -> str:
    """A Milvus list literal of strings (JSON's escaping is what Milvus parses)."""
    return json.dumps(list(values), ensure_ascii=False)


def _among(field: str, values) -> str:
    """`field in [...]`; for no values an expression no row meets, since Milvus' C++ engine
    rejects an empty `in []` (every row has a version of 0 or more)."""
    values = list(values)
    return f"{field} in {_quote(values)}" if values else "version < 0"


# --- the schema --------------------------------------------------------------------------------


def _schemas(dim: int) -> dict:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    def base(key_len: int = 256):
        s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=key_len)
        return s

    def filters(s) -> None:
        s.add_field("doc_id", DataType.VARCHAR, max_length=256)
        s.add_field("version", DataType.INT64)
        s.add_field("passage_type", DataType.VARCHAR, max_length=32)
        s.add_field("date_lo", DataType.INT64)  # YYYYMMDD, 0 when undated (index/search.py)
        s.add_field("date_hi", DataType.INT64)

    docs = base()
    docs.add_field("version", DataType.INT64)
    docs.add_field("content_hash", DataType.VARCHAR, max_length=128)
    docs.add_field("n_passages", DataType.INT64)
    docs.add_field("ingested_at", DataType.VARCHAR, max_length=32)
    docs.add_field("info", DataType.JSON)
    docs.add_field("nil", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection

    passages = base()
    filters(passages)
    passages.add_field("kind", DataType.VARCHAR, max_length=32)
    passages.add_field("jurisdiction", DataType.VARCHAR, max_length=64)
    passages.add_field("passage_id", DataType.VARCHAR, max_length=128)
    passages.add_field("seq", DataType.INT64)
    passages.add_field("data", DataType.JSON)  # the Passage (ingest/model.py), as to_dict gives it
    passages.add_field("lexical", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                       analyzer_params={"tokenizer": "standard"})
    passages.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    passages.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    passages.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                   input_field_names=["lexical"], output_field_names=["sparse"]))

    windows = base()  # key: passage_id@version#window
    filters(windows)
    windows.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)

    units = base()  # key: passage_id@version#unit
    filters(units)
    units.add_field("passage_key", DataType.VARCHAR, max_length=160)
    units.add_field("unit", DataType.JSON)  # kind, start, end, note (index/units.py Unit)
    units.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)

    texts = base()
    texts.add_field("doc_id", DataType.VARCHAR, max_length=256)
    texts.add_field("version", DataType.INT64)
    texts.add_field("seq", DataType.INT64)
    texts.add_field("chunk", DataType.VARCHAR, max_length=65535)
    texts.add_field("nil", DataType.FLOAT_VECTOR, dim=2)
    return {DOCS: docs, PASSAGES: passages, WINDOWS: windows, UNITS: units, TEXTS: texts}


def _index_params(client, name: str, lite: bool):
    """Exact (FLAT) search on Milvus Lite, where a collection fits one process; HNSW on a
    server (README: the plan for 10M and 100M passages)."""
    params = client.prepare_index_params()
    vector = "nil" if name in (DOCS, TEXTS) else "vector"
    if lite or vector == "nil":
        params.add_index(vector, index_type="FLAT", metric_type="IP")
    else:
        params.add_index(vector, index_type="HNSW", metric_type="IP",
                         params={"M": 16, "efConstruction": 200})
    if name == PASSAGES:
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params=BM25_PARAMS)
    return params


def _field_names(described: dict) -> set[str]:
    return {f["name"] for f in described.get("fields", [])}


# --- the store ---------------------------------------------------------------------------------


class MilvusStore:
    """The PassageStore (index/backend.py) kept in Milvus."""

    def __init__(self, uri: str, token: str | None = None, data_dir: Path | None = None,
                 create: bool = False) -> None:
        self.data_dir = Path(data_dir or default_data_dir())
        self.client, self.uri = connect(uri, token)
        self.token = token
        self.path = self.uri  # what `ombuds ingest` names as where the store is
        self._snapshot_generation: int | None = None
        self.lite = is_lite(self.uri)
        # Searches run at the collections' Strong level on a server, where another process's
        # writes reach the query nodes asynchronously. Milvus Lite's engine serves one process
        # and applies a write before it returns (tests/test_milvus.py, the live-index test), so
        # Strong's wait for a timestamp would only add to every search there.
        self.search_consistency = "Eventually" if self.lite else "Strong"
        self._pinned: dict[str, dict] | None = None
        self._info: dict = {}
        self._written = False  # flushed at close
        try:
            existing = set(self.client.list_collections())
            for name in existing & set(COLLECTIONS):
                self.client.load_collection(name)  # a collection is searched once loaded
            self._check_schema(existing)
            if create and DOCS not in existing:
                self._create(DOCS, dim=2)
                self._write_info({"schema": SCHEMA_VERSION})
            if DOCS in existing or create:
                self._info = self._read_info()
        except MilvusError:
            self.close()
            raise

    def close(self) -> None:
        if self.client is None:
            return
        if self._written:
            self.flush()
        self.client.close()
        self.client = None
        if self.lite:  # release the file, so another process may open it
            _lite_users[self.uri] -= 1
            if not _lite_users[self.uri]:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.uri)

    # schema and meta

    def _check_schema(self, existing: set[str]) -> None:
        """Collections made by another schema (or another program) are refused, not changed."""
        mine = existing & set(COLLECTIONS)
        if not mine:
            return
        want = _schemas(8)
        for name in sorted(mine):
            have = _field_names(self.client.describe_collection(name))
            if have != _field_names(want[name].to_dict()):
                raise MilvusError(
                    f"the collection {name} at {self.uri} has another schema (fields: "
                    f"{', '.join(sorted(have))}); drop it or use another --milvus-uri")
        if DOCS in mine:
            schema = self._read_info().get("schema")
            if schema != SCHEMA_VERSION:
                raise MilvusError(f"the Milvus store at {self.uri} has schema {schema}, this "
                                  f"ombuds writes {SCHEMA_VERSION}; migrate into another "
                                  "--milvus-uri")

    def _create(self, name: str, dim: int) -> None:
        self.client.create_collection(name, schema=_schemas(dim)[name],
                                      index_params=_index_params(self.client, name, self.lite),
                                      consistency_level="Strong")

    def _read_info(self) -> dict:
        rows = self.client.query(DOCS, ids=[META_ID], output_fields=["info"])
        return dict(rows[0]["info"]) if rows else {}

    def _write_info(self, info: dict) -> None:
        self.client.upsert(DOCS, [{"key": META_ID, "version": 0, "content_hash": "",
                                   "n_passages": 0, "ingested_at": "", "info": info,
                                   "nil": [0.0, 0.0]}])
        self._info = dict(info)

    def get_meta(self, key: str) -> str | None:
        value = self._info.get(key)
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        if DOCS not in self.client.list_collections():
            self._create(DOCS, dim=2)
        self._write_info({"schema": SCHEMA_VERSION, **self._read_info(), key: value})

    def check_model(self, name: str) -> str:
        """Refuse vectors of another model (before anything is written); returns the model
        identity to embed with, as index/search.check_model does: the same model run by another
        embedding backend (torch, onnx-int8) is no error, the store's own identity wins."""
        built_with = self.get_meta("model")
        if not built_with or self.vectors_count() == 0:
            return name
        if same_model(built_with, name):
            return stored_model(built_with)
        raise MilvusError(f"the Milvus store at {self.uri} holds vectors of the model "
                          f"'{built_with}', not '{name}'; use --model {built_with}, or "
                          "migrate or ingest into another --milvus-uri")

    def _ensure(self, dim: int) -> None:
        existing = set(self.client.list_collections())
        for name in COLLECTIONS:
            if name not in existing:
                self._create(name, dim)

    def flush(self) -> None:
        """Seal what was written, so searches use the built indexes (Milvus Lite searches
        unflushed rows by brute force)."""
        for name in set(self.client.list_collections()) & set(COLLECTIONS):
            self.client.flush(name)
        self._written = False

    # what readers see

    def pin(self) -> None:
        """Read the documents rows once; later reads see the versions they name (an index
        opened on the store keeps one consistent view)."""
        self._pinned = self._documents_rows()

    @property
    def generation(self) -> int:
        """The store's generation: the version of the reserved row GEN_ID, set (to the time in
        ns) by every write that changes what readers see, after that change (a documents row
        upserted or deleted); 0 for a store no such write has touched. One read by primary key
        (1 to 4 ms on Milvus Lite here). Inside `snapshot()`, the one read as it began."""
        if self._snapshot_generation is not None:
            return self._snapshot_generation
        if DOCS not in self.client.list_collections():
            return 0
        rows = self.client.query(DOCS, ids=[GEN_ID], output_fields=["version"])
        return int(rows[0]["version"]) if rows else 0

    @contextmanager
    def snapshot(self) -> Iterator[MilvusStore]:
        """What Store.snapshot gives Index: the generation read first, then the documents rows
        pinned, so the generation never names more than the rows read with it (a write between
        the two bumps the generation again, and the next check reloads)."""
        generation = self.generation
        self.pin()
        self._snapshot_generation = generation
        try:
            yield self
        finally:
            self._snapshot_generation = None

    def _bump(self) -> None:
        """A new generation, after a change readers can see."""
        self.client.upsert(DOCS, [{"key": GEN_ID, "version": time.time_ns(), "content_hash": "",
                                   "n_passages": 0, "ingested_at": "", "info": {},
                                   "nil": [0.0, 0.0]}])

    def _documents_rows(self) -> dict[str, dict]:
        if DOCS not in self.client.list_collections():
            return {}
        rows = self.client.query(DOCS, filter=f"key not in {_quote(RESERVED)}",
                                 output_fields=["version", "content_hash", "n_passages",
                                                "ingested_at", "info"])
        return {r["key"]: r for r in rows}

    def _rows(self) -> dict[str, dict]:
        return self._pinned if self._pinned is not None else self._documents_rows()

    def visible(self, doc_id: str | None = None) -> str:
        """The filter expression for the current versions (of one document, or all)."""
        rows = self._rows()
        versions = [r["version"] for d, r in rows.items() if doc_id is None or d == doc_id]
        return _among("version", versions)

    def content_hash(self, doc_id: str) -> str | None:
        row = self._rows().get(doc_id)
        return row["content_hash"] if row else None

    def documents(self) -> list[dict]:
        return [_doc_dict(row) for _, row in sorted(self._rows().items())]

    def document(self, doc_id: str) -> dict | None:
        row = self._rows().get(doc_id)
        if row is None:
            return None
        chunks = sorted(self._query(TEXTS, f'doc_id == {json.dumps(doc_id)} and version == '
                                           f'{row["version"]}', ["seq", "chunk"]),
                        key=lambda r: r["seq"])
        body = json.loads("".join(r["chunk"] for r in chunks) or "{}")
        return _doc_dict(row) | {"text": body.get("text", ""),
                                 "footnotes": body.get("footnotes", {}),
                                 "stats": body.get("stats", {})}

    def _query(self, name: str, expr: str, fields: list[str]) -> Iterator[dict]:
        if name not in self.client.list_collections():
            return
        it = self.client.query_iterator(name, batch_size=1000, filter=expr, output_fields=fields)
        try:
            while batch := it.next():
                yield from batch
        finally:
            it.close()

    def passages(self, doc_id: str | None = None, passage_type: str | None = None
                 ) -> Iterator[Passage]:
        expr = self.visible(doc_id)
        if passage_type:
            expr += f" and passage_type == {json.dumps(passage_type)}"
        rows = sorted(self._query(PASSAGES, expr, ["doc_id", "seq", "data"]),
                      key=lambda r: (r["doc_id"], r["seq"]))
        for r in rows:
            yield Passage.from_dict(r["data"])

    def passage(self, passage_id: str) -> Passage | None:
        expr = f"passage_id == {json.dumps(passage_id)} and {self.visible()}"
        found = list(self._query(PASSAGES, expr, ["data"]))
        return Passage.from_dict(found[0]["data"]) if found else None

    def counts_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self._query(PASSAGES, self.visible(), ["passage_type"]):
            counts[r["passage_type"]] = counts.get(r["passage_type"], 0) + 1
        return dict(sorted(counts.items()))

    def vectors_count(self) -> int:
        return sum(r["n_passages"] for r in self._rows().values())

    def vectors(self, doc_id: str | None = None) -> dict[str, np.ndarray]:
        """Passage vectors by passage id: the first window, then the further ones in order."""
        out: dict[str, list[tuple[int, list]]] = {}
        for r in self._query(WINDOWS, self.visible(doc_id), ["vector"]):
            key, _, window = r["key"].rpartition("#")
            out.setdefault(key.split("@")[0], []).append((int(window), r["vector"]))
        return {pid: np.asarray([v for _, v in sorted(ws)], dtype=np.float32)
                for pid, ws in out.items()}

    def unit_vectors(self, doc_id: str | None = None) -> dict[str, UnitVectors]:
        return _group_units(self._query(UNITS, self.visible(doc_id), UNIT_FIELDS))

    # writing

    def put(self, doc: Document, passages: list[Passage],
            vectors: dict[str, np.ndarray] | None = None,
            units: dict[str, UnitVectors] | None = None, ingested_at: str | None = None) -> None:
        """Write the document's rows under a new version, then make that version the visible
        one with a single upsert of its documents row; then delete its other versions' rows."""
        vectors, units = vectors or {}, units or {}
        missing = [p.passage_id for p in passages if p.passage_id not in vectors]
        if missing:
            raise ValueError(f"{len(missing)} passages of {doc.doc_id} have no vectors")
        dim = int(self.get_meta("model_dim") or next(iter(vectors.values())).shape[-1])
        self._ensure(dim)
        version = time.time_ns()  # unique per write: rows of two writes never share a key
        self._written = True
        rows = _rows_of(doc, passages, vectors, units, version, dim)
        for name in (PASSAGES, WINDOWS, UNITS, TEXTS):
            for i in range(0, len(rows[name]), BATCH):
                self.client.insert(name, rows[name][i : i + BATCH])
                if name == PASSAGES and i == 0:
                    _pause_for_tests("milvus-rows")
        _pause_for_tests("in-transaction")
        self.client.upsert(DOCS, [{
            "key": doc.doc_id, "version": version, "content_hash": doc.content_hash,
            "n_passages": len(passages),
            "ingested_at": ingested_at or datetime.now(UTC).isoformat(timespec="seconds"),
            "info": {k: getattr(doc, k) for k in DOC_INFO}, "nil": [0.0, 0.0]}])
        self._bump()
        _pause_for_tests("milvus-visible")
        if self._pinned is not None:
            self._pinned = self._documents_rows()
        self._delete_rows(f"doc_id == {json.dumps(doc.doc_id)} and version < {version}")

    def _delete_rows(self, expr: str) -> None:
        for name in (PASSAGES, WINDOWS, UNITS, TEXTS):
            if name in self.client.list_collections():
                self.client.delete(name, filter=expr)

    def sweep(self) -> None:
        """Delete rows that no documents row names and that were written over SWEEP_AFTER_S
        ago (left by a killed write)."""
        before = time.time_ns() - SWEEP_AFTER_S * 10**9
        current = [r["version"] for r in self._documents_rows().values()]
        self._delete_rows(f"version < {before}" + (f" and version not in {current}"
                                                    if current else ""))

    def remove(self, doc_id: str) -> dict | None:
        """Remove a document: its documents row (readers stop seeing it there), a new
        generation, then its rows of every version in every collection. Returns the removed
        document's row as Store.remove does (without its text), None when there was none.

        Milvus deletes by tombstones: the rows are gone for every search and read at once, but
        their bytes stay in the segment files until Milvus compacts them (a server, asked
        here; Milvus Lite compacts on its own schedule), unlike the embedded store's secure
        delete (README: Backends)."""
        row = self._documents_rows().get(doc_id)
        if row is None:
            return None
        self._written = True
        self.client.delete(DOCS, ids=[doc_id])  # the document is gone for readers here
        self._bump()
        if self._pinned is not None:
            self._pinned.pop(doc_id, None)
        self._delete_rows(f"doc_id == {json.dumps(doc_id)}")
        if not self.lite:
            for name in (DOCS, PASSAGES, WINDOWS, UNITS, TEXTS):
                try:
                    self.client.compact(name)
                except Exception:  # noqa: BLE001 - compaction is best effort; the rows are gone
                    pass
        d = _doc_dict(row)
        return {k: d[k] for k in ("doc_id", "title", "short_title", "source_file",
                                  "content_hash", "n_passages")}


DOC_INFO = ("title", "short_title", "publisher", "date", "symbol", "kind", "jurisdiction",
            "language", "completeness", "source_file")
UNIT_FIELDS = ["passage_key", "unit", "vector"]


def _doc_dict(row: dict) -> dict:
    """A documents row as Store.documents() gives it."""
    info = row["info"]
    return {"doc_id": row["key"], **{k: info.get(k) for k in DOC_INFO},
            "content_hash": row["content_hash"], "ingested_at": row["ingested_at"],
            "n_passages": row["n_passages"]}


def _group_units(rows) -> dict[str, UnitVectors]:
    found: dict[str, list[dict]] = {}
    for r in rows:
        found.setdefault(r["passage_key"].split("@")[0], []).append(r)
    out = {}
    for pid, rs in found.items():
        rs.sort(key=lambda r: int(r["key"].rpartition("#")[2]))
        out[pid] = UnitVectors([Unit(r["unit"]["kind"], r["unit"]["start"], r["unit"]["end"], "",
                                     r["unit"]["note"]) for r in rs],
                               np.asarray([r["vector"] for r in rs], dtype=np.float32))
    return out


def _rows_of(doc: Document, passages: list[Passage], vectors: dict[str, np.ndarray],
             units: dict[str, UnitVectors], version: int, dim: int) -> dict[str, list[dict]]:
    meta = {"title": doc.title, "short_title": doc.short_title}
    out: dict[str, list[dict]] = {PASSAGES: [], WINDOWS: [], UNITS: [], TEXTS: []}
    for p in passages:
        lo, hi = date_span(p.date) or date_span(doc.date) or (0, 0)
        scalars = {"doc_id": doc.doc_id, "version": version, "passage_type": p.passage_type,
                   "date_lo": lo, "date_hi": hi}
        key = f"{p.passage_id}@{version}"
        windows = vectors[p.passage_id].reshape(-1, dim).astype(np.float32)
        out[PASSAGES].append(scalars | {
            "key": key, "kind": doc.kind or "", "jurisdiction": doc.jurisdiction or "",
            "passage_id": p.passage_id, "seq": p.seq, "data": p.to_dict(),
            "lexical": " ".join(tokenize(index_text(p, meta))) or "empty",
            "vector": windows[0].tolist()})
        out[WINDOWS] += [scalars | {"key": f"{key}#{i}", "vector": w.tolist()}
                         for i, w in enumerate(windows)]
        found = units.get(p.passage_id)
        if found is not None:
            # float16 in SQLite; the same values here, so both backends score alike
            vecs = found.vectors.astype(np.float16).astype(np.float32)
            out[UNITS] += [scalars | {
                "key": f"{key}#{i}", "passage_key": key, "vector": vecs[i].tolist(),
                "unit": {"kind": u.kind, "start": u.start, "end": u.end, "note": u.note}}
                for i, u in enumerate(found.units)]
    body = json.dumps({"text": doc.text, "footnotes": doc.footnotes, "stats": doc.stats},
                      ensure_ascii=False, default=str)
    out[TEXTS] = [{"key": f"{doc.doc_id}@{version}#{i}", "doc_id": doc.doc_id,
                   "version": version, "seq": i, "chunk": body[s : s + TEXT_CHUNK],
                   "nil": [0.0, 0.0]}
                  for i, s in enumerate(range(0, len(body), TEXT_CHUNK))]
    return out
