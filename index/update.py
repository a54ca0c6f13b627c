"""Writing to the index: a parsed document goes in with its embeddings, reusing stored ones;
a removed one goes out with every copy ombuds made of it.

Passage ids are hashes of document id and text, so when a changed document is re-ingested only
its new or edited passages are embedded; an unchanged document is never parsed again (its
content hash is checked first).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ingest.model import Document, Passage
from ingest.pipeline import DEFAULT_MAX_MB, parse, prepare

from .embed import Embedder, ModelError, configured_model, get_embedder, stored_model
from .search import check_model, index_dir, index_text
from .store import Store, UnitVectors, _pause_for_tests
from .units import document_units


def embed_units(embedder: Embedder, passages: list[Passage], doc: dict,
                document: list[Passage] | None = None) -> dict[str, UnitVectors]:
    """The sentence units of passages (of one document, described by doc) with their vectors,
    embedded in one batch. document: all the document's passages, when passages are only some
    of them (a list continued from a passage not being embedded keeps its lead-in)."""
    every = document_units(document if document is not None else passages, doc)
    units = {p.passage_id: every[p.passage_id] for p in passages}
    flat = embedder.encode([u.text for us in units.values() for u in us])
    out, i = {}, 0
    for pid, us in units.items():
        out[pid] = UnitVectors(us, flat[i : i + len(us)])
        i += len(us)
    return out

UPLOADS = "uploads"  # <data_dir>/uploads/: the files the web app saved from uploads
WEB_CACHE = "web-cache"  # <data_dir>/web-cache/: Gradio's staged uploads, and the exports
EXPORTS = "exports"  # inside WEB_CACHE


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
    units.update(embed_units(embedder, [p for p in passages if p.passage_id not in units], meta,
                             passages))
    _pause_for_tests("embedded")
    stored = store.get_meta("model")
    if stored and stored_model(stored) != embedder.name and store.vectors_count() > 0:
        raise ModelError(f"the index in {store.data_dir} holds vectors of '{stored}', these are "
                         f"from '{embedder.name}': not mixing them; ombuds reindex rebuilds it")
    if stored != embedder.name or store.get_meta("model_dim") is None:
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
                force: bool = False, ocr: str = "auto", progress: bool = False,
                device: str | None = None) -> Ingested:
    """Check, parse, embed and store one file, as `ombuds ingest` does for each file; an
    unchanged file (same content hash) is skipped. ocr is the OCR mode for PDFs (auto, always,
    never), progress shows a bar over OCRed pages, device is where to embed (cpu, cuda).
    Raises IngestError (one line) or ModelError."""
    prepared = prepare(path, max_mb=max_mb, ocr=ocr)
    if not force and store.content_hash(prepared.doc_id) == prepared.content_hash:
        return Ingested(prepared.doc_id, "unchanged")
    doc, passages = parse(prepared, progress=progress)
    # the store's model and backend, unless another is named (check_model refuses a mix)
    name = check_model(store, configured_model(model, store.get_meta("model")))
    embedder = get_embedder(name, device)
    embedded = put_document(store, embedder, doc, passages)
    return Ingested(doc.doc_id, "ingested", doc, passages, embedded)


def reembed(store: Store, embedder: Embedder) -> list[dict]:
    """Every stored passage embedded again with embedder (`ombuds reindex`); returns the
    documents."""
    store.clear_vectors()
    docs = store.documents()
    for d in docs:
        put_document(store, embedder, stored_document(store, d["doc_id"]),
                     list(store.passages(d["doc_id"])))
    return docs


def stored_document(store: Store, doc_id: str) -> Document | None:
    """A stored document as it was ingested (metadata, text, notes), to store it again, e.g.
    with embeddings of another model."""
    d = store.document(doc_id)
    if d is None:
        return None
    doc = Document(doc_id=d["doc_id"], title=d["title"], short_title=d["short_title"],
                   source_file=d["source_file"])
    for key in ("kind", "publisher", "date", "symbol", "jurisdiction", "language",
                "completeness", "content_hash"):
        setattr(doc, key, d[key] or "")
    doc.text, doc.footnotes, doc.stats = d["text"], d["footnotes"], d["stats"]
    return doc


@dataclass
class Removed:
    doc_id: str
    passages: int
    files: list[Path] = field(default_factory=list)  # the copies deleted in the data dir
    failed: list[str] = field(default_factory=list)  # "path: reason", for each left behind

    def delete(self, path: Path) -> None:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            self.files.append(path)
        except OSError as e:
            self.failed.append(f"{path}: {e.strerror or e}")


def remove_document(store: Store, doc_id: str) -> Removed | None:
    """Remove a document and every copy ombuds made of it: its passages and embeddings (one
    transaction; SQLite overwrites the deleted rows), the index files built while it was in
    the store, and, when it came from the web app, the uploaded file under <data_dir>/uploads/
    with the copies Gradio staged in <data_dir>/web-cache/; also the exports waiting there to
    be downloaded, which may quote it. A file anywhere else is the user's own and is never
    touched. None when there is no such document; a file that cannot be deleted is listed in
    `failed` (the removal from the store stands)."""
    row = store.remove(doc_id)
    if row is None:
        return None
    removed = Removed(doc_id, row["n_passages"])
    data_dir = store.data_dir.resolve()
    if isinstance(store, Store):  # a Milvus store has no index files (its rows are deleted)
        _drop_stale_index_files(store, removed)
    cache = data_dir / WEB_CACHE
    upload = Path(row["source_file"]).resolve() if row["source_file"] else None
    if upload is not None and upload.parent == data_dir / UPLOADS and upload.is_file():
        _drop_copies(upload, cache, removed)
        removed.delete(upload)
    exports = cache / EXPORTS
    for export in sorted(exports.rglob("*")) if exports.is_dir() else []:
        if export.is_file():
            removed.delete(export)
    return removed


def _drop_stale_index_files(store: Store, removed: Removed) -> None:
    """Delete the index folders built before the store's current generation: they still hold
    the vectors and BM25 terms of what was removed (the next Index.open builds new ones)."""
    folder = index_dir(store)
    if not folder.is_dir():
        return
    keep = f"g{store.generation}-"
    for path in folder.iterdir():
        if path.is_dir() and not path.name.startswith(keep):
            removed.delete(path)
    current = folder / "CURRENT"
    try:
        stale = json.loads(current.read_text())["generation"] != store.generation
    except (OSError, ValueError, KeyError):
        stale = current.exists()
    if stale:
        removed.delete(current)


def _drop_copies(original: Path, folder: Path, removed: Removed) -> None:
    """Delete the files under folder with the same bytes as original, and the folders left
    empty (Gradio stages each upload in a folder of its own)."""
    if not folder.is_dir():
        return
    data, size = original.read_bytes(), original.stat().st_size
    for path in sorted(folder.rglob("*")):  # listed first: emptied folders go meanwhile
        if path.is_file() and path.stat().st_size == size and path.read_bytes() == data:
            removed.delete(path)
            if path.parent != folder and not any(path.parent.iterdir()):
                removed.delete(path.parent)
