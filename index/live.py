"""An index that follows its store, for the processes that hold one for long: the web app, and
the batch forms of `ombuds search` and `ombuds ask`.

Another process may remove or add a document at any time (`ombuds remove`, `ombuds ingest`).
Before each request the holder calls `current()`: one read of the store's generation, which every
change bumps; when it moved on, the index is rebuilt from the previous one (`Index.updated`:
only changed documents are read) before the request is answered. So a document whose removal
has committed is never returned again, and one just ingested is found.

Either backend: the embedded store's generation is a SQLite row; a Milvus store's is the
version of a reserved row of its documents collection, set by every put and removal
(index/milvus.py), and `MilvusIndex.updated` (index/milvus_index.py) re-reads only changed
documents' passages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .provisions import graph
from .search import Index


@dataclass
class Reload:
    """What a reload found changed, and how long it took."""

    generation: int
    removed: list[str]
    added: list[str]
    changed: list[str]
    seconds: float

    def describe(self) -> str:
        parts = [f"{what} {', '.join(ids)}" for what, ids in
                 (("removed", self.removed), ("added", self.added), ("changed", self.changed))
                 if ids]
        return (f"the library changed (generation {self.generation}): "
                f"{'; '.join(parts) or 'no document'}; index reloaded in {self.seconds:.2f} s")


class LiveIndex:
    def __init__(self, index: Index,
                 on_reload: Callable[[Index, Index, Reload], None] | None = None) -> None:
        self.index = index
        self.data_dir = index.store.data_dir
        self.on_reload = on_reload  # told (old index, new index, what changed) after a reload
        # only ever reads one row, never inside a snapshot: a Store, or a MilvusStore
        self._probe = index.fresh_store()
        self._probe_lock = threading.Lock()  # one connection, used by many threads
        self._reload_lock = threading.Lock()

    def generation(self) -> int:
        """The store's generation now (about 20 µs)."""
        with self._probe_lock:
            return self._probe.generation

    def current(self) -> Index:
        """The index as the store is now: the one held, or a new one when the store changed
        since it was built. Concurrent callers wait for one reload, then all get its result."""
        index = self.index
        if self.generation() == index.generation:
            return index
        with self._reload_lock:
            if self.generation() != self.index.generation:  # not reloaded while we waited
                self._reload()
            return self.index

    def _reload(self) -> None:
        t0 = time.perf_counter()
        old = self.index
        # a connection of its own: requests still reading the old index keep using the old one
        fresh = type(old).updated(old, old.fresh_store())
        graph(fresh)  # the citation graph is per index: build it now, once, not per request
        self.index = fresh
        if self.on_reload is not None:
            changed = [d for d in fresh.docs if d in old.docs
                       and fresh.docs[d]["content_hash"] != old.docs[d]["content_hash"]]
            info = Reload(fresh.generation, sorted(set(old.docs) - set(fresh.docs)),
                          sorted(set(fresh.docs) - set(old.docs)), changed,
                          time.perf_counter() - t0)
            self.on_reload(old, fresh, info)
