"""The web app's HTML: passages as cards, answers, search hits, sections of a document,
provisions, testimonies and the collection, with the page's CSS and the scripts of its HTML
views (copy a citation, scroll to the passage opened).

Kept apart from app/web.py (the app's state, building and serving) and app/tabs.py (the Gradio
controls and their events): these are plain functions from the index's objects to strings, the
part to read when changing what a view shows. Every piece of document text reaches the page
through `esc()` (html.escape), so markup or script inside a document is shown, never run.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from app import export
from app.llm import Progress
from index.lexical import tokenize
from index.provisions import (
    INSTRUMENT,
    NOT_IN_CORPUS,
    OTHER_VERSION,
    PROVISION,
    UNIDENTIFIED,
    graph,
    group_by_instrument,
    group_unresolved,
)
from index.search import Index, language_note
from ingest.model import Passage

if TYPE_CHECKING:
    from app.web import Ombuds

SECTION_MAX_CHARS = 60_000  # a longer "section" is cut to the passages around the one opened
CITED_BY_SHOWN = 3  # report passages shown open under an article; the rest behind a click


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
    text = re.sub(r"\[(\d+)((?:, note [^\]]+)?)\]",
                  r'<a class="ob-ref" href="#ob-cite-\1">[\1\2]</a>', esc(answer.answer))
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
        f"relevant reports {h.graph:.2f}, lay description {h.anchor:.2f})</div>"
        '<details class="ob-article" open><summary>Text of the article</summary>'
        f'<div class="ob-article-text">{marked(a.text, term_spans(a.text, situation))}</div>'
        f"</details>{refs_html(app, *a.passages)}"
        f'<div class="ob-citedby"><h4 class="ob-citedby-h">Cited by</h4>{shown}{more}'
        f'<div class="ob-total">{esc(total)}</div></div></article>'
    )


def provisions_html(app: Ombuds, hits, situation: str, vote_weight: float = 1.0) -> str:
    """Ranked articles grouped by instrument, instruments in the order of their best article;
    vote_weight (index.provisions.vote_weight) below 1 is said, since the ranking then leans
    on the articles' own words more than on what the reports cite."""
    if not hits:
        return '<p class="ob-empty">No provision matches.</p>'
    groups = group_by_instrument(hits)
    out = [f'<p class="ob-summary">{len(hits)} article{"s" if len(hits) > 1 else ""} from '
           f'{len(groups)} instrument{"s" if len(groups) > 1 else ""}, most applicable first: '
           "ranked by how closely their text and their lay descriptions match the situation "
           "and by the report passages close to it that cite them.</p>"]
    if vote_weight < 1:
        out.append('<p class="ob-note ob-vote-weight">The reports speak to this situation less '
                   "than the law does, so the articles they cite count at "
                   f"{vote_weight:.0%} of their weight.</p>")
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


def testimonies_html(app: Ombuds, passages: list[Passage], summary: str, topic: str) -> str:
    cards = []
    for i, p in enumerate(passages, start=1):
        ex = app.excerpt(p)
        role = f'<div class="ob-role">Speaker: {esc(speaker_role(p.speaker))}</div>'
        body = marked(p.text, term_spans(p.text, topic)) if topic else esc(p.text)
        cards.append(card(ex, body, number=f"{i}.", extra=role, app=app))
    return f'<p class="ob-summary">{esc(summary)}</p>' + "".join(cards)


# --- the page's style, and the scripts of its HTML views ---------------------------------------

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
/* pre-line: a quoted list (a lead-in and its items) keeps its lines */
.ob-answer { font-size: 1.05em; line-height: 1.6; white-space: pre-line; }
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
