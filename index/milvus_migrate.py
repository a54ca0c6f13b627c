"""Copying an embedded store (index/store.py) into the Milvus backend (index/milvus.py)."""

from __future__ import annotations

import time

from .milvus import MilvusError, MilvusStore
from .store import Store
from .update import stored_document


def migrate(source: Store, uri: str, token: str | None = None) -> dict:
    """Copy an embedded store into Milvus with its vectors (nothing is embedded again, except
    sentence units the store lacks); a document whose content hash Milvus already holds is
    left as it is. Returns counts."""
    model, dim = source.get_meta("model"), source.get_meta("model_dim")
    if not model or not source.vectors_count():
        raise MilvusError(f"the store in {source.data_dir} holds no embeddings to migrate: "
                          "run `ombuds ingest` first")
    target = MilvusStore(uri, token, source.data_dir, create=True)
    try:
        target.check_model(model)
        if target.get_meta("model") is None:
            target.set_meta("model", model)
            target.set_meta("model_dim", dim)
        t0, counts = time.perf_counter(), {"documents": 0, "unchanged": 0, "passages": 0}
        for d in source.documents():
            if target.content_hash(d["doc_id"]) == d["content_hash"]:
                counts["unchanged"] += 1
                continue
            passages = list(source.passages(d["doc_id"]))
            units = source.unit_vectors(d["doc_id"])
            lacking = [p for p in passages if p.passage_id not in units]
            if lacking:  # a store from before sentence units
                from .embed import get_embedder
                from .update import embed_units

                units.update(embed_units(get_embedder(model), lacking, d, passages))
            target.put(stored_document(source, d["doc_id"]), passages,
                       source.vectors(d["doc_id"]), units, ingested_at=d["ingested_at"])
            counts["documents"] += 1
            counts["passages"] += len(passages)
        target.sweep()
        target.flush()
        counts["seconds"] = round(time.perf_counter() - t0, 2)
        return counts
    finally:
        target.close()
