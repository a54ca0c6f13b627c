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
"""

from __future__ import annotations

import argparse
import copy
import html
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import gradio as gr

from app import export
from app.answer import answer_question
from app.llm import LLMConfig, Progress, llm_answer_stream
from index.backend import Backend, open_index, open_store
from index.citation import citation
from index.embed import ModelError
from index.lexical import tokenize
from index.live import LiveIndex, Reload
from index.provisions import (
    INSTRUMENT,
    NOT_IN_CORPUS,
    OTHER_VERSION,
    PROVISION,
    UNIDENTIFIED,
    graph,
    group_by_instrument,
    group_unresolved,
    rank_provisions,
)
from index.search import MODES, Filters, Index, IndexError_, date_span, language_note
from index.store import Store
from index.update import EXPORTS, UPLOADS, WEB_CACHE, ingest_file, remove_document
from ingest.language import CODES as LANGUAGES
from ingest.model import DOCUMENT_KINDS, PASSAGE_TYPES, IngestError, Passage
from ingest.pipeline import (
    DEFAULT_MAX_MB,
    SUPPORTED,
    decode_text,
    file_type,
    prepare,
    read_checked,
    slug,
)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
UPLOAD_TYPES = list(SUPPORTED)  # PDF, Word, web pages, Markdown, text
ENV_USER, ENV_PASSWORD = "OMBUDS_USER", "OMBUDS_PASSWORD"
TOPIC_LIMIT = 20  # testimonies shown for a topic, most relevant first
EMPTY_LIBRARY = '<p class="ob-empty">The library is empty: add documents in the Library view.</p>'
SECTION_MAX_CHARS = 60_000  # a longer "section" is cut to the passages around the one opened
EXAMPLE_QUESTIONS = [
    "Do employers confiscate the passports of migrant workers?",
    "What does Article 128 of the Criminal Code of Kazakhstan punish?",
    "What did the Special Rapporteur recommend about labour inspection?",
]
NO_PROVISIONS = ('<p class="ob-empty">No convention or code is in the library: add legal texts '
                 "in the Library view.</p>")
CITED_BY_SHOWN = 3  # report passages shown open under an article; the rest behind a click


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


# --- HTML, always escaped ----------------------------------------------------------------------


def esc(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def marked(text: str, spans: list[tuple[int, int]], css: str = "") -> str:
    """Escaped text with the given (start, end) spans wrapped in <mark>."""
    out, pos = [], 0
    attr = f' class="{css}"' if css else ""
    for start, end in sorted(spans):
        if start < pos or end <= start:
            continue
        out += [esc(text[pos:start]), f"<mark{attr}>", esc(text[start:end]), "</mark>"]
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def term_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where the query's words (by their stems) occur in a text."""
    stems = {t for t in tokenize(query) if len(t) > 2 or t.isdigit()}
    if not stems:
        return []
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(stems, key=len, reverse=True)))
                         + r")\w*", re.IGNORECASE)
    return [m.span() for m in pattern.finditer(text)]


def support_spans(text: str, support: list[str]) -> list[tuple[int, int]]:
    spans = []
    for s in support:
        i = text.find(s)
        if i >= 0:
            spans.append((i, i + len(s)))
    return spans


def snippet(text: str, query: str, width: int = 420, mentions: list[str] | None = None) -> str:
    """A window of the text around the first mention (when one is found) or else the first
    query word, both highlighted."""
    flat = " ".join(text.split())
    spans = term_spans(flat, query)
    cited = sorted({m.span() for raw in mentions or [] if raw.strip()
                    for m in re.finditer(re.escape(" ".join(raw.split())), flat)})
    first = cited or spans
    spans = sorted(cited + spans)
    start = max(0, first[0][0] - width // 3) if first else 0
    if start:
        start = flat.find(" ", start) + 1 or start
    piece = flat[start:start + width]
    inside = [(s - start, e - start) for s, e in spans if s >= start and e <= start + width]
    return ("…" if start else "") + marked(piece, inside) + ("…" if start + width < len(flat)
                                                              else "")


def copy_button(ex: dict) -> str:
    return (f'<button type="button" class="ob-copy" data-copy="{esc(export.full_citation(ex))}"'
            f' title="{esc(export.full_citation(ex))}">Copy citation</button>')


def notes_html(footnotes: list[dict]) -> str:
    if not footnotes:
        return ""
    items = "".join(f"<li><b>[{esc(f['number'])}]</b> {esc(f['text'])}</li>" for f in footnotes)
    return f'<ul class="ob-notes">{items}</ul>'


UNRESOLVED = {NOT_IN_CORPUS: "not in the corpus", UNIDENTIFIED: "instrument unidentified",
              OTHER_VERSION: "this version not in the corpus"}  # else the status


def provision_text(app: Ombuds, passage_ids: list[str]) -> str:
    """The cited provision passages, each under its pinpoint citation."""
    out = []
    for pid in passage_ids:
        pp = app.index.passage(pid)
        if pp is not None:
            out.append(f'<div class="ob-law-cite">{esc(app.index.cite(pp))}</div>'
                       f'<div class="ob-law-text">{esc(pp.text)}</div>')
    return "".join(out)


def refs_html(app: Ombuds, *passages: Passage) -> str:
    """The passages' legal references ("Cites:"), resolved against the corpus: an article in
    the corpus opens its text in place; an instrument named without an article is marked as
    in the corpus; any other reference is shown by name as unresolved, never with text."""
    g = graph(app.index)
    links, seen = [], set()
    for p in passages:
        for link in g.links(p):
            if (link.status, link.label) not in seen:
                seen.add((link.status, link.label))
                links.append(link)
    if not links:
        return ""
    items = []
    for link in links:  # the articles in the corpus first, each one click from its text
        if link.status == PROVISION:
            items.append(f'<details class="ob-law"><summary title="{esc(link.ref.raw)}">'
                         f'{esc(link.label)}</summary><div class="ob-law-body">'
                         f"{provision_text(app, link.passage_ids)}</div></details>")
    for link in links:
        if link.status == INSTRUMENT:
            items.append(f'<span class="ob-inst" title="{esc(link.ref.raw)}">{esc(link.label)} '
                         '<span class="ob-note">(in the corpus; no article named)</span></span>')
    for u in group_unresolved(links):
        note = UNRESOLVED.get(u.status, u.status.replace("corpus", "the corpus"))
        if u.several:
            note = note.replace("article not", "articles not")
        items.append(f'<span class="ob-unresolved" title="{esc(u.raw)}">{esc(u.label)} — '
                     f"{esc(note)}</span>")
    return f'<div class="ob-refs"><span class="ob-refs-h">Cites:</span>{"".join(items)}</div>'


def card(ex: dict, body: str, number: str = "", extra: str = "", anchor: str = "",
         app: Ombuds | None = None) -> str:
    """One passage: pinpoint citation, type, document, attribution, text, notes, and (given
    the app) its legal references, each cited article one click from its text."""
    source = ex["source"]
    p = app.passage(ex["passage_id"]) if app is not None else None
    refs = refs_html(app, p) if p is not None else ""
    doc_line = export.reference(source)
    attribution = (f'<div class="ob-attr">Testimony of {esc(ex["attribution"])}</div>'
                   if ex["attribution"] else "")
    ident = f' id="{esc(anchor)}"' if anchor else ""
    num = f'<span class="ob-n">{esc(number)}</span> ' if number else ""
    return (
        f'<article class="ob-card"{ident} data-passage="{esc(ex["passage_id"])}">'
        f'<header>{num}<span class="ob-cite">{esc(ex["citation"])}</span> '
        f'<span class="ob-badge ob-{esc(ex["passage_type"])}">{esc(ex["passage_type"])}</span> '
        f"{OCR_BADGE if ex.get('ocr') else ''}{copy_button(ex)}</header>"
        f'<div class="ob-doc">{esc(doc_line)}</div>{attribution}'
        f'<div class="ob-text">{body}</div>{notes_html(ex["footnotes"])}{refs}{extra}</article>'
    )


OCR_BADGE = ('<span class="ob-badge ob-ocr" title="Read by OCR from a scanned page: the '
             'quotation may hold recognition errors; check it against the original.">OCR</span> ')


def language_html(note: str | None) -> str:
    return f'<div class="ob-notice ob-lang">Note: {esc(note)}</div>' if note else ""


def in_document(index: Index, p: Passage) -> tuple[list[Passage], int]:
    """The passages of p's document in reading order, and p's position among them."""
    same = [q for q in index.passages if q.doc_id == p.doc_id]
    return same, next(i for i, q in enumerate(same) if q.passage_id == p.passage_id)


def document_window(app: Ombuds, p: Passage, start: int, end: int) -> str:
    """The document's text from start to end, escaped, with the passage highlighted."""
    text = app.doc_text(p.doc_id)
    if not text:
        return '<div class="ob-section-text">(the document text is not stored)</div>'
    start, end = max(0, start), min(len(text), end)
    focus = [(p.start - start, p.end - start)]
    return f'<div class="ob-section-text">{marked(text[start:end], focus, "ob-focus")}</div>'


def context_html(app: Ombuds, p: Passage) -> str:
    """The passage with the passages just before and after it."""
    same, i = in_document(app.index, p)
    return document_window(app, p, same[max(i - 1, 0)].start, same[min(i + 1, len(same) - 1)].end)


def section_html(app: Ombuds, passage_id: str) -> str:
    """The whole section of the document around a passage (from its heading on), the passage
    highlighted; the page scrolls to it (SCROLL_JS)."""
    p = app.passage(passage_id)
    if p is None:
        return ""
    same, i = in_document(app.index, p)
    lo = hi = i
    if p.section:
        while lo > 0 and same[lo - 1].section == p.section:
            lo -= 1
        while hi + 1 < len(same) and same[hi + 1].section == p.section:
            hi += 1
    else:  # a document without headings: the passages around it
        lo, hi = max(i - 3, 0), min(i + 3, len(same) - 1)
    start = same[lo - 1].end if lo > 0 else 0  # from the end of the previous section
    end = same[hi].end
    if end - start > SECTION_MAX_CHARS:
        start = max(start, p.start - SECTION_MAX_CHARS // 2)
        end = min(end, p.end + SECTION_MAX_CHARS // 2)
    ex = app.excerpt(p)
    where = " > ".join(p.section) or "(no section)"
    return (f'<div class="ob-section"><header><span class="ob-cite">{esc(ex["citation"])}</span>'
            f" {copy_button(ex)}</header>"
            f'<div class="ob-doc">{esc(export.reference(ex["source"]))}</div>'
            f'<div class="ob-where">{esc(where)}</div>'
            f"{document_window(app, p, start, end)}</div>")


MODE_NOTES = {
    "extractive": "Extractive answer: every sentence is quoted from the passage it cites.",
    "llm": "Generated answer, checked against the passages it cites.",
}


def confidence_html(answer) -> str:
    """The answerability model's probability, shown in the answer header."""
    if answer.confidence is None:
        return ""
    return f'<span class="ob-confidence">confidence: {answer.confidence:.2f}</span>'


def answer_html(app: Ombuds, answer) -> str:
    if not answer.answered:
        cards = ""
        for i, h in enumerate(answer.nearest, start=1):
            p = app.passage(h["passage_id"])
            if p is not None:
                cards += card(app.excerpt(p), esc(p.text), number=f"{i}.", app=app)
        why = f" ({esc(answer.reason)})" if answer.reason else ""
        notice = f" {esc(answer.notice)}" if answer.notice else ""
        return ('<div class="ob-banner ob-no"><b>The corpus does not answer this question.</b>'
                f"{why} {confidence_html(answer)}{notice}</div>"
                f'<h3 class="ob-h">Nearest passages</h3>{cards or "<p>(none)</p>"}')
    text = re.sub(r"\[(\d+)\]", r'<a class="ob-ref" href="#ob-cite-\1">[\1]</a>',
                  esc(answer.answer))
    notice = f'<div class="ob-notice">{esc(answer.notice)}</div>' if answer.notice else ""
    cards = []
    for c in answer.citations:
        p = app.passage(c.passage_id)
        ex = app.excerpt(p, c.support) if p else None
        if ex is None:
            continue
        context = ('<details class="ob-context"><summary>Context in the document</summary>'
                   f"{context_html(app, p)}</details>")
        cards.append(card(ex, marked(c.text, support_spans(c.text, c.support)),
                          number=f"[{c.n}]", extra=context, anchor=f"ob-cite-{c.n}", app=app))
    confidence = confidence_html(answer)
    head = f'<div class="ob-mode">{confidence}</div>' if confidence else ""
    return (f'<div class="ob-banner ob-ok">{notice}{head}<div class="ob-answer">{text}</div>'
            f'<div class="ob-mode">{esc(MODE_NOTES.get(answer.mode, answer.mode))}</div></div>'
            f'<h3 class="ob-h">Cited passages</h3>{"".join(cards)}')


def progress_html(app: Ombuds, answer, progress: Progress) -> str:
    """While a generated reply streams: how far it has come, above the extractive answer. The
    reply itself is not shown until it has passed the check."""
    line = (f'<div class="ob-progress" role="status">Writing an answer with '
            f"{esc(app.llm.model if app.llm else 'the language model')}: {progress.tokens} "
            f"tokens, {progress.seconds:.1f} s. It is shown once checked against the passages; "
            "meanwhile, the extractive answer:</div>")
    return line + answer_html(app, answer)


def hits_html(app: Ombuds, hits, query: str) -> str:
    note = language_html(language_note(app.index, query, hits))
    if not hits:
        return note + '<p class="ob-empty">No passage matches.</p>'
    cards = [note]
    for h in hits:
        ex = app.excerpt(h.passage)
        cards.append(card(ex, snippet(h.passage.text, query), number=f"{h.rank}.",
                          extra=f'<div class="ob-score">score {h.score:.3f}</div>', app=app))
    return "".join(cards)


# --- provisions --------------------------------------------------------------------------------


def article_html(app: Ombuds, h, situation: str) -> str:
    """One ranked article: citation, title, score, its full text, its own references, and the
    report passages close to the situation that cite it (as cards, with their references)."""
    a = h.article
    ex = dict(app.excerpt(a.passages[0]), citation=h.citation)
    title = f' <span class="ob-title">{esc(a.title)}</span>' if a.title else ""
    g = graph(app.index)
    cards = []
    for i, c in enumerate(h.cited_by, start=1):
        mentions = [link.ref.raw for link in g.links(c.passage)
                    if (link.ref.instrument, link.ref.article) == (a.instrument, a.article)]
        cards.append(card(app.excerpt(c.passage), snippet(c.passage.text, situation, 520,
                                                          mentions), number=f"{i}.", app=app))
    shown = "".join(cards[:CITED_BY_SHOWN]) or (
        '<p class="ob-empty">No report passage close to this situation cites it.</p>')
    rest = cards[CITED_BY_SHOWN:]
    more = (f'<details class="ob-more"><summary>{len(rest)} more report passage'
            f'{"s" if len(rest) > 1 else ""} close to the situation citing it</summary>'
            f'{"".join(rest)}</details>') if rest else ""
    n = h.cited_by_total
    total = f"cited by {n} report passage{'' if n == 1 else 's'} in all"
    return (
        f'<article class="ob-art" data-article="{esc(a.instrument)}:{esc(a.article)}">'
        f'<header><span class="ob-n">{h.rank}.</span> <span class="ob-cite">{esc(h.citation)}'
        f"</span>{title} {copy_button(ex)}</header>"
        f'<div class="ob-score">score {h.score:.3f} (text {h.retrieval:.2f}, cited by '
        f"relevant reports {h.graph:.2f})</div>"
        '<details class="ob-article" open><summary>Text of the article</summary>'
        f'<div class="ob-article-text">{marked(a.text, term_spans(a.text, situation))}</div>'
        f"</details>{refs_html(app, *a.passages)}"
        f'<div class="ob-citedby"><h4 class="ob-citedby-h">Cited by</h4>{shown}{more}'
        f'<div class="ob-total">{esc(total)}</div></div></article>'
    )


def provisions_html(app: Ombuds, hits, situation: str) -> str:
    """Ranked articles grouped by instrument, instruments in the order of their best article."""
    if not hits:
        return '<p class="ob-empty">No provision matches.</p>'
    groups = group_by_instrument(hits)
    out = [f'<p class="ob-summary">{len(hits)} article{"s" if len(hits) > 1 else ""} from '
           f'{len(groups)} instrument{"s" if len(groups) > 1 else ""}, most applicable first: '
           "ranked by how closely their text matches the situation and by the report passages "
           "close to it that cite them.</p>"]
    for instrument, group in groups:
        source = app.excerpt(group[0].article.passages[0])["source"]
        articles = "".join(article_html(app, h, situation) for h in group)
        out.append(f'<section class="ob-instrument" data-instrument="{esc(instrument)}">'
                   f'<h3 class="ob-inst-h">{esc(group[0].instrument_name)}</h3>'
                   f'<div class="ob-doc">{esc(export.reference(source))}</div>{articles}'
                   "</section>")
    return "".join(out)


def collection_html(items: list[dict]) -> str:
    """The collection's items as cards; an item marked removed (export.withdraw) shows only
    what it was, never its text."""
    if not items:
        return ('<p class="ob-empty">The collection is empty. Add passages and answers from the '
                "Ask, Search and Testimonies views.</p>")
    out = []
    for i, item in enumerate(items, start=1):
        if item.get("removed"):
            what = (f"Question: {item['question']}" if item["kind"] == "answer"
                    else item["excerpts"][0]["citation"])
            out.append(f'<article class="ob-card ob-removed"><header><span class="ob-n">{i}.'
                       f'</span> <span class="ob-cite">{esc(what)}</span> <span class='
                       f'"ob-badge">{esc(export.REMOVED)}</span></header><div class="ob-text">'
                       "Its source was removed from the library: its text is no longer shown "
                       "and exports leave it out. Drop it to tidy the collection.</div>"
                       "</article>")
        elif item["kind"] == "answer":
            cites = "".join(f"<li>[{esc(ex['n'])}] {esc(ex['citation'])}</li>"
                            for ex in item["excerpts"])
            out.append(f'<article class="ob-card"><header><span class="ob-n">{i}.</span> '
                       f'<span class="ob-cite">Question: {esc(item["question"])}</span> '
                       '<span class="ob-badge">answer</span></header>'
                       f'<div class="ob-text">{esc(item["answer"])}</div>'
                       f'<ul class="ob-notes">{cites}</ul></article>')
        else:
            ex = item["excerpts"][0]
            out.append(card(ex, esc(ex["text"]), number=f"{i}."))
    return "".join(out)


# --- testimonies -------------------------------------------------------------------------------

ROLES = {  # first match wins
    "official": r"\b(minist|ombudsman|government|authorit|police|consul|embass|committee|"
                r"deputy|migration service|akimat|UN\b|prosecutor)",
    "employer": r"\b(employer|farmer)",
    "NGO, union or expert": r"\b(NGO|union|initiative|foundation|fund|diaspora|expert|network|"
                            r"cent(re|er)|lawyer|protects|activist|group|organi[sz]ation)",
    "migrant worker": r"\b(migrants?|workers?|citizen|woman|man|mother|wife|husband)\b",
}
ROLE_CHOICES = [*ROLES, "not stated"]


def speaker_role(speaker: str | None) -> str:
    for role, pattern in ROLES.items():
        if speaker and re.search(pattern, speaker, re.IGNORECASE):
            return role
    return "not stated"


def find_testimonies(app: Ombuds, topic: str, place: str, roles: list[str], date_from: str,
                     date_to: str) -> tuple[list[Passage], str]:
    """Testimonies matching the filters, most relevant to the topic first (when given)."""
    lo, hi = date_span(date_from or None), date_span(date_to or None)
    for text, span in ((date_from, lo), (date_to, hi)):
        if text and span is None:
            raise gr.Error(f"cannot read the date '{text}' (use YYYY, YYYY-MM or YYYY-MM-DD)")
    pool = []
    for p in app.index.passages:
        if p.passage_type != "testimony":
            continue
        if place and place.strip().lower() not in (p.place or "").lower():
            continue
        if roles and speaker_role(p.speaker) not in roles:
            continue
        if lo or hi:
            when = date_span(p.date)
            if when is None or (lo and when[1] < lo[0]) or (hi and when[0] > hi[1]):
                continue
        pool.append(p)
    if not topic.strip():
        return pool, f"{len(pool)} testimonies"
    allowed = {p.passage_id for p in pool}
    hits = app.index.search(topic, k=max(1, len(app.index.ids)),
                            filters=Filters(passage_type=["testimony"]))
    ranked = [h.passage for h in hits if h.passage.passage_id in allowed][:TOPIC_LIMIT]
    return ranked, (f"the {len(ranked)} testimonies most relevant to '{topic}' "
                    f"(of {len(pool)} matching the filters)")


def testimonies_html(app: Ombuds, passages: list[Passage], summary: str, topic: str) -> str:
    cards = []
    for i, p in enumerate(passages, start=1):
        ex = app.excerpt(p)
        role = f'<div class="ob-role">Speaker: {esc(speaker_role(p.speaker))}</div>'
        body = marked(p.text, term_spans(p.text, topic)) if topic else esc(p.text)
        cards.append(card(ex, body, number=f"{i}.", extra=role, app=app))
    return f'<p class="ob-summary">{esc(summary)}</p>' + "".join(cards)


# --- the user interface ----------------------------------------------------------------------

CSS = """
.ob-card, .ob-section { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 10px 14px; margin: 10px 0; background: var(--background-fill-primary); }
.ob-card header, .ob-section header { display: flex; gap: 8px; align-items: baseline;
  flex-wrap: wrap; }
.ob-n { font-weight: 700; }
.ob-cite { font-weight: 600; }
.ob-badge { font-size: 0.8em; padding: 1px 8px; border-radius: 10px;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.ob-ocr { border-color: #b5651d; color: #b5651d; font-weight: 600; }
.ob-copy { margin-left: auto; font-size: 0.8em; padding: 2px 10px; border-radius: 6px;
  border: 1px solid var(--border-color-primary); cursor: pointer; }
.ob-doc, .ob-where, .ob-score, .ob-mode, .ob-role, .ob-refs { font-size: 0.85em;
  color: var(--body-text-color-subdued); }
.ob-attr { font-style: italic; margin: 4px 0; }
.ob-text { white-space: pre-wrap; margin: 6px 0; line-height: 1.5; }
.ob-notes { font-size: 0.85em; margin: 4px 0 0 0; padding-left: 1.2em; }
.ob-banner { border-radius: 8px; padding: 12px 14px; margin: 8px 0; }
.ob-ok { border: 1px solid #3a7d44; }
.ob-no { border: 1px solid #b5651d; background: rgba(181, 101, 29, 0.08); }
.ob-answer { font-size: 1.05em; line-height: 1.6; }
.ob-answer a.ob-ref { text-decoration: none; font-weight: 600; margin: 0; padding: 0 1px; }
.ob-notice { font-size: 0.9em; margin-bottom: 6px; }
.ob-progress { font-size: 0.9em; font-style: italic; margin: 8px 0; }
.ob-section-text { position: relative; white-space: pre-wrap; max-height: 32rem;
  overflow-y: auto; line-height: 1.5; padding: 6px; }
mark { background: #ffe58a; color: inherit; padding: 0 1px; }
mark.ob-focus { background: #d6ecff; outline: 2px solid #4a90d9; }
details summary { cursor: pointer; font-size: 0.9em; margin-top: 6px; }
.ob-empty, .ob-summary { color: var(--body-text-color-subdued); }
.ob-refs { display: flex; flex-wrap: wrap; gap: 3px 14px; align-items: baseline;
  margin-top: 6px; }
.ob-refs-h { font-weight: 600; }
.ob-refs details.ob-law > summary { margin: 0; font-size: 1em;
  color: var(--link-text-color, #1d5fa8); text-decoration: underline dotted; }
.ob-refs details.ob-law[open] { flex-basis: 100%; border-left: 3px solid #4a90d9;
  padding: 0 0 4px 8px; }
.ob-law-body { color: var(--body-text-color); font-size: 1.1em; max-height: 22rem;
  overflow-y: auto; }
.ob-law-cite { font-weight: 600; margin-top: 6px; }
.ob-law-text, .ob-article-text { white-space: pre-wrap; line-height: 1.5; }
.ob-note { font-style: italic; }
.ob-unresolved { font-style: italic; opacity: 0.85; }
.ob-removed { opacity: 0.7; border-style: dashed; }
.ob-instrument { margin: 18px 0 8px 0; }
.ob-inst-h { margin: 0; padding-bottom: 2px; font-size: 1.2em;
  border-bottom: 2px solid var(--border-color-primary); }
.ob-art { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 10px 14px; margin: 10px 0; background: var(--background-fill-primary); }
.ob-art header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.ob-title { font-style: italic; }
.ob-article-text { max-height: 16rem; overflow-y: auto; padding: 6px 10px; margin-top: 4px;
  border-radius: 6px; border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); }
.ob-citedby { margin: 8px 0 0 6px; padding-left: 10px;
  border-left: 2px solid var(--border-color-primary); }
.ob-citedby-h { margin: 4px 0 0 0; font-size: 1em; }
.ob-total { font-size: 0.85em; color: var(--body-text-color-subdued); }
"""

# Copy a citation (data-copy of the button clicked); the clipboard API needs a secure context
# (localhost or https), else the older execCommand path is used.
COPY_JS = """
element.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-copy]');
  if (!button) return;
  const text = button.dataset.copy;
  try { await navigator.clipboard.writeText(text); }
  catch (e) {
    const area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand('copy'); area.remove();
  }
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = 'Copy citation'; }, 1500);
});
"""

# After a section is shown, scroll its text box to the highlighted passage.
SCROLL_JS = COPY_JS + """
const scrollToFocus = () => {
  const focus = element.querySelector('mark.ob-focus');
  const box = element.querySelector('.ob-section-text');
  if (!focus || !box) return;
  box.scrollTop = Math.max(0, focus.offsetTop - 40);
  element.scrollIntoView({block: 'nearest'});
};
watch('value', scrollToFocus);
scrollToFocus();
"""


def html_view(scroll: bool = False, elem_id: str | None = None) -> gr.HTML:
    return gr.HTML("", js_on_load=SCROLL_JS if scroll else COPY_JS, elem_id=elem_id)


@dataclass
class FilterControls:
    doc: gr.Dropdown
    kind: gr.Dropdown
    jurisdiction: gr.Dropdown
    passage_type: gr.CheckboxGroup
    date_from: gr.Textbox
    date_to: gr.Textbox
    language: gr.Dropdown

    def inputs(self) -> list:
        return [self.doc, self.kind, self.jurisdiction, self.passage_type, self.date_from,
                self.date_to, self.language]


def filter_controls(app: Ombuds, prefix: str) -> FilterControls:
    with gr.Accordion("Filters", open=False):
        with gr.Row():
            doc = gr.Dropdown(app.doc_choices(), value=[], multiselect=True, label="Document",
                              elem_id=f"{prefix}-doc")
            kind = gr.Dropdown(app.kinds(), value=[], multiselect=True, label="Kind",
                               elem_id=f"{prefix}-kind")
            jurisdiction = gr.Dropdown(app.jurisdictions(), value=[], multiselect=True,
                                       label="Jurisdiction", elem_id=f"{prefix}-jurisdiction")
            language = gr.Dropdown(app.languages(), value=[], multiselect=True, label="Language",
                                   elem_id=f"{prefix}-language")
        with gr.Row():
            passage_type = gr.CheckboxGroup(list(PASSAGE_TYPES), label="Passage type",
                                            elem_id=f"{prefix}-type")
            date_from = gr.Textbox(label="From date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD",
                                   elem_id=f"{prefix}-from")
            date_to = gr.Textbox(label="To date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD",
                                 elem_id=f"{prefix}-to")
    return FilterControls(doc, kind, jurisdiction, passage_type, date_from, date_to, language)


make_filters = Filters.of


def added(items: list[dict]) -> None:
    gr.Info(f"Added to the collection ({len(items)} item{'s' if len(items) > 1 else ''}).",
            duration=3)


def picker(choices: list[tuple[str, str]]):
    return gr.update(choices=choices, value=None, visible=bool(choices))


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


def ask_tab(app: Ombuds, collection: gr.BrowserState) -> gr.Dropdown:
    with gr.Row():
        question = gr.Textbox(label="Question", scale=5, elem_id="ask-question",
                              placeholder="e.g. Do employers keep migrant workers' passports?")
        button = gr.Button("Ask", variant="primary", scale=1, elem_id="ask-button")
    gr.Examples(EXAMPLE_QUESTIONS, inputs=[question], label="Examples")
    filters = filter_controls(app, "ask")
    output = html_view(elem_id="ask-output")
    last = gr.State(None)  # the answer as a collection item
    with gr.Row():
        pick = gr.Radio([], label="Cited passage", visible=False, elem_id="ask-pick")
    with gr.Row():
        add_passage = gr.Button("Add passage to collection", size="sm", elem_id="ask-add")
        add_answer = gr.Button("Add answer to collection", size="sm", elem_id="ask-add-answer")

    def ask(question, documents, kinds, jurisdictions, passage_types, date_from, date_to,
            languages=None):
        q = (question or "").strip()
        if not q:
            yield '<p class="ob-empty">Type a question.</p>', None, picker([])
            return
        view = app.fresh()
        index = view.index
        if not index.ids:
            yield EMPTY_LIBRARY, None, picker([])
            return
        try:
            hits = index.search(q, k=8, mode="hybrid", filters=make_filters(
                documents, kinds, jurisdictions, passage_types, date_from, date_to, languages))
        except IndexError_ as e:
            raise gr.Error(str(e)) from None
        answer = answer_question(index, q, hits=hits)
        if view.llm is not None:
            # a generator: while the reply streams, the extractive answer with a progress line
            shown = 0.0
            for item in llm_answer_stream(index, q, hits, answer, view.llm):
                if not isinstance(item, Progress):
                    answer = item
                elif item.seconds - shown >= 0.3:
                    shown = item.seconds
                    yield progress_html(view, answer, item), None, picker([])
        note = language_note(index, q, hits)
        if note:
            answer.notice = f"{answer.notice}; {note}" if answer.notice else note
        if answer.answered:
            item = export.answer_item(answer, index.docs)
            choices = [(f"[{c.n}] {c.citation}", c.passage_id) for c in answer.citations]
        else:
            item = None
            choices = [(f"{i}. {h['citation']}", h["passage_id"])
                       for i, h in enumerate(answer.nearest, start=1)]
        yield answer_html(view, answer), item, picker(choices)

    def add_answer_fn(item, items):
        items = list(items or [])
        if not item:
            gr.Warning("There is no answer to add: ask a question the corpus answers first.")
            return app.withdrawn(items)
        items = app.withdrawn([*items, item])
        added(items)
        return items

    inputs = [question, *filters.inputs()]
    button.click(ask, inputs, [output, last, pick], api_name="ask")
    question.submit(ask, inputs, [output, last, pick], api_visibility="private")
    add_passage.click(app.collect, [pick, collection], [collection], api_name="add_passage")
    add_answer.click(add_answer_fn, [last, collection], [collection], api_name="add_answer")
    return filters.doc


def search_tab(app: Ombuds, collection: gr.BrowserState) -> gr.Dropdown:
    with gr.Row():
        query = gr.Textbox(label="Search", scale=5, elem_id="search-query",
                           placeholder="e.g. confiscation of passports by employers")
        button = gr.Button("Search", variant="primary", scale=1, elem_id="search-button")
    with gr.Row():
        mode_ = gr.Radio(list(MODES), value="hybrid", label="Mode", elem_id="search-mode")
        k_ = gr.Slider(5, 50, value=10, step=5, label="Results", elem_id="search-k")
    filters = filter_controls(app, "search")
    results = html_view(elem_id="search-results")
    pick = gr.Radio([], label="Open a result: its whole section, scrolled to it", visible=False,
                    elem_id="search-pick")
    section = html_view(scroll=True, elem_id="search-section")
    add = gr.Button("Add opened passage to collection", size="sm", elem_id="search-add")

    def search(query, mode, k, documents, kinds, jurisdictions, passage_types, date_from,
               date_to, languages=None):
        q = (query or "").strip()
        if not q:
            return '<p class="ob-empty">Type something to search for.</p>', picker([]), ""
        view = app.fresh()
        if not view.index.ids:
            return EMPTY_LIBRARY, picker([]), ""
        try:
            hits = view.index.search(q, k=int(k), mode=mode, filters=make_filters(
                documents, kinds, jurisdictions, passage_types, date_from, date_to, languages))
        except IndexError_ as e:
            raise gr.Error(str(e)) from None
        choices = [(f"{h.rank}. {h.citation}", h.passage.passage_id) for h in hits]
        return hits_html(view, hits, q), picker(choices), ""

    inputs = [query, mode_, k_, *filters.inputs()]
    button.click(search, inputs, [results, pick, section], api_name="search")
    query.submit(search, inputs, [results, pick, section], api_visibility="private")

    def open_passage(passage_id):
        return section_html(app.fresh(), passage_id) if passage_id else ""

    pick.change(open_passage, [pick], [section], api_name="open_passage")
    add.click(app.collect, [pick, collection], [collection], api_name="add_search_passage")
    return filters.doc


def provisions_tab(app: Ombuds) -> None:
    gr.Markdown("Describe a situation: the articles of the conventions and codes in the library "
                "that apply to it, grouped by instrument, each with the report passages that "
                "cite it.")
    with gr.Row():
        situation_ = gr.Textbox(label="Situation", lines=2, scale=5,
                                elem_id="provisions-situation",
                                placeholder="e.g. the farmer kept the passports of a family of "
                                            "tobacco pickers and paid them nothing until the end "
                                            "of the harvest")
        button = gr.Button("Find provisions", variant="primary", scale=1,
                           elem_id="provisions-button")
    with gr.Row():
        jurisdiction_ = gr.Dropdown(["any", *app.jurisdictions()], value="any",
                                    label="Jurisdiction", elem_id="provisions-jurisdiction")
        k_ = gr.Slider(3, 30, value=10, step=1, label="Articles", elem_id="provisions-k")
    results = html_view(elem_id="provisions-results")

    def find(situation, jurisdiction, k):
        s = (situation or "").strip()
        if not s:
            return ('<p class="ob-empty">Describe a situation: who did what to whom, where and '
                    "for how long.</p>")
        view = app.fresh()
        index = view.index
        if not index.ids:
            return EMPTY_LIBRARY
        if not graph(index).articles:
            return NO_PROVISIONS
        jur = None if jurisdiction in (None, "", "any") else jurisdiction
        try:
            hits = rank_provisions(index, s, k=int(k), jurisdiction=jur)
        except IndexError_ as e:
            raise gr.Error(str(e)) from None
        return provisions_html(view, hits, s)

    inputs = [situation_, jurisdiction_, k_]
    button.click(find, inputs, [results], api_name="provisions")
    situation_.submit(find, inputs, [results], api_visibility="private")


def testimonies_tab(app: Ombuds, demo: gr.Blocks, collection: gr.BrowserState) -> None:
    gr.Markdown("Testimonies quoted in the reports, with their speaker, place, date and "
                "source note.")
    with gr.Row():
        topic_ = gr.Textbox(label="Topic", placeholder="e.g. wages not paid", scale=3,
                            elem_id="testimony-topic")
        place_ = gr.Textbox(label="Place contains", placeholder="e.g. Almaty", scale=2,
                            elem_id="testimony-place")
    with gr.Row():
        roles_ = gr.CheckboxGroup(ROLE_CHOICES, label="Speaker", elem_id="testimony-roles")
        from_ = gr.Textbox(label="From date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD",
                           elem_id="testimony-from")
        to_ = gr.Textbox(label="To date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD",
                         elem_id="testimony-to")
    button = gr.Button("Show testimonies", variant="primary", elem_id="testimony-button")
    with gr.Row(equal_height=True):
        pick = gr.Dropdown([], value=None, label="Testimony", visible=False, scale=4,
                           elem_id="testimony-pick")
        add = gr.Button("Add testimony to collection", size="sm", scale=1,
                        elem_id="testimony-add")
    output = html_view(elem_id="testimony-output")

    def show(topic, place, roles, date_from, date_to):
        view = app.fresh()
        found, summary = find_testimonies(view, topic or "", place or "", roles or [],
                                          (date_from or "").strip(), (date_to or "").strip())
        choices = [(f"{i}. {view.excerpt(p)['citation']} ({p.speaker or 'speaker not stated'})",
                    p.passage_id) for i, p in enumerate(found, start=1)]
        return testimonies_html(view, found, summary, topic or ""), picker(choices)

    inputs = [topic_, place_, roles_, from_, to_]
    button.click(show, inputs, [output, pick], api_name="testimonies")
    topic_.submit(show, inputs, [output, pick], api_visibility="private")
    add.click(app.collect, [pick, collection], [collection], api_name="add_testimony")
    demo.load(show, inputs, [output, pick], api_visibility="private")


def library_rows(app: Ombuds) -> list[list]:
    rows = []
    for d in app.index.docs.values():
        when = (d["ingested_at"] or "").replace("T", " ")[:16]
        rows.append([d["doc_id"], d["title"], d["kind"], d["date"] or "", d["n_passages"],
                     when + (" UTC" if when else "")])
    return rows


def library_tab(app: Ombuds, demo: gr.Blocks, doc_filters: list[gr.Dropdown]) -> None:
    headers = ["id", "title", "kind", "date", "passages", "ingested"]
    table = gr.Dataframe(library_rows(app), headers=headers, interactive=False, wrap=True,
                         column_widths=["20%", "42%", "9%", "9%", "7%", "13%"],
                         elem_id="library-table", label="Documents")
    with gr.Row():
        with gr.Column():
            files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, type="filepath",
                            label=f"Upload PDF, Markdown or text files (up to {app.max_mb:g} MB "
                                  "each)", elem_id="library-upload")
            ingest = gr.Button("Ingest uploaded files", variant="primary",
                               elem_id="library-ingest")
        with gr.Column():
            doc = gr.Dropdown(app.doc_choices(), value=None, label="Document to remove",
                              elem_id="library-remove-doc")
            remove = gr.Button("Remove document", variant="stop", elem_id="library-remove")
    log = gr.Textbox(label="Log", lines=6, interactive=False, elem_id="library-log")

    def refreshed() -> list:
        view = app.fresh()
        choices = view.doc_choices()
        return [library_rows(view), gr.update(choices=choices, value=None),
                *[gr.update(choices=choices) for _ in doc_filters]]

    def upload(paths, progress=gr.Progress()):  # noqa: B008 - how Gradio asks for a progress bar
        if not paths:
            return ["Choose one or more files first.", *refreshed()]
        paths = [Path(p) for p in (paths if isinstance(paths, list) else [paths])]
        lines = app.ingest_uploads(paths, progress)
        progress((len(paths), len(paths)), desc="index updated")
        return ["\n".join(lines), *refreshed()]

    def remove_fn(doc_id):
        if not doc_id:
            return ["Choose a document to remove.", *refreshed()]
        return [app.remove(doc_id), *refreshed()]

    outputs = [log, table, doc, *doc_filters]
    ingest.click(upload, [files], outputs, api_name="upload")
    remove.click(remove_fn, [doc], outputs, api_name="remove", js="(d) => (d && confirm("
                 "'Remove ' + d + ' and all its passages from the library?')) ? d : null")
    demo.load(refreshed, None, outputs[1:], api_visibility="private")


def collection_tab(app: Ombuds, demo: gr.Blocks, collection: gr.BrowserState) -> None:
    view = html_view(elem_id="collection-view")
    with gr.Row():
        chosen = gr.Dropdown([], value=None, label="Item", type="value", scale=3,
                             elem_id="collection-item")
        up = gr.Button("Move up", size="sm", elem_id="collection-up")
        down = gr.Button("Move down", size="sm", elem_id="collection-down")
        drop = gr.Button("Drop", size="sm", variant="stop", elem_id="collection-drop")
        clear = gr.Button("Clear all", size="sm", elem_id="collection-clear")
    with gr.Row():
        export_title = gr.Textbox(value="Collection", label="Title of the export", scale=3,
                                  elem_id="collection-title")
        to_md = gr.Button("Export Markdown", elem_id="collection-md")
        to_docx = gr.Button("Export Word (.docx)", variant="primary", elem_id="collection-docx")
    file = gr.File(label="Exported file", interactive=False, elem_id="collection-file")

    def show(items, selected=None):
        items = app.withdrawn(items)
        choices = [(f"{i}. {export.label(it)}"[:160], i - 1) for i, it in
                   enumerate(items, start=1)]
        return collection_html(items), gr.update(choices=choices, value=selected)

    def loaded(items):
        """On opening the page: the collection shown, and stored back without the texts of
        what was removed from the library since (the browser keeps no copy of them)."""
        items = app.withdrawn(items)
        return (items, *show(items))

    def moved(items, i, delta):
        items = app.withdrawn(items)
        if i is None or not 0 <= int(i) < len(items):
            return (items, *show(items))
        i, j = int(i), min(max(int(i) + delta, 0), len(items) - 1)
        items[i], items[j] = items[j], items[i]
        return (items, *show(items, j))

    def dropped(items, i):
        items = app.withdrawn(items)
        if i is not None and 0 <= int(i) < len(items):
            items.pop(int(i))
        return (items, *show(items))

    def exported(items, title, fmt):
        items, title = app.withdrawn(items), (title or "").strip() or "Collection"
        if not items:
            raise gr.Error("The collection is empty.")
        name = f"{slug(title)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        for old in app.exports.iterdir():  # earlier exports, already downloaded
            if time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(dir=app.exports))
        if fmt == "md":
            path = folder / f"{name}.md"
            path.write_text(export.to_markdown(items, title), encoding="utf-8")
        else:
            path = export.to_docx(items, folder / f"{name}.docx", title)
        return str(path)

    outputs = [collection, view, chosen]
    collection.change(show, [collection], [view, chosen], api_visibility="private")
    up.click(lambda items, item: moved(items, item, -1), [collection, chosen], outputs,
             api_name="move_up")
    down.click(lambda items, item: moved(items, item, 1), [collection, chosen], outputs,
               api_name="move_down")
    drop.click(dropped, [collection, chosen], outputs, api_name="drop")
    clear.click(lambda: ([], *show([])), None, outputs, api_name="clear")
    to_md.click(lambda items, title: exported(items, title, "md"), [collection, export_title],
                [file], api_name="export_markdown")
    to_docx.click(lambda items, title: exported(items, title, "docx"), [collection, export_title],
                  [file], api_name="export_docx")
    demo.load(loaded, [collection], outputs, api_name="show_collection")


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
