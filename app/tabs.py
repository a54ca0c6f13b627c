"""The web app's views, one builder per tab (Ask, Search, Provisions, Testimonies, Library,
Collection), with the Gradio controls they share (filters, pickers, HTML views) and the
event handlers that read the index and call app/render.py for the HTML.

Kept apart from app/web.py, which holds the app's state (`Ombuds`) and builds the Blocks from
these tabs: here is what each control does, there what the controls work on.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from app import export
from app.answer import answer_question
from app.llm import Progress, llm_answer_stream
from app.render import (
    COPY_JS,
    ROLE_CHOICES,
    SCROLL_JS,
    answer_html,
    collection_html,
    hits_html,
    progress_html,
    provisions_html,
    section_html,
    speaker_role,
    testimonies_html,
)
from index.filters import Filters, date_span
from index.provisions import graph, rank_provisions, vote_weight
from index.search import MODES, IndexError_, language_note
from ingest.model import PASSAGE_TYPES, Passage
from ingest.pipeline import SUPPORTED, slug

if TYPE_CHECKING:
    from app.web import Ombuds

UPLOAD_TYPES = list(SUPPORTED)  # PDF, Word, web pages, Markdown, text
TOPIC_LIMIT = 20  # testimonies shown for a topic, most relevant first
EMPTY_LIBRARY = '<p class="ob-empty">The library is empty: add documents in the Library view.</p>'
EXAMPLE_QUESTIONS = [
    "Do employers confiscate the passports of migrant workers?",
    "What does Article 128 of the Criminal Code of Kazakhstan punish?",
    "What did the Special Rapporteur recommend about labour inspection?",
]
NO_PROVISIONS = ('<p class="ob-empty">No convention or code is in the library: add legal texts '
                 "in the Library view.</p>")


# --- the user interface ----------------------------------------------------------------------


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
            weight = vote_weight(index, s, jur)
            hits = rank_provisions(index, s, k=int(k), jurisdiction=jur, votes=weight)
        except IndexError_ as e:
            raise gr.Error(str(e)) from None
        return provisions_html(view, hits, s, weight)

    inputs = [situation_, jurisdiction_, k_]
    button.click(find, inputs, [results], api_name="provisions")
    situation_.submit(find, inputs, [results], api_visibility="private")


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
