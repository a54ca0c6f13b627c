"""Text per page from a PDF (pypdf), cleaned for ingestion.

`read_pdf` opens a PDF, extracts the text of every page with pypdf, and cleans it:

* characters: NFKC (ligatures, non-breaking and other odd spaces), control, private-use and
  zero-width characters dropped;
* running headers and footers (lines that repeat at the top or bottom of many pages), bare page
  numbers, UN job numbers and margin line numbers removed;
* lines rebuilt into paragraphs (one blank line between paragraphs), words hyphenated across a
  line end rejoined, headings kept as their own paragraphs;
* footnotes at the bottom of a page (and UN-style "Notes" endnote lists) moved into
  `PdfPage.footnotes`; their markers stay in the body text.

The font size of every piece of text (from pypdf's `visitor_text` callback) is used to tell
footnotes (smaller type), superscript markers (much smaller type) and headings (larger or bold
type) from body text. When that information is not available, footnotes are left in the text.

Files that cannot be ingested raise `IngestError` with a one-line reason: empty, too large,
corrupt, encrypted without the password, without any text (a scan), or with a garbled text
layer (a broken font encoding, see `_garbled_reason`). Pages without text, or with a garbled
or misread layer, are read by OCR first unless `ocr="never"` (ingest/ocr.py decides which).

This module is the entry point; the steps of `read_pdf` live in their own modules, in the
order it runs them: ingest/pdf_extract.py opens the file with pypdf and extracts each page's
lines with their font size; ingest/pdf_garbled.py tells a broken text layer from text;
ingest/pdf_layout.py finds the body type size and removes running headers, footers and page
numbers; ingest/pdf_notes.py moves footnotes and endnotes out; ingest/pdf_paragraphs.py
rebuilds paragraphs and headings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ingest.model import IngestError
from ingest.pdf_extract import (
    _check_file,
    _clean_line,
    _extract_pages,
    _Line,
    _open,
    _quiet_pypdf,
    _RawPage,
    _title,
)
from ingest.pdf_garbled import _garbled_reason, _ocr_warnings, _text_stats
from ingest.pdf_layout import _Doc, _remove_margin_line_numbers, _remove_running_lines
from ingest.pdf_notes import _extract_footnotes
from ingest.pdf_paragraphs import _paragraphs, _Vocab

__all__ = ["PdfPage", "PdfText", "read_pdf"]

log = logging.getLogger(__name__)
_GARBLED = "unreadable text layer (broken font encoding)"


@dataclass
class PdfPage:
    number: int  # 1-based physical page number
    text: str  # cleaned body text; paragraphs separated by "\n\n"
    footnotes: dict[str, str] = field(default_factory=dict)  # number -> text
    ocr: bool = False  # the text was read from the page image by OCR


@dataclass
class PdfText:
    pages: list[PdfPage]  # only pages that gave text, in order
    warnings: list[str]  # one-line notes ("page 17: skipped, ...")
    title: str | None  # /Title metadata, if present and non-trivial


# --------------------------------------------------------------------------------------------
# Entry point


def read_pdf(path: Path, password: str | None = None, max_bytes: int | None = None,
             ocr: str = "auto", progress: bool = False) -> PdfText:
    """Read the text of a PDF, page by page, cleaned. Raise IngestError if it cannot be used.

    ocr: "auto" (pages without a usable text layer are read by OCR), "always" or "never";
    progress: show a progress bar over the OCRed pages."""
    path = Path(path)
    _check_file(path, max_bytes)
    with _quiet_pypdf():
        reader = _open(path, password)
        title = _title(reader)
        warns: list[str] = []
        raw_pages = _extract_pages(reader, warns)
    raw_pages, why = _with_ocr(path, password, raw_pages, ocr, warns, progress)

    if not any(line.text for page in raw_pages for line in page.lines):
        raise IngestError("no extractable text" + why)

    layer = [page for page in raw_pages if not page.ocr]
    all_raw = "\n".join(page.raw for page in layer)
    reason = _garbled_reason(_text_stats(all_raw))
    if reason and len(layer) == len(raw_pages):
        log.debug("%s: garbled text layer: %s", path, reason)
        raise IngestError(_GARBLED + why)
    kept = []
    for page in raw_pages:
        stats = _text_stats(page.raw)
        reason = _garbled_reason(stats) if stats.letters >= 100 and not page.ocr else None
        if reason:
            log.debug("%s: page %d: garbled text layer: %s", path, page.number, reason)
            warns.append(f"page {page.number}: skipped, garbled text layer (broken font encoding)")
        else:
            kept.append(page)
    if not any(line.text for page in kept for line in page.lines):
        raise IngestError(_GARBLED + why)
    raw_pages = kept
    warns.extend(_ocr_warnings([p for p in raw_pages if not p.ocr], all_raw))

    doc = _Doc(raw_pages)
    _remove_margin_line_numbers(doc)
    _remove_running_lines(doc)
    notes = _extract_footnotes(doc)
    vocab = _Vocab(doc)
    pages: list[PdfPage] = []
    for page in doc.pages:
        paragraphs = _paragraphs(page.lines, doc, vocab)
        text = "\n\n".join(paragraphs)
        page_notes = notes.get(page.number, {})
        if text or page_notes:
            pages.append(PdfPage(page.number, text, page_notes, page.ocr))
    if not pages:
        raise IngestError("no extractable text" + why)
    return PdfText(pages=pages, warnings=warns, title=title)


def _with_ocr(path: Path, password: str | None, raw_pages: list[_RawPage], mode: str,
              warns: list[str], progress: bool) -> tuple[list[_RawPage], str]:
    """The pages with those that need OCR read by Tesseract (ingest/ocr.py chooses them), and
    the end of an error message for when no usable text is left ("; OCR is off ...")."""
    from . import ocr

    if mode == "never":
        return raw_pages, "; OCR is off (--ocr never)"
    layers = [ocr.Layer(p.number, p.raw, _is_garbled(p), p.invisible) for p in raw_pages]
    result = ocr.ocr_pages(path, ocr.choose(path, password, layers, mode), password, progress)
    warns.extend(result.warnings)
    if result.unavailable:
        warns.append(f"{len(result.tried)} page(s) need OCR: {result.unavailable}")
        return raw_pages, f"; {result.unavailable}"
    if result.pages:
        read = sorted(result.pages)
        mean = sum(p.confidence for p in result.pages.values()) / len(read)
        warns.append(f"OCR ({result.languages}) read {len(read)} page(s) ({_ranges(read)}), "
                     f"mean word confidence {mean:.0f}%: expect recognition errors")
    out = []
    for page in raw_pages:
        found = result.pages.get(page.number)
        if found is None:
            out.append(page)
            continue
        lines = [_Line(_clean_line(t)) for t in found.text.split("\n")]
        out.append(_RawPage(page.number, found.text, lines, invisible=False, ocr=True))
    return out, (f"; OCR found no readable text on {len(result.tried)} page(s)"
                 if result.tried else "")


def _is_garbled(page: _RawPage) -> bool:
    stats = _text_stats(page.raw)
    return stats.letters >= 10 and _garbled_reason(stats) is not None


def _ranges(numbers: list[int]) -> str:
    """ "1-3, 7" from [1, 2, 3, 7]."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
