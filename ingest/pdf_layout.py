"""The document-level view of a PDF's pages (`_Doc`: the body text's font size, against which
footnotes and headings are told apart) and the removal of what repeats from page to page:
running headers and footers, bare page numbers, UN job numbers, margin line numbers and
separator rules.

Part of ingest/pdf.py's `read_pdf`, run on the extracted lines (ingest/pdf_extract.py) before
the footnotes (ingest/pdf_notes.py) and the paragraphs (ingest/pdf_paragraphs.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter

from ingest.pdf_extract import _Line, _RawPage

# --------------------------------------------------------------------------------------------
# Document-level view: body font size, headers and footers


class _Doc:
    def __init__(self, raw_pages: list[_RawPage]) -> None:
        self.pages = raw_pages
        sizes: Counter[float] = Counter()
        bold = total = 0
        for page in raw_pages:
            for line in page.lines:
                n = len(line.text)
                if line.size is not None and n:
                    sizes[line.size] += n
                    total += n
                    bold += n if line.bold else 0
        self.body_size: float | None = sizes.most_common(1)[0][0] if sizes else None
        self.body_bold = total > 0 and bold > 0.5 * total

    def small(self, line: _Line) -> bool:
        """Set in smaller type than the body text (footnotes)."""
        return (
            self.body_size is not None
            and line.size is not None
            and line.size <= 0.93 * self.body_size
        )

    def styled(self, line: _Line) -> bool:
        """Set in larger or bold type (headings)."""
        if self.body_size is None or line.size is None:
            return False
        if line.size >= 1.08 * self.body_size:
            return True
        return line.bold and not self.body_bold and line.size >= 0.95 * self.body_size


def _nonblank(lines: list[_Line]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.text]


def _remove_margin_line_numbers(doc: _Doc) -> None:
    """Drop runs of >= 5 lines that are just 1, 2, 3... (line numbers printed in a margin)."""
    for page in doc.pages:
        idx = _nonblank(page.lines)
        run: list[int] = []
        for i in idx + [-1]:
            text = page.lines[i].text if i >= 0 else ""
            if text.isdigit() and len(text) <= 3 and (
                not run or int(text) == int(page.lines[run[-1]].text) + 1
            ):
                run.append(i)
                continue
            if len(run) >= 5:
                for j in run:
                    page.lines[j] = _Line("")
            run = [i] if text.isdigit() and len(text) <= 3 else []


_PAGE_NUMBER = re.compile(
    r"""^(?:[-\u2013\u2014]\s*)?\d{1,4}(?:\s*[-\u2013\u2014])?$                # 12, - 12 -
      | ^(?:page|p\.|pg\.|стр\.?|страница|seite|página|pagina)\s*\d{1,4}
         (?:\s*(?:of|из|/|de|von|di)\s*\d{1,4})?$                              # Page 3 of 10
    """,
    re.X | re.I,
)
_PAGE_OF = re.compile(r"^(\d{1,4})\s*(?:/|of|из)\s*(\d{1,4})$", re.I)  # 12/24, 3 of 10
_ROMAN_PAGE = re.compile(r"^(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})$")
_UN_JOB_NUMBER = re.compile(r"^GE\.\d{2}-\d{4,6}\b[\s\d()E*]*$")
_TAB_LIKE = re.compile(r"^[^\W\d_][^\d.;:!?\])]*$")  # no digits, no closing punctuation
EDGE_LINES = 3  # lines at the top and at the bottom of a page where running lines are found
REMOVE_LINES = 5  # ... and where they are removed once found (a title may follow a footer)


def _is_page_number(text: str, number: int, total: int) -> bool:
    """A bare page number line. '12/24' only when it gives this page or the page count: UN
    decisions are numbered '14/103' too."""
    if _PAGE_NUMBER.match(text) or _ROMAN_PAGE.match(text):
        return True
    m = _PAGE_OF.match(text)
    return m is not None and (int(m.group(1)) == number or int(m.group(2)) == total)



_ROMAN_EDGE = re.compile(r"^[ivxlc]{1,7}(?=\s|[A-Z])|(?<=\s)[ivxlc]{1,7}$")


def _hf_key(text: str) -> str | None:
    """What a running header/footer line looks like with its numbers taken out."""
    key = re.sub(r"\d+", "#", _ROMAN_EDGE.sub("", text).lower())
    key = re.sub(r"\s+", "", key).strip("#-\u2013\u2014|.,:;·•")
    return key or None


def _remove_running_lines(doc: _Doc) -> None:
    edges: list[list[int]] = []  # where running lines are removed
    idx_edges: list[set[int]] = []  # the first and last EDGE_LINES lines: page numbers
    key_pages: dict[str, list[int]] = {}
    tab_keys: set[str] = set()  # keys of short title-like edge lines ('ALG', 'B')
    for pos, page in enumerate(doc.pages):
        idx = _nonblank(page.lines)
        edge = sorted(set(idx[:EDGE_LINES] + idx[-EDGE_LINES:]))
        idx_edges.append(set(edge))
        edges.append(sorted(set(idx[:REMOVE_LINES] + idx[-REMOVE_LINES:])))
        for key in {_hf_key(page.lines[i].text) for i in edge} - {None}:
            key_pages.setdefault(key, []).append(pos)  # type: ignore[arg-type]
        for i in edge:
            text = page.lines[i].text
            if _TAB_LIKE.match(text):
                tab_keys.add(_hf_key(text))  # type: ignore[arg-type]

    n = sum(1 for page in doc.pages if _nonblank(page.lines))
    total = doc.pages[-1].number if doc.pages else 0
    threshold = max(3, math.ceil(0.4 * n))
    remove: dict[str, set[int]] = {}
    for key, positions in key_pages.items():
        if len(positions) >= threshold:
            remove[key] = set(range(len(doc.pages)))  # on every page
            continue
        # the same short title-like line ('ALG', 'B', no digits, no closing punctuation) at
        # the edge of >= 3 consecutive pages: a section's running head or thumb index
        if key not in tab_keys:
            continue
        run = [positions[0]]
        for pos in positions[1:] + [-10]:
            if pos == run[-1] + 1:
                run.append(pos)
                continue
            if len(run) >= 3:
                remove.setdefault(key, set()).update(run)
            run = [pos]

    # long running lines (>= 12 characters) found on many pages go wherever they are on a page
    # (a pull-quote may come after the footer); the others within REMOVE_LINES of the edges
    everywhere = {k for k, pages in key_pages.items() if len(pages) >= threshold and len(k) >= 12}
    # a running line glued to the end of the text's last line ('...the world. xiii Amnesty
    # International Report 2011'): cut it off, for the longer ones
    glued = [_glued_running_line(key) for key in remove if len(key) >= 12]
    for pos, page in enumerate(doc.pages):
        zone = set(edges[pos])
        for i, line in enumerate(page.lines):
            text = line.text
            if not text or (i not in zone and not everywhere):
                continue
            key = _hf_key(text)
            if (
                key in everywhere
                or (i in zone and key is not None and pos in remove.get(key, ()))
                or (
                    i in idx_edges[pos]
                    and (
                        _is_page_number(text, page.number, total)
                        or _UN_JOB_NUMBER.match(text) is not None
                    )
                )
            ):
                page.lines[i] = _Line("")
                continue
            if i in zone:
                for pattern in glued:
                    m = pattern.search(text)
                    if m and m.start() > 0:
                        line.text = text[: m.start()].rstrip()
                        break
        for line in page.lines:  # separator rules: "_____", "-----"
            if line.text and len(line.text) >= 3 and not line.text.strip("_-\u2013\u2014=*. "):
                line.text = ""


def _glued_running_line(key: str) -> re.Pattern[str]:
    """A regex for a running line (given by its key) at the end of a longer line."""
    body = r"\s*".join(r"\d+" if ch == "#" else re.escape(ch) for ch in key)
    return re.compile(rf"(?:(?<=\s)|(?<=[.,;:!?)]))(?:\d+|[ivxlc]{{1,7}})?\s*{body}\s*\d*$", re.I)
