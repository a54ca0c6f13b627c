"""A collection of passages and answers, exported as Markdown or as a Word document (.docx).

A collection is a list of items, plain JSON-ready dicts (the app keeps them in the browser):

    {"kind": "passage" | "answer",
     "question": str, "answer": str,   # an answer's question and text ("" for a passage)
     "excerpts": [excerpt, ...]}        # one for a passage; the cited passages of an answer

    excerpt = {"passage_id", "n" (the answer's [n], or None), "citation" (pinpoint),
               "passage_type", "text", "support" (sentences used by the answer),
               "attribution" (a testimony's speaker, place, date), "footnotes" [{number, text}],
               "source" {doc_id, short_title, title, publisher, date, symbol}}

Both exports give each excerpt its full citation (document, publisher, date, symbol and
pinpoint) and end with the list of the sources used. An item whose passage is no longer in the
library is marked {"removed": true} and emptied (`withdraw`): the app shows it as removed, and
the exports leave it out with a notice line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from ingest.model import Passage

SOURCE_FIELDS = ("doc_id", "short_title", "title", "publisher", "date", "symbol")
REMOVED = "removed from the library"
# characters that XML 1.0 (and so .docx) cannot hold, e.g. form feeds from PDF text
XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- building items --------------------------------------------------------------------------


def source_of(doc: dict) -> dict:
    return {k: str(doc.get(k) or "") for k in SOURCE_FIELDS}


def attribution(speaker: str | None, place: str | None, when: str | None) -> str:
    return ", ".join(x for x in (speaker, place, when) if x)


def excerpt(p: Passage, doc: dict, citation: str, support: list[str] | None = None,
            n: int | None = None) -> dict:
    return {
        "passage_id": p.passage_id, "n": n, "citation": citation,
        "passage_type": p.passage_type, "text": p.text, "support": list(support or []),
        "attribution": attribution(p.speaker, p.place, p.date)
        if p.passage_type == "testimony" else "",
        "footnotes": [{"number": f.number, "text": f.text} for f in p.footnotes],
        "source": source_of(doc),
        "ocr": p.ocr,  # read by OCR: the quotation may hold recognition errors
    }


def passage_item(p: Passage, doc: dict, citation: str) -> dict:
    return {"kind": "passage", "question": "", "answer": "",
            "excerpts": [excerpt(p, doc, citation)]}


def answer_item(answer, docs: dict[str, dict]) -> dict:
    """An item from an app.answer_types.Answer; docs maps doc_id to the document's metadata."""
    excerpts = []
    for c in answer.citations:
        t = c.testimony or {}
        excerpts.append({
            "passage_id": c.passage_id, "n": c.n, "citation": c.citation,
            "passage_type": c.passage_type, "text": c.text, "support": list(c.support),
            "attribution": attribution(t.get("speaker"), t.get("place"), t.get("date")),
            "footnotes": [{"number": f["number"], "text": f["text"]} for f in c.footnotes],
            "source": source_of(docs.get(c.doc_id) or {"doc_id": c.doc_id, "title": c.doc_title}),
        })
    return {"kind": "answer", "question": answer.question, "answer": answer.answer,
            "excerpts": excerpts}


def label(item: dict) -> str:
    """One line naming an item, for lists."""
    name = (f"Answer: {item['question']}" if item["kind"] == "answer"
            else item["excerpts"][0]["citation"])
    return f"{name} ({REMOVED})" if item.get("removed") else name


def withdraw(items: list[dict], present: Callable[[str], bool]) -> list[dict]:
    """The items, each one quoting a passage that is no longer in the library (`present` says
    which are) marked removed and emptied of the passage's text, attribution and notes: a
    withdrawn source is neither shown nor exported. An answer goes with any passage it cites,
    since its sentences quote them; what it was (question, citations) stays, so that the
    user sees what went."""
    out = []
    for item in items:
        if item.get("removed") or all(present(ex["passage_id"]) for ex in item["excerpts"]):
            out.append(item)
            continue
        out.append({**item, "removed": True, "answer": "", "excerpts": [
            {**ex, "text": "", "support": [], "attribution": "", "footnotes": []}
            for ex in item["excerpts"]]})
    return out


def _kept(items: list[dict]) -> tuple[list[dict], str]:
    """The items an export holds, and the notice line for those it leaves out."""
    kept = [it for it in items if not it.get("removed")]
    left = len(items) - len(kept)
    note = (f"{left} item{'s' if left > 1 else ''} left out: {REMOVED} since collected."
            if left else "")
    return kept, note


# --- citations -------------------------------------------------------------------------------


def reference(source: dict) -> str:
    """The full reference of a document: publisher, title, symbol, date."""
    title = source["title"] or source["short_title"] or source["doc_id"]
    parts = [source["publisher"], title]
    if source["symbol"] and source["symbol"] not in title:
        parts.append(source["symbol"])
    parts.append(source["date"])
    return ", ".join(x for x in parts if x)


def pinpoint(ex: dict) -> str:
    """The place inside the document: the citation without its leading short title."""
    short = ex["source"]["short_title"]
    cite = ex["citation"]
    if short and cite.startswith(short):
        return cite[len(short):].lstrip(", ")
    return cite


def full_citation(ex: dict) -> str:
    where = pinpoint(ex)
    return reference(ex["source"]) + (f", {where}" if where else "")


def sources(items: list[dict]) -> list[dict]:
    """The documents the items cite, once each, by short title."""
    found: dict[str, dict] = {}
    for item in items:
        for ex in item["excerpts"]:
            found.setdefault(ex["source"]["doc_id"], ex["source"])
    return sorted(found.values(), key=lambda s: (s["short_title"] or s["title"]).lower())


# --- Markdown --------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines())


def to_markdown(items: list[dict], title: str = "Collection") -> str:
    items, note = _kept(items)
    out = [f"# {title.strip() or 'Collection'}", "",
           f"Exported from ombuds on {date.today().isoformat()}: {len(items)} item(s).", ""]
    out += [note, ""] if note else []
    for i, item in enumerate(items, start=1):
        if item["kind"] == "answer":
            out += [f"## {i}. Question: {item['question']}", "", item["answer"], ""]
            for ex in item["excerpts"]:
                out += [f"**[{ex['n']}] {ex['citation']}** ({ex['passage_type']})", ""]
                out += [_quote(" … ".join(ex["support"]) or ex["text"]), ""]
                out += [f"Source: {full_citation(ex)}.", ""]
        else:
            ex = item["excerpts"][0]
            out += [f"## {i}. {ex['citation']} ({ex['passage_type']})", "", _quote(ex["text"]), ""]
            if ex["attribution"]:
                out += [f"Testimony: {ex['attribution']}.", ""]
            out += [f"Source: {full_citation(ex)}.", ""]
            if ex["footnotes"]:
                out += ["Notes:", ""] + [f"- [{f['number']}] {f['text']}" for f in ex["footnotes"]]
                out += [""]
    out += ["## Sources", ""]
    out += [f"- **{s['short_title'] or s['doc_id']}**: {reference(s)}." for s in sources(items)]
    return "\n".join(out) + "\n"


# --- Word ------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return XML_INVALID.sub("", text or "")


def _add_text_with_support(paragraph, text: str, support: list[str]) -> None:
    """The passage text, with the sentences an answer used in bold."""
    spans = []
    for s in support:
        i = text.find(s)
        if i >= 0:
            spans.append((i, i + len(s)))
    pos = 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        paragraph.add_run(_clean(text[pos:start]))
        paragraph.add_run(_clean(text[start:end])).bold = True
        pos = end
    paragraph.add_run(_clean(text[pos:]))


def to_docx(items: list[dict], path: Path, title: str = "Collection") -> Path:
    from docx import Document
    from docx.shared import Pt

    items, note = _kept(items)
    doc = Document()
    title = title.strip() or "Collection"
    doc.core_properties.title = _clean(title)
    doc.add_heading(_clean(title), level=0)
    doc.add_paragraph(f"Exported from ombuds on {date.today().isoformat()}: "
                      f"{len(items)} item(s).")
    if note:
        doc.add_paragraph(note)
    for i, item in enumerate(items, start=1):
        if item["kind"] == "answer":
            doc.add_heading(_clean(f"{i}. Question: {item['question']}"), level=1)
            doc.add_paragraph(_clean(item["answer"]))
            for ex in item["excerpts"]:
                doc.add_heading(_clean(f"[{ex['n']}] {ex['citation']}"), level=2)
                _add_text_with_support(doc.add_paragraph(style="Quote"), ex["text"], ex["support"])
                doc.add_paragraph(_clean(f"Source: {full_citation(ex)}."))
            continue
        ex = item["excerpts"][0]
        doc.add_heading(_clean(f"{i}. {ex['citation']} ({ex['passage_type']})"), level=1)
        doc.add_paragraph(_clean(ex["text"]), style="Quote")
        if ex["attribution"]:
            doc.add_paragraph(_clean(f"Testimony: {ex['attribution']}."))
        doc.add_paragraph(_clean(f"Source: {full_citation(ex)}."))
        for f in ex["footnotes"]:
            note = doc.add_paragraph(_clean(f"[{f['number']}] {f['text']}"))
            for run in note.runs:
                run.font.size = Pt(9)
    doc.add_heading("Sources", level=1)
    for s in sources(items):
        p = doc.add_paragraph(style="List Bullet")
        p.add_run(_clean(s["short_title"] or s["doc_id"])).bold = True
        p.add_run(_clean(f": {reference(s)}."))
    doc.save(str(path))
    return path
