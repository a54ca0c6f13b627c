"""A PDF page's lines rebuilt into paragraphs: words hyphenated across a line end rejoined
(the hyphen kept where the document writes the word with one), paragraph breaks told from
punctuation, numbering, bullets and changes of type, and headings kept as their own paragraphs.

Part of ingest/pdf.py's `read_pdf`, its last step; `_join_lines` also joins the lines of a
footnote (ingest/pdf_notes.py).
"""

from __future__ import annotations

import re

from ingest.pdf_extract import _Line
from ingest.pdf_garbled import _script
from ingest.pdf_layout import _Doc

# --------------------------------------------------------------------------------------------
# Paragraphs


class _Vocab:
    """Words of the document, to decide whether 'non-' + 'governmental' keeps its hyphen."""

    def __init__(self, doc: _Doc) -> None:
        self.hyphenated: set[str] = set()
        self.plain: set[str] = set()
        for page in doc.pages:
            for line in page.lines:
                if not line.text:
                    continue
                for word in _WORD.findall(line.text.lower()):
                    (self.hyphenated if "-" in word else self.plain).add(word)

    def keep_hyphen(self, left: str, right: str) -> bool:
        a = left.lower()
        b = right.lower()
        return f"{a}-{b}" in self.hyphenated and f"{a}{b}" not in self.plain


_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HYPHEN_END = re.compile(r"([^\W\d_]+)-$")
# a UN-style numbered paragraph "12. The Committee..." or recommendation "140.30 Publicly..."
_NUMBERED = re.compile(r"^\d{1,3}\.(?:\d{1,3}\.?)?\s+[\"'“‘(«]?([^\W\d_])")


def _numbered(text: str) -> bool:
    m = _NUMBERED.match(text)
    return m is not None and m.group(1).isupper()


_LIST_ITEM = re.compile(r"^(?:\(\w{1,4}\)|[a-z]\)|\d{1,3}\)|[•▪●◦■□‣\-\u2013\u2014])\s")
_TERMINAL = ".,;:!?。"
_SENTENCE_END = re.compile(r"[.!?;:。][\"'”’»)\]]*$")
_ENUMERATOR = re.compile(r"^(?:[IVXLC]{1,6}|[A-Z]|\d{1,2}(?:\.\d{1,2})*)\.\s+\S")


def _starts_upper(text: str) -> bool:
    """First letter upper case (or no case at all, as in CJK); digits and quotes are skipped."""
    for ch in text:
        if ch.isalpha():
            return not ch.islower()
    return True


def _starts_lower(text: str) -> bool:
    return bool(text) and text[0].isalpha() and text[0].islower()


def _is_cjk(ch: str) -> bool:
    return _script(ch) == "CJK" or ch in "。、，：；！？（）「」『』"


def _join_lines(parts: list[str], vocab: _Vocab | None = None) -> str:
    out = ""
    for part in parts:
        if not part:
            continue
        if not out:
            out = part
            continue
        m = _HYPHEN_END.search(out)
        if m and part[0].isalpha():
            right = _WORD.match(part)
            if part[0].islower() and not (
                vocab is not None and right and vocab.keep_hyphen(m.group(1), right.group(0))
            ):
                out = out[:-1] + part  # 'adip-' + 'iscing'
            else:
                out = out + part  # 'Secretary-' + 'General', 'non-' + 'governmental'
        elif _is_cjk(out[-1]) and _is_cjk(part[0]):
            out = out + part
        else:
            out = out + " " + part
    return out


def _typical_length(lines: list[_Line]) -> float:
    lengths = sorted(len(ln.text) for ln in lines if len(ln.text.split()) >= 3)
    if len(lengths) < 3:
        return float(max((len(ln.text) for ln in lines), default=0))
    return float(lengths[int(0.75 * (len(lengths) - 1))])


def _paragraphs(lines: list[_Line], doc: _Doc, vocab: _Vocab) -> list[str]:
    typical = _typical_length([ln for ln in lines if ln.text])
    heads = _headings(lines, doc, typical)
    paragraphs: list[list[str]] = []
    prev: _Line | None = None
    prev_head: int | None = None
    gap = True  # a blank line (or the page start) before the current line
    for i, line in enumerate(lines):
        if not line.text:
            gap = True
            continue
        head = heads[i]
        if prev is None or gap:
            new = True
        else:
            new = _breaks(prev, line, head, prev_head, doc, typical)
        if new:
            paragraphs.append([line.text])
        else:
            paragraphs[-1].append(line.text)
            if prev_head is not None and head is None:
                head = prev_head  # a heading wrapped onto a lowercase line
        prev, prev_head, gap = line, head, False
    return [p for p in (_join_lines(parts, vocab) for parts in paragraphs) if p]


def _breaks(
    prev: _Line,
    line: _Line,
    head: int | None,
    prev_head: int | None,
    doc: _Doc,
    typical: float,
) -> bool:
    """Does `line` start a new paragraph after `prev` (no blank line between them)?"""
    text = line.text
    if _HYPHEN_END.search(prev.text) and _starts_lower(text):
        return False  # a word split over the line end
    if _numbered(text):
        return True
    if prev_head is not None:  # after a heading line: more of the same heading, or not
        if head is not None:
            return head != prev_head
        return not (
            not doc.styled(prev)
            and _starts_lower(text)
            and text[-1] not in _TERMINAL
            and len(text.split()) <= 12
        )
    if head is not None:
        return True
    if prev.size is not None and line.size is not None and not _same_style(prev, line):
        return True  # the type changes: a bold summary after a table of facts, a caption...
    if line.bullet:
        return True
    if _LIST_ITEM.match(text) and prev.text[-1] in ".:;":
        return True
    return bool(_SENTENCE_END.search(prev.text)) and len(prev.text) < 0.8 * typical


def _same_style(a: _Line, b: _Line) -> bool:
    if a.size is None or b.size is None:
        return a.size is None and b.size is None
    return abs(a.size - b.size) < 0.5 and a.bold == b.bold


def _headings(lines: list[_Line], doc: _Doc, typical: float) -> list[int | None]:
    """Which lines are headings, as a heading id per line (None: not a heading).

    Styled lines (larger or bold type) are grouped into runs of the same style on consecutive
    lines; a run is one heading when it is short (<= 25 words), has no sentence punctuation at
    its line ends and is not the bold start of a paragraph that goes on in body type. Lines in
    body type are headings when short (<= 12 words, < 70% of the page's typical line length),
    without closing punctuation, starting with a capital, after the end of a sentence (or a
    blank line) and not followed by a lowercase continuation.
    """
    nonblank = [i for i, ln in enumerate(lines) if ln.text]
    out: list[int | None] = [None] * len(lines)
    k = 0
    while k < len(nonblank):
        i = nonblank[k]
        line = lines[i]
        if doc.styled(line):
            run = [i]
            while (
                k + len(run) < len(nonblank)
                and nonblank[k + len(run)] == run[-1] + 1
                and doc.styled(lines[run[-1] + 1])
                and _same_style(line, lines[run[-1] + 1])
                and not _ENUMERATOR.match(lines[run[-1] + 1].text)
            ):
                run.append(run[-1] + 1)
            k += len(run)
            nxt_i = nonblank[k] if k < len(nonblank) else None
            nxt = lines[nxt_i] if nxt_i is not None else None
            words = sum(len(lines[j].text.split()) for j in run)
            ok = (
                words <= 25
                and _starts_upper(line.text)
                and all(lines[j].text[-1] not in _TERMINAL for j in run)
                # a bold run-in start of a paragraph goes on in lowercase, in body type
                and not (nxt is not None and nxt_i == run[-1] + 1 and _starts_lower(nxt.text))
            )
            if ok:
                for j in run:
                    out[j] = i
            continue
        k += 1
        text = line.text
        if text[-1] in _TERMINAL or not _starts_upper(text):
            continue
        if len(text.split()) > 12 or len(text) >= 0.7 * typical:
            continue
        pos = k - 1
        nxt = lines[nonblank[pos + 1]] if pos + 1 < len(nonblank) else None
        if nxt is not None and nonblank[pos + 1] == i + 1 and _starts_lower(nxt.text):
            continue
        prv_i = nonblank[pos - 1] if pos > 0 else None
        if not (
            prv_i is None
            or prv_i != i - 1
            or _SENTENCE_END.search(lines[prv_i].text)
            or out[prv_i] is not None
        ):
            continue
        out[i] = i
    return out
