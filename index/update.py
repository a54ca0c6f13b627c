"""Writing to the index: a parsed document goes in with its embeddings, reusing stored ones.

Passage ids are hashes of document id and text, so when a changed document is re-ingested only
its new or edited passages are embedded; an unchanged document is never parsed again (its
content hash is checked first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.model import Document, Passage
from ingest.pipeline import DEFAULT_MAX_MB, parse, prepare

from .embed import Embedder, ModelError, configured_model, get_embedder, stored_model
from .search import check_model, index_text
from .store import Store, _pause_for_tests


def put_document(store: Store, embedder: Embedder, doc: Document, passages: list[Passage]) -> int:
    """Store a document with embeddings for all its passages; returns how many were embedded."""
    known = store.vectors(doc.doc_id)
    meta = {"title": doc.title, "short_title": doc.short_title}
    missing = [p for p in passages if p.passage_id not in known]
    fresh = embedder.encode_passages([index_text(p, meta) for p in missing])
    vectors = {p.passage_id: known[p.passage_id] for p in passages if p.passage_id in known}
    vectors.update(zip([p.passage_id for p in missing], fresh, strict=True))
    _pause_for_tests("embedded")
    stored = store.get_meta("model")
    if stored and stored_model(stored) != embedder.name and store.vectors_count() > 0:
        raise ModelError(f"the index in {store.data_dir} holds vectors of '{stored}', these are "
                         f"from '{embedder.name}': not mixing them; ombuds reindex rebuilds it")
    if stored != embedder.name or store.get_meta("model_dim") is None:
        store.set_meta("model", embedder.name)
        store.set_meta("model_dim", str(embedder.dim))
    store.put(doc, passages, vectors)
    _pause_for_tests("stored")
    return len(missing)


@dataclass
class Ingested:
    doc_id: str
    status: str  # "ingested" or "unchanged"
    doc: Document | None = None
    passages: list[Passage] = field(default_factory=list)
    embedded: int = 0


def ingest_file(store: Store, path: Path, model: str | None, max_mb: float = DEFAULT_MAX_MB,
                force: bool = False) -> Ingested:
    """Check, parse, embed and store one file, as `ombuds ingest` does for each file; an
    unchanged file (same content hash) is skipped. Raises IngestError (one line) or ModelError."""
    prepared = prepare(path, max_mb=max_mb)
    if not force and store.content_hash(prepared.doc_id) == prepared.content_hash:
        return Ingested(prepared.doc_id, "unchanged")
    doc, passages = parse(prepared)
    embedder = get_embedder(check_model(store, configured_model(model)))  # the store's backend
    embedded = put_document(store, embedder, doc, passages)
    return Ingested(doc.doc_id, "ingested", doc, passages, embedded)
