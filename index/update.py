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

from .embed import Embedder, get_embedder
from .search import index_text
from .store import Store, UnitVectors, _pause_for_tests
from .units import passage_units


def embed_units(embedder: Embedder, passages: list[Passage], doc: dict) -> dict[str, UnitVectors]:
    """The sentence units of passages (of one document, described by doc) with their vectors,
    embedded in one batch."""
    units = {p.passage_id: passage_units(p, doc) for p in passages}
    flat = embedder.encode([u.text for us in units.values() for u in us])
    out, i = {}, 0
    for pid, us in units.items():
        out[pid] = UnitVectors(us, flat[i : i + len(us)])
        i += len(us)
    return out


def put_document(store: Store, embedder: Embedder, doc: Document, passages: list[Passage]) -> int:
    """Store a document with embeddings for all its passages and their sentence units; returns
    how many passages were embedded (unchanged passages keep their stored vectors)."""
    known = store.vectors(doc.doc_id)
    known_units = store.unit_vectors(doc.doc_id)
    meta = {"title": doc.title, "short_title": doc.short_title}
    missing = [p for p in passages if p.passage_id not in known]
    fresh = embedder.encode_passages([index_text(p, meta) for p in missing])
    vectors = {p.passage_id: known[p.passage_id] for p in passages if p.passage_id in known}
    vectors.update(zip([p.passage_id for p in missing], fresh, strict=True))
    units = {p.passage_id: known_units[p.passage_id] for p in passages
             if p.passage_id in known_units}
    units.update(embed_units(embedder, [p for p in passages if p.passage_id not in units], meta))
    _pause_for_tests("embedded")
    if store.get_meta("model") != embedder.name or store.get_meta("model_dim") is None:
        store.set_meta("model", embedder.name)
        store.set_meta("model_dim", str(embedder.dim))
    store.put(doc, passages, vectors, units)
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
    embedded = put_document(store, get_embedder(model), doc, passages)
    return Ingested(doc.doc_id, "ingested", doc, passages, embedded)
