"""Sentence units: the sentences and footnotes of a passage, each embedded on its own.

A passage vector averages 150-250 words; a question whose answer is one clause of a long
passage (a penalty, a time limit, a figure) does not resemble that average. Each sentence, with
a short context line in front (the document's short title and the innermost heading, or the
article heading for a provision), and each footnote gets its own vector; retrieval scores a
passage by its best unit, and `ombuds ask` reuses the stored sentence vectors instead of
embedding candidate sentences at question time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.model import Footnote, Passage

MIN_WORDS = 4  # shorter sentences ("Article 7.", "Ibid.") join the next one
MAX_CHARS = 1200  # a table row or list run-on longer than this is cut (the model reads ~256 pieces)
# A list item means little without the sentence that introduces it: "temporary disability of
# the employee;" is a case of "The annual paid leave shall be postponed ... in the following
# cases:", "10) to provide the employees with equipment, tools" an obligation of "The employer
# is obliged:". An item's unit carries the passage's last lead-in (a sentence ending in a
# colon) before it, cut to LEAD_IN_CHARS; the item's span, and so what `ombuds ask` quotes,
# stays the item alone.
LEAD_IN_CHARS = 300
# Bump when the text embedded for a unit changes: a store whose units are of another version
# embeds them again, once, when it is next opened (Index.open). 2: list items with lead-ins.
UNITS_VERSION = "2"
LIST_ITEM = re.compile(r"^\s*(?:\(?[0-9]{1,3}(?:-[0-9]+)?\)|\(?[a-z]\)|[-–•*]\s|[a-zа-яё])")

# sentence ends: ., ! or ? (and a closing quote) before a space and a capital, a quote or a digit,
# except after common abbreviations and initials
ABBREVIATIONS = ("No", "no", "Nos", "art", "Art", "arts", "para", "paras", "p", "pp", "e.g",
                 "i.e", "Mr", "Mrs", "Ms", "Dr", "St", "cf", "Add", "Rev", "vol", "etc", "N")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[A-Z\"“(\d])")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of a passage; a line break (heading, list item,
    table row) always ends one."""
    spans = []
    for line in re.finditer(r"[^\n]+", text):
        base, chunk, start = line.start(), line.group(0), 0
        for m in SENTENCE_END.finditer(chunk):
            before = chunk[start : m.start()].rstrip("\"”’)")
            last_word = re.search(r"(\w+)\.$", before)
            if last_word and (last_word.group(1) in ABBREVIATIONS or len(last_word.group(1)) == 1):
                continue
            end = m.start() + len(m.group(0).rstrip())
            spans.append((base + start, base + end))
            start = m.end()
        if start < len(chunk.rstrip()):
            spans.append((base + start, base + len(chunk.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]


@dataclass(frozen=True)
class Unit:
    """One embedded unit of a passage: a sentence (start, end: offsets in the passage text) or
    a footnote (kind "footnote", start = end = -1, note = its number)."""

    kind: str  # "sentence" or "footnote"
    start: int
    end: int
    text: str  # what is embedded: the context line, then the sentence or note
    note: str | None = None


def context_line(p: Passage, doc: dict) -> str:
    """The short context in front of every unit: the document's short title and the innermost
    heading, or for a provision its article heading (with the article's title when it has one)."""
    title = doc.get("short_title") or doc.get("title") or ""
    heading = p.section[-1] if p.section else ""
    if p.passage_type == "provision":
        first = p.text.split("\n", 1)[0].strip()
        if first.lower().startswith("article") and len(first) < 200:
            heading = first.removesuffix(" (continued)")
    return f"{title} | {heading}" if heading else title


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The passage's sentences, a short one (a heading line, "Ibid.") merged into the next."""
    spans = sentences(text)
    merged: list[tuple[int, int]] = []
    pending: int | None = None
    for s, e in spans:
        start = s if pending is None else pending
        if len(text[start:e].split()) < MIN_WORDS:
            pending = start
            continue
        merged.append((start, e))
        pending = None
    if pending is not None:
        if merged:
            merged[-1] = (merged[-1][0], spans[-1][1])
        else:
            merged.append((pending, spans[-1][1]))
    return merged


def unit_notes(p: Passage) -> list[Footnote]:
    """The notes of a passage that get a unit, in order (amendment notes left out)."""
    return [f for f in p.footnotes if f.number != "amendments" and f.text.strip()]


def lead_ins(text: str, spans: list[tuple[int, int]], lead: str = "") -> tuple[list[str], str]:
    """For each sentence span, the lead-in of the list it is an item of ("" for none): the
    latest sentence before it that ends in a colon, while only list items come between; lead
    is the one open when the text starts (a list begun in the passage before). Returns the
    lead-ins and the one still open at the end."""
    out = []
    for s, e in spans:
        sentence = text[s:e].strip()
        item = bool(LIST_ITEM.match(sentence))
        if sentence.endswith("(continued)") and not out:
            out.append("")  # the article heading a continued passage repeats
            continue
        out.append(lead if item else "")
        if sentence.endswith(":"):
            lead = sentence[:LEAD_IN_CHARS]
        elif not item:
            lead = ""
    return out, lead


def passage_units(p: Passage, doc: dict) -> list[Unit]:
    """The units of a passage read alone: its sentences (a list item with its lead-in), then
    its notes (unit_notes). What is stored comes from document_units, which also sees a list
    continued from the passage before."""
    return _units(p, doc, "")[0]


def _units(p: Passage, doc: dict, lead: str) -> tuple[list[Unit], str]:
    head = context_line(p, doc)
    spans = sentence_spans(p.text)
    leads, still_open = lead_ins(p.text, spans, lead)
    units = [Unit("sentence", s, e, f"{head}\n" + (f"{lead}\n" if lead else "")
                  + p.text[s:e][:MAX_CHARS])
             for (s, e), lead in zip(spans, leads, strict=True)]
    units += [Unit("footnote", -1, -1, f"{head}\n{f.text[:MAX_CHARS]}", note=f.number)
              for f in unit_notes(p)]
    return units, still_open


def document_units(passages: list[Passage], doc: dict) -> dict[str, list[Unit]]:
    """The units of a document's passages, a list that runs on into the next passage of the
    same article (a long article split, its text after "(continued)") keeping its lead-in."""
    out: dict[str, list[Unit]] = {}
    lead, previous = "", None
    for p in sorted(passages, key=lambda x: x.seq):
        continues = (previous is not None and p.passage_type == "provision"
                     and p.article is not None and p.article == previous.article
                     and p.text.split("\n", 1)[0].endswith("(continued)"))
        out[p.passage_id], lead = _units(p, doc, lead if continues else "")
        previous = p
    return out
