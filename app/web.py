"""The ombuds web app (Gradio): Ask, Search, Provisions, Testimonies, Library and Collection.

    ombuds serve [--host 127.0.0.1] [--port 7860] [--data-dir DIR] [--model NAME]
    python -m app.web --data-dir DIR --port 7861          # the same, without the CLI

The index is opened and the embedding model loaded once, at start. Each request first checks
the store's generation (bumped by every change, from this app or from `ombuds ingest` / `ombuds
remove` in another process) and, when it moved on, rebuilds the index from the previous one
(index/live.py: only the changed documents are read, no re-embedding). Every piece of document
text reaches the page through `esc()` (html.escape), so markup or script inside a document is
shown, never run.
Uploads are checked by content (PDF header, UTF-8 text), size and name, and saved only under
<data_dir>/uploads/.

This module holds the app's state (`Ombuds`), the upload checks, building the Blocks and serving
them; the tabs and their controls are in app/tabs.py, the HTML they show (with `esc()`, the CSS
and the page scripts) in app/render.py.
"""

from __future__ import annotations

import argparse
import copy
import os
import secrets
import sys
import threading
import time
import weakref
from collections import Counter
from pathlib import Path

import gradio as gr

from app import export
from app.llm import LLMConfig
from app.render import CSS
from app.tabs import (
    added,
    ask_tab,
    collection_tab,
    library_tab,
    provisions_tab,
    search_tab,
    testimonies_tab,
)
from index.backend import Backend, open_index, open_store
from index.citation import citation
from index.embed import ModelError
from index.live import LiveIndex, Reload
from index.provisions import graph
from index.search import Index, IndexError_
from index.store import Store
from index.update import EXPORTS, UPLOADS, WEB_CACHE, ingest_file, remove_document
from ingest.language import CODES as LANGUAGES
from ingest.model import DOCUMENT_KINDS, IngestError, Passage
from ingest.pipeline import DEFAULT_MAX_MB, decode_text, file_type, prepare, read_checked, slug

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ENV_USER, ENV_PASSWORD = "OMBUDS_USER", "OMBUDS_PASSWORD"


# --- uploads ---------------------------------------------------------------------------------


def check_upload(src: Path, max_mb: float) -> str:
    """The safe file name an upload is saved under, after checking its size and content (PDF
    header, or UTF-8 text with a text suffix). Raises IngestError with the reason."""
    data = read_checked(src, max_mb)
    kind = file_type(src, data)
    if kind == "text":
        decode_text(data)
    suffix = ".pdf" if kind == "pdf" else src.suffix.lower()
    return slug(src.stem) + suffix


def save_upload(src: Path, uploads: Path, name: str) -> Path:
    """Copy an upload to uploads/<name> (atomically); never anywhere else."""
    uploads.mkdir(parents=True, exist_ok=True)
    dest = (uploads / name).resolve()
    if dest.parent != uploads.resolve() or name.startswith("."):
        raise IngestError(f"unsafe file name '{name}'")
    tmp = uploads / f".{name}.{secrets.token_hex(4)}.part"
    tmp.write_bytes(src.read_bytes())
    os.replace(tmp, dest)
    return dest


# --- the app's shared state ------------------------------------------------------------------


class Ombuds:
    """The open index and what the views need from it. The index follows the store: each
    request starts with `fresh()`, which reloads it first when the store changed (through the
    Library view, or `ombuds remove` / `ombuds ingest` in another process), and reads that one
    index throughout. An index is replaced, never changed in place, so a request in flight
    keeps a consistent one."""

    def __init__(self, data_dir: Path | None = None, model: str | None = None,
                 max_mb: float = DEFAULT_MAX_MB, backend: Backend | None = None) -> None:
        self.backend = backend or Backend.from_env()
        self._pinned: Index | None = None
        self.live = LiveIndex(open_index(data_dir, model, self.backend), on_reload=self._reloaded)
        index = self.live.index
        self.data_dir = index.store.data_dir
        self.model = index.model_name
        self.max_mb = max_mb
        self.uploads = self.data_dir / UPLOADS
        self.cache = self.data_dir / WEB_CACHE  # Gradio's staged uploads and the exports
        self.exports = self.cache / EXPORTS
        self.exports.mkdir(parents=True, exist_ok=True)
        self.write_lock = threading.Lock()  # one upload or removal at a time
        self._read_lock = threading.Lock()  # an index's SQLite connection, for document texts
        # document texts by index: a reload drops the cache with the index it belongs to
        self._texts: weakref.WeakKeyDictionary[Index, dict[str, str]] = (
            weakref.WeakKeyDictionary())
        self.llm = LLMConfig.from_env()  # generative answers when configured, as `ombuds ask`
        index.embedder.encode(["warm up"])  # load the model now, not on the first question
        graph(index)  # the citation graph behind every "Cites:" row, built once per index
        index.passage_tokens()  # kept for the incremental reloads, so the first is fast too

    # reading

    @property
    def index(self) -> Index:
        """The index this request reads: the one `fresh()` pinned, else the current one."""
        return self._pinned if self._pinned is not None else self.live.current()

    def fresh(self) -> Ombuds:
        """This app bound to the index as the store is now, for one request: every lookup in
        the request sees the same index, reloaded first when the store changed."""
        view = copy.copy(self)  # shares the caches, locks and the live index
        view._pinned = self.live.current()
        return view

    def _reloaded(self, old: Index, new: Index, info: Reload) -> None:
        with self._read_lock:
            self._texts.pop(old, None)
        print(f"ombuds: {info.describe()}", flush=True)

    def passage(self, passage_id: str) -> Passage | None:
        return self.index.passage(passage_id or "")

    def doc(self, doc_id: str) -> dict:
        return self.index.docs.get(doc_id) or {"doc_id": doc_id, "title": doc_id,
                                                "short_title": doc_id}

    def doc_text(self, doc_id: str) -> str:
        """A document's text; "" when it is not in the index (removed)."""
        index = self.index
        if doc_id not in index.docs:
            return ""
        with self._read_lock:
            texts = self._texts.setdefault(index, {})
            if doc_id not in texts:
                found = index.store.document(doc_id)
                texts[doc_id] = found["text"] if found else ""
            return texts[doc_id]

    def excerpt(self, p: Passage, support: list[str] | None = None) -> dict:
        doc = self.doc(p.doc_id)
        return export.excerpt(p, doc, citation(p, doc["short_title"] or doc["title"]), support)

    def withdrawn(self, items: list[dict] | None) -> list[dict]:
        """The collection with the items whose passages are no longer in the library marked
        removed and emptied (see export.withdraw)."""
        index = self.index
        return export.withdraw(list(items or []), lambda pid: index.passage(pid) is not None)

    def collect(self, passage_id: str | None, items: list[dict] | None) -> list[dict]:
        """The collection with the passage added (once), from the library as it is now."""
        app = self.fresh()
        items = app.withdrawn(items)
        p = app.passage(passage_id or "")
        if p is None:
            gr.Warning("Choose a passage first." if not passage_id else
                       "That passage is no longer in the library.")
            return items
        if any(it["kind"] == "passage" and it["excerpts"][0]["passage_id"] == p.passage_id
               for it in items):
            gr.Info("Already in the collection.", duration=3)
            return items
        items.append(export.passage_item(p, app.doc(p.doc_id), app.excerpt(p)["citation"]))
        added(items)
        return items

    def doc_choices(self) -> list[tuple[str, str]]:
        return [(f"{d['short_title'] or d['title']} ({d['doc_id']})", d["doc_id"])
                for d in self.index.docs.values()]

    def kinds(self) -> list[str]:
        present = {d["kind"] for d in self.index.docs.values()}
        return [k for k in DOCUMENT_KINDS if k in present]

    def jurisdictions(self) -> list[str]:
        return self.index.jurisdictions()

    def languages(self) -> list[str]:
        """The languages documents are detected in (all of them: an upload may add one)."""
        return list(LANGUAGES)

    # writing

    def reload(self) -> None:
        """Bring the index up to date after the app's own change to the store (incremental:
        only the changed documents are read)."""
        self.live.current()

    def ingest_uploads(self, paths: list[Path], progress=None) -> list[str]:
        """Check, save and ingest uploaded files; one log line per file."""
        log = []
        with self.write_lock:
            store = open_store(self.data_dir, self.backend, create=True)
            try:
                for i, src in enumerate(paths):
                    if progress is not None:
                        progress((i, len(paths)), desc=f"ingesting {src.name}")
                    log.append(self._ingest_upload(store, src))
            finally:
                store.close()
            self.reload()
        return log

    def _ingest_upload(self, store: Store, src: Path) -> str:
        t0 = time.perf_counter()
        dest = None
        previous = None
        try:
            name = check_upload(src, self.max_mb)
            doc_id = prepare(src, self.max_mb).doc_id
            known = store.document(doc_id)
            if known and Path(known["source_file"]).resolve().parent != self.uploads.resolve():
                raise IngestError(f"a document with the id '{doc_id}' is already in the library "
                                  f"(from {Path(known['source_file']).name}); rename the file")
            target = self.uploads / name
            previous = target.read_bytes() if target.is_file() else None
            dest = save_upload(src, self.uploads, name)
            result = ingest_file(store, dest, self.model, self.max_mb)
        except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
            if dest is not None:  # put back what was there before the failed upload
                if previous is None:
                    dest.unlink(missing_ok=True)
                else:
                    dest.write_bytes(previous)
            if isinstance(e, IngestError | ModelError):
                return f"error: {src.name}: {e}"
            reason = str(e).splitlines()[0] if str(e) else ""
            return f"error: {src.name}: unexpected {type(e).__name__}: {reason}"
        if result.status == "unchanged":
            return f"unchanged: {src.name} (already in the library as {result.doc_id})"
        types = Counter(p.passage_type for p in result.passages)
        return (f"ingested: {src.name} as {result.doc_id}: {len(result.passages)} passages ("
                + ", ".join(f"{t} {n}" for t, n in sorted(types.items()))
                + f") in {time.perf_counter() - t0:.1f} s")

    def remove(self, doc_id: str) -> str:
        """Remove a document with every copy the app made of it (as `ombuds remove`)."""
        with self.write_lock:
            store = open_store(self.data_dir, self.backend)
            try:
                removed = remove_document(store, doc_id)
            finally:
                store.close()
            if removed is None:
                return f"no document '{doc_id}' in the library"
            self.reload()
        upload = [f.name for f in removed.files if f.parent.name == UPLOADS]
        return (f"removed {doc_id}: {removed.passages} passages"
                + (f"; deleted its uploaded file {upload[0]}" if upload else "")
                + "".join(f"\nwarning: could not delete {f}" for f in removed.failed))


# --- the Blocks app ---------------------------------------------------------------------------


def build(app: Ombuds) -> gr.Blocks:
    """The Blocks app. Every event has an api_name, so tests can drive it with gradio_client."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls
    secret = _browser_secret(app.data_dir)
    with gr.Blocks(title="ombuds", delete_cache=(3600, 3600)) as demo:
        collection = gr.BrowserState([], storage_key="ombuds-collection", secret=secret)
        gr.Markdown("## ombuds\nSearch and cited answers over human-rights reports, conventions "
                    "and codes on migrant workers in Central Asia.")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                ask_doc_filter = ask_tab(app, collection)
            with gr.Tab("Search", id="search"):
                search_doc_filter = search_tab(app, collection)
            with gr.Tab("Provisions", id="provisions"):
                provisions_tab(app)
            with gr.Tab("Testimonies", id="testimonies"):
                testimonies_tab(app, demo, collection)
            with gr.Tab("Library", id="library"):
                library_tab(app, demo, [ask_doc_filter, search_doc_filter])
            with gr.Tab("Collection", id="collection"):
                collection_tab(app, demo, collection)
    return demo


def _browser_secret(data_dir: Path) -> str:
    """The key the collection is encrypted with in the browser, kept with the data so that a
    collection survives a restart of the app."""
    path = data_dir / "browser-secret"
    if not path.is_file():
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


# --- serving ---------------------------------------------------------------------------------


def exposure_warning(host: str, port: int, login: bool) -> str | None:
    """What to say when the app is reachable from other machines without a login."""
    if host in LOCAL_HOSTS or login:
        return None
    return (f"warning: ombuds is bound to {host} without a login: anyone who can reach this "
            f"machine on port {port} can read the library and change it. Set {ENV_USER} and "
            f"{ENV_PASSWORD} to require one.")


def serve(data_dir: Path | None = None, model: str | None = None, host: str = "127.0.0.1",
          port: int = 7860, user: str | None = None, password: str | None = None,
          max_mb: float = DEFAULT_MAX_MB, block: bool = True, backend: Backend | None = None):
    """Open the index, load the model, start the app; returns (demo, url) when block=False."""
    t0 = time.perf_counter()
    user = user if user is not None else os.environ.get(ENV_USER)
    password = password if password is not None else os.environ.get(ENV_PASSWORD)
    auth = (user, password) if user and password else None
    warning = exposure_warning(host, port, auth is not None)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    app = Ombuds(data_dir, model, max_mb, backend)
    # Gradio stages uploads in its cache folder before our checks: keep it inside this app's
    # data dir (always: an earlier app in the same process must not leave its own there), so
    # that removing a document can delete the staged copies too
    os.environ["GRADIO_TEMP_DIR"] = str(app.cache)
    demo = build(app)
    demo.queue(default_concurrency_limit=2)
    _, url, _ = demo.launch(
        server_name=host, server_port=port, auth=auth, auth_message="ombuds: please log in",
        prevent_thread_lock=True, quiet=True, show_error=True, css=CSS, theme=gr.themes.Soft(),
        max_file_size=int(max_mb * 1024 * 1024), footer_links=["api"], run_history=False,
        enable_monitoring=False, ssr_mode=False, mcp_server=False,
        allowed_paths=[str(app.exports)],
    )
    answers = f"generated by {app.llm.model}, checked" if app.llm else "extractive"
    print(f"ombuds: {len(app.index.docs)} documents, {len(app.index.ids)} passages, answers "
          f"{answers}; serving on {url}{' with login' if auth else ''} (ready in "
          f"{time.perf_counter() - t0:.1f} s)", flush=True)
    if not block:
        return demo, url
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    return demo, url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.web", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--max-mb", type=float,
                        default=float(os.environ.get("OMBUDS_MAX_MB") or DEFAULT_MAX_MB))
    args = parser.parse_args(argv)
    try:
        serve(args.data_dir, args.model, args.host, args.port, max_mb=args.max_mb)
    except (IndexError_, ModelError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
