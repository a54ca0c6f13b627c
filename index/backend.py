"""Where passages live: one storage interface, two backends, and which one a command opens.

- embedded (the default): SQLite (index/store.py) with FAISS and bm25s files built from it and
  searched in this process (index/search.py).
- milvus: a Milvus Lite file or a Milvus server (index/milvus.py) holding passages, vectors and
  a BM25 field; filters run inside Milvus' searches.

Both stores satisfy `PassageStore`, so ingestion (index/update.py) writes to either unchanged.
Search fusion, `ask`, provisions and eval run on `Index` (index/search.py), which asks its backend
for three filtered runs of (passage_id, score) through the methods in `Retrieval`; `MilvusIndex`
overrides just those.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ingest.model import Document, Passage

from .store import Store, UnitVectors, default_data_dir

if TYPE_CHECKING:
    from .filters import Filters
    from .search import Index

ENV_BACKEND = "OMBUDS_BACKEND"
ENV_MILVUS_URI = "OMBUDS_MILVUS_URI"
ENV_MILVUS_TOKEN = "OMBUDS_MILVUS_TOKEN"
BACKENDS = ("embedded", "milvus")
LITE_FILE = "milvus.db"  # the default Milvus Lite file, inside the data dir

Run = list[tuple[str, float]]  # (passage_id, score), best first


class PassageStore(Protocol):
    """Documents, passages, passage vectors (windows x dim) and sentence units, by id."""

    data_dir: Path  # local files (uploads, caches) stay here whatever the backend

    def content_hash(self, doc_id: str) -> str | None: ...

    def put(self, doc: Document, passages: list[Passage],
            vectors: dict[str, np.ndarray] | None = None,
            units: dict[str, UnitVectors] | None = None) -> None:
        """Replace a document: readers see the old version or the new one, never a mix."""

    def remove(self, doc_id: str) -> bool: ...

    def documents(self) -> list[dict]: ...

    def document(self, doc_id: str) -> dict | None: ...

    def passages(self, doc_id: str | None = None, passage_type: str | None = None
                 ) -> Iterator[Passage]: ...

    def passage(self, passage_id: str) -> Passage | None: ...

    def vectors(self, doc_id: str | None = None) -> dict[str, np.ndarray]: ...

    def unit_vectors(self, doc_id: str | None = None) -> dict[str, UnitVectors]: ...

    def vectors_count(self) -> int: ...

    def counts_by_type(self) -> dict[str, int]: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def close(self) -> None: ...


class Retrieval(Protocol):
    """The runs `Index.search` fuses. `mask` turns Filters into what the backend filters with
    (a row mask for FAISS and bm25s, a filter expression for Milvus), applied inside each run."""

    def mask(self, f: Filters) -> Any: ...

    def _dense(self, query: str, depth: int, mask: Any) -> Run: ...

    def _dense_units(self, query: str, depth: int, mask: Any) -> Run: ...

    def _lexical(self, query: str, depth: int, mask: Any) -> Run: ...

    def passage_units(self, passage_id: str) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class Backend:
    """Which backend a command uses: --backend/--milvus-uri/--milvus-token, else the env."""

    name: str = "embedded"
    uri: str | None = None  # a file path (Milvus Lite) or http://host:19530 (a server)
    token: str | None = None

    @classmethod
    def from_env(cls) -> Backend:
        return cls.of(None, None, None)

    @classmethod
    def of(cls, name: str | None, uri: str | None, token: str | None) -> Backend:
        name = name or os.environ.get(ENV_BACKEND) or "embedded"
        if name not in BACKENDS:
            raise ValueError(f"unknown backend '{name}' (one of: {', '.join(BACKENDS)})")
        return cls(name, uri or os.environ.get(ENV_MILVUS_URI) or None,
                   token or os.environ.get(ENV_MILVUS_TOKEN) or None)

    def milvus_uri(self, data_dir: Path | None) -> str:
        return self.uri or str(Path(data_dir or default_data_dir()) / LITE_FILE)


def open_store(data_dir: Path | None = None, backend: Backend | None = None,
               create: bool = False) -> PassageStore:
    """The store of the configured backend; a Milvus one is made on first write (create)."""
    backend = backend or Backend.from_env()
    if backend.name == "milvus":
        from .milvus import MilvusStore

        return MilvusStore(backend.milvus_uri(data_dir), backend.token, data_dir, create=create)
    return Store(data_dir)


def open_index(data_dir: Path | None = None, model: str | None = None,
               backend: Backend | None = None) -> Index:
    backend = backend or Backend.from_env()
    if backend.name == "milvus":
        from .milvus_index import MilvusIndex

        return MilvusIndex.open(backend.milvus_uri(data_dir), backend.token, data_dir, model)
    from .search import Index

    return Index.open(data_dir, model)


def check_store_model(store: PassageStore, name: str) -> str:
    """Refuse to add vectors of another model (IndexError_ with one line; nothing written);
    returns the model identity to embed with (the store's own when only the embedding
    backend differs)."""
    if isinstance(store, Store):
        from .search import check_model

        return check_model(store, name)
    return store.check_model(name)


def finish_writes(store: PassageStore, model: str) -> None:
    """After ingesting: bring the embedded index files up to date, or seal Milvus' rows."""
    if isinstance(store, Store):
        if store.vectors_count() or store.documents():
            from .search import Index

            Index.open(store.data_dir, model)
    else:
        store.sweep()
        store.flush()
