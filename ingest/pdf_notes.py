"""Footnotes at the bottom of a PDF page, and UN-style "Notes" endnote lists, moved out of the
body lines into {page number: {footnote number: text}}; their markers stay in the body text.
Only done when font sizes are known: footnotes must be in smaller type than the body.

Part of ingest/pdf.py's `read_pdf`, kept apart: telling a block of notes from other small print
(markers in the body, numbering that goes on from the document's last note) is a subject of
its own.
"""

from __future__ import annotations

import math
import re

from ingest.pdf_extract import _Line, _RawPage
from ingest.pdf_layout import _Doc
from ingest.pdf_paragraphs import _join_lines

# --------------------------------------------------------------------------------------------
# Footnotes


_FN_LINE = re.compile(r"^(\d{1,3})\.?\s+(\S.*)$")
_NOTES_HEADING = re.compile(r"^(?:notes|endnotes|end notes|notes and references)\s*:?$", re.I)
_ANNEX = re.compile(r"^(?:annex|annexes|appendix|appendices)\b", re.I)


_GLUED_MARKER = re.compile(
    r"(?:(?<=[^\W\d_])|(?<=[^\W\d_][.,;:)\]”’\"']))(\d{1,3})(?![\d/]|[.,]\d)"
)


def _markers(lines: list[_Line], doc: _Doc) -> set[str]:
    """Footnote markers in body lines: superscript numbers, or numbers glued to a word
    ('Sudan1', 'standard.41')."""
    found: set[str] = set()
    for line in lines:
        if line.text and not doc.small(line):
            found.update(line.sups)
            found.update(_GLUED_MARKER.findall(line.text))
    return found


def _fn_number(line: _Line) -> tuple[int, str] | None:
    """(number, text) when the line starts like a footnote: '12 Ibid., para. 3.'"""
    if line.lead_sup is not None and line.lead_sup.isdigit():
        rest = line.text[len(line.lead_sup):].strip() if line.text.startswith(
            line.lead_sup) else line.text
        if rest:
            return int(line.lead_sup), rest
    m = _FN_LINE.match(line.text)
    if m:
        return int(m.group(1)), m.group(2)
    return None


def _extract_footnotes(doc: _Doc) -> dict[int, dict[str, str]]:
    """Move footnotes (bottom of page) and endnotes ("Notes" list) out of the body lines.

    Returns {page number: {footnote number: text}}. Only done when font sizes are known:
    footnotes must be in smaller type than the body, and (for footnotes at the bottom of a
    page) most of their numbers must appear as superscript markers in that page's body.
    """
    notes: dict[int, dict[str, str]] = {}
    if doc.body_size is None:
        return notes
    last: tuple[int, str] | None = None  # (page number, footnote number) of the last note
    for page in doc.pages:
        # (a note goes on at the top of the next page's notes, not further)
        prev = last if last is not None and last[0] == page.number - 1 else None
        found = _bottom_footnotes(page, doc, notes, prev, last)
        if found:
            notes[page.number] = found
            last = (page.number, list(found)[-1])
    _endnotes(doc, notes)
    return notes


def _bottom_footnotes(
    page: _RawPage,
    doc: _Doc,
    notes: dict[int, dict[str, str]],
    prev: tuple[int, str] | None,
    last: tuple[int, str] | None,
) -> dict[str, str]:
    """The numbered notes in small print at the bottom of a page, taken out of its lines.

    prev: (page number, note number) of the last note on the previous page, if any; last: of
    the last note found so far in the document.
    """
    lines = page.lines
    for start, line in enumerate(lines):
        if not line.text or not doc.small(line) or _fn_number(line) is None:
            continue
        block = _parse_notes(lines, start, doc)
        if block is None:
            continue
        end, parsed = block
        numbers = [n for n, _ in parsed]
        body = lines[:start]
        markers = _markers(body, doc)
        matched = sum(1 for n in numbers if str(n) in markers)
        strong = matched >= math.ceil(2 * len(numbers) / 3) and str(numbers[0]) in markers
        # or: the numbering continues the document's footnotes, and every number is in the
        # body, if only as a separate token ('Spain 4 (on behalf of...)', raised with Ts)
        expected = int(last[1]) + 1 if last is not None and last[1].isdigit() else 1
        tokens = {t for ln in body if ln.text and not doc.small(ln) for t in ln.text.split()}
        weak = numbers[0] == expected and all(
            str(n) in markers or str(n) in tokens for n in numbers
        )
        if not (strong or weak):
            continue
        # the tail after the notes must not hold more small print (else this is not the end)
        if any(doc.small(ln) and ln.text for ln in lines[end:]):
            continue
        _attach_continuation(lines, start, doc, notes, prev)
        for j in range(start, end):
            lines[j] = _Line("")
        return {str(n): text for n, text in parsed}
    return {}


def _parse_notes(
    lines: list[_Line], start: int, doc: _Doc
) -> tuple[int, list[tuple[int, str]]] | None:
    """Consecutive numbered small-print notes from `start`; (end index, [(number, text)])."""
    parsed: list[tuple[int, list[str]]] = []
    end = start
    j = start
    while j < len(lines):
        line = lines[j]
        if not line.text:
            j += 1
            continue
        if not doc.small(line):
            break
        fn = _fn_number(line)
        if fn is not None and (not parsed or fn[0] == parsed[-1][0] + 1):
            parsed.append((fn[0], [fn[1]]))
        elif parsed:
            parsed[-1][1].append(line.text)
        j += 1
        end = j
    if not parsed or len(parsed) > 40:
        return None
    return end, [(n, _join_lines(parts)) for n, parts in parsed]


def _attach_continuation(
    lines: list[_Line],
    start: int,
    doc: _Doc,
    notes: dict[int, dict[str, str]],
    last: tuple[int, str] | None,
) -> None:
    """Small print just above the first note, after a blank separator, continues the last note
    of the previous page: append it there and take it out of the body."""
    if last is None:
        return
    j = start - 1
    run: list[int] = []
    while j >= 0 and lines[j].text and doc.small(lines[j]) and _fn_number(lines[j]) is None:
        run.append(j)
        j -= 1
    if not run or (j >= 0 and lines[j].text):
        return
    page_no, number = last
    run.reverse()
    extra = _join_lines([lines[k].text for k in run])
    notes[page_no][number] = _join_lines([notes[page_no][number], extra])
    for k in run:
        lines[k] = _Line("")


def _endnotes(doc: _Doc, notes: dict[int, dict[str, str]]) -> None:
    """A 'Notes' heading followed by notes 1, 2, 3... in small print, to the end of the notes.

    The notes go to the `footnotes` of the page they are printed on. Checked: at least half of
    their numbers appear as superscript markers earlier in the document.
    """
    for pos, page in enumerate(doc.pages):
        for h, line in enumerate(page.lines):
            if not _NOTES_HEADING.match(line.text):
                continue
            nxt = next((ln for ln in page.lines[h + 1:] if ln.text), None)
            fn = _fn_number(nxt) if nxt is not None else None
            if nxt is None or fn is None or fn[0] != 1 or not doc.small(nxt):
                continue
            if _collect_endnotes(doc, pos, h, notes):
                return


def _collect_endnotes(
    doc: _Doc, pos: int, heading: int, notes: dict[int, dict[str, str]]
) -> bool:
    collected: list[tuple[int, int, list[str]]] = []  # (page number, note number, lines)
    used: list[tuple[int, int]] = []  # (page position, line index)
    done = False
    for p in range(pos, len(doc.pages)):
        page = doc.pages[p]
        first = heading + 1 if p == pos else 0
        for i in range(first, len(page.lines)):
            line = page.lines[i]
            if not line.text:
                continue
            fn = _fn_number(line)
            expected = collected[-1][1] + 1 if collected else 1
            if fn is not None and fn[0] == expected and doc.small(line):
                collected.append((page.number, fn[0], [fn[1]]))
            elif doc.small(line) and collected and not _ANNEX.match(line.text):
                collected[-1][2].append(line.text)
            else:
                done = True
                break
            used.append((p, i))
        if done:
            break
    if len(collected) < 2:
        return False
    markers = {m for page in doc.pages[: pos + 1] for m in _markers(page.lines, doc)}
    matched = sum(1 for _, n, _ in collected if str(n) in markers)
    if matched < 0.5 * len(collected):
        return False
    for page_no, n, parts in collected:
        notes.setdefault(page_no, {})[str(n)] = _join_lines(parts)
    doc.pages[pos].lines[heading] = _Line("")
    for p, i in used:
        doc.pages[p].lines[i] = _Line("")
    return True
