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
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import signal
import threading
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, PdfReadError, PdfStreamError, PyPdfError

from ingest.model import IngestError

__all__ = ["PdfPage", "PdfText", "read_pdf"]

PAGE_TIMEOUT_S = 20.0  # a single page taking longer than this is skipped (main thread only)
DOC_TIMEOUT_S = 600.0  # stop extracting further pages after this long
MAX_PAGE_CHARS = 500_000  # a page giving more text than this is cut (pathological content)

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


# --------------------------------------------------------------------------------------------
# Opening


def _check_file(path: Path, max_bytes: int | None) -> None:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as e:
        raise IngestError(f"cannot read file ({e.strerror or type(e).__name__})") from None
    if size == 0:
        raise IngestError("empty file")
    if max_bytes is not None and size > max_bytes:
        raise IngestError(f"file is larger than the {_mb(max_bytes)} MB limit")
    if b"%PDF" not in head:
        raise IngestError("corrupt or truncated PDF (no %PDF header: not a PDF file)")


def _mb(n: int) -> str:
    for unit in (1024 * 1024, 1_000_000):
        if n % unit == 0:
            return str(n // unit)
    return f"{n / 1_000_000:.6f}".rstrip("0").rstrip(".")


def _short(e: BaseException) -> str:
    """A one-line, short description of a pypdf exception."""
    msg = " ".join(str(e).split())
    if len(msg) > 120:
        msg = msg[:117] + "..."
    return msg or type(e).__name__


def _open(path: Path, password: str | None) -> PdfReader:
    try:
        reader = PdfReader(path)
    except DependencyError as e:
        raise IngestError(_dependency_message(e)) from None
    except Exception as e:  # pypdf raises many types on broken files
        raise IngestError(f"corrupt or truncated PDF ({_short(e)})") from None
    try:
        encrypted = reader.is_encrypted
    except Exception as e:
        raise IngestError(f"corrupt or truncated PDF ({_short(e)})") from None
    if encrypted:
        try:
            ok = reader.decrypt("")
            if not ok and password:
                ok = reader.decrypt(password)
        except DependencyError as e:
            raise IngestError(_dependency_message(e)) from None
        except Exception as e:
            raise IngestError(f"corrupt or truncated PDF ({_short(e)})") from None
        if not ok:
            if password:
                raise IngestError(
                    "encrypted PDF: a password is required (the one given is wrong)"
                )
            raise IngestError("encrypted PDF: a password is required")
    try:
        len(reader.pages)
    except DependencyError as e:
        raise IngestError(_dependency_message(e)) from None
    except Exception as e:
        raise IngestError(f"corrupt or truncated PDF ({_short(e)})") from None
    return reader


def _dependency_message(e: BaseException) -> str:
    return (
        "encrypted PDF: decrypting it needs the 'cryptography' package, which is not "
        f"installed ({_short(e)})"
    )


_TRIVIAL_TITLE = re.compile(
    r"^(untitled|title|document|doc\d*|microsoft word|print|slide \d+|none|unknown)$", re.I
)
_FILE_NAME = re.compile(r"\.(docx?|rtf|pdf|txt|exe|indd|qxd|odt|ps|tex|html?|xlsx?|pptx?)$", re.I)


def _title(reader: PdfReader) -> str | None:
    try:
        meta = reader.metadata
        raw = meta.title if meta is not None else None
    except Exception:
        return None
    if not raw or not isinstance(raw, str):
        return None
    title = " ".join(_nfkc(_strip_junk(raw)).split())
    title = re.sub(r"^Microsoft (Word|PowerPoint) - ", "", title)
    words = [w for w in title.split() if any(c.isalpha() for c in w)]
    if len(words) < 2 or _TRIVIAL_TITLE.match(title) or _FILE_NAME.search(title):
        return None
    return title


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs (and warns) about every oddity of a damaged file; keep that out of the way."""
    logger = logging.getLogger("pypdf")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(old)


# --------------------------------------------------------------------------------------------
# Extraction: pypdf text per page, with the font size of each line


class _PageTimeout(BaseException):
    """Raised by the alarm; a BaseException so that pypdf's `except Exception` lets it pass."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (POSIX main thread only, if no timer is running)."""
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )
    if not usable:
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise _PageTimeout()

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class _Line:
    text: str  # cleaned (NFKC, junk characters dropped, spaces collapsed); "" for a blank line
    size: float | None = None  # dominant effective font size, None when unknown
    bold: bool = False  # (nearly) all of it in a bold font
    bullet: bool = False  # started with a dingbat glyph (dropped from the text)
    lead_sup: str | None = None  # a small number leading the line (a footnote's number)
    sups: tuple[str, ...] = ()  # superscript numbers inside the line (footnote markers)


@dataclass
class _RawPage:
    number: int
    raw: str  # pypdf's text, untouched (for the garbled-text check)
    lines: list[_Line]
    invisible: bool  # text drawn in render mode 3 (invisible): an OCR layer over a scan
    cut: bool = False  # the text was cut at MAX_PAGE_CHARS
    ocr: bool = False  # read from the page image by OCR (ingest/ocr.py)


def _extract_pages(reader: PdfReader, warns: list[str]) -> list[_RawPage]:
    pages: list[_RawPage] = []
    n = len(reader.pages)
    started = time.monotonic()
    failures = 0
    for i in range(n):
        number = i + 1
        if time.monotonic() - started > DOC_TIMEOUT_S:
            warns.append(f"page {number}: stopped, the {DOC_TIMEOUT_S:g} s time limit was reached")
            break
        try:
            with _time_limit(PAGE_TIMEOUT_S):
                page = _extract_page(reader.pages[i], number)
        except _PageTimeout:
            failures += 1
            warns.append(f"page {number}: skipped, text extraction took over {PAGE_TIMEOUT_S:g} s")
            continue
        except DependencyError as e:
            raise IngestError(_dependency_message(e)) from None
        except (PdfReadError, PdfStreamError, PyPdfError) as e:
            failures += 1
            warns.append(f"page {number}: skipped, content stream is damaged ({type(e).__name__})")
            continue
        except (MemoryError, RecursionError) as e:
            failures += 1
            warns.append(f"page {number}: skipped, pathological content ({type(e).__name__})")
            continue
        except Exception as e:  # any other pypdf failure on this page only
            failures += 1
            warns.append(f"page {number}: skipped, text extraction failed ({type(e).__name__})")
            continue
        if page.cut:
            warns.append(f"page {number}: text cut at {MAX_PAGE_CHARS} characters")
        pages.append(page)
    if n and failures == n:
        raise IngestError(f"corrupt or truncated PDF (text extraction failed on all {n} pages)")
    return pages


def _extract_page(page: Any, number: int) -> _RawPage:
    segs: list[tuple[str, float | None, Any]] = []
    # text render mode (part of the graphics state: saved by q, restored by Q), and how many
    # characters are shown visibly and invisibly (mode 3 or 7: an OCR layer over an image)
    state = {"mode": 0, "visible": 0, "invisible": 0}
    saved: list[int] = []

    def before(op: bytes, args: Any, cm: Any, tm: Any) -> None:
        if op in _SHOW_OPS:
            key = "invisible" if state["mode"] in (3, 7) else "visible"
            state[key] += _shown_chars(op, args)
        elif op == b"Tr" and args:
            with contextlib.suppress(TypeError, ValueError):
                state["mode"] = int(args[0])
        elif op == b"q":
            saved.append(state["mode"])
        elif op == b"Q" and saved:
            state["mode"] = saved.pop()

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text:
            segs.append((text, _effective_size(size, cm, tm), font))

    raw = page.extract_text(visitor_operand_before=before, visitor_text=visit)
    cut = len(raw) > MAX_PAGE_CHARS
    if not cut and "".join(s[0] for s in segs) == raw:
        lines = _lines_from_segments(segs)
    else:  # cannot align sizes with the text: text only
        raw = raw[:MAX_PAGE_CHARS]
        lines = [_Line(_clean_line(t)) for t in raw.split("\n")]
    invisible = state["invisible"] > max(20, state["visible"])
    return _RawPage(number, raw, lines, invisible, cut)


_SHOW_OPS = {b"Tj", b"TJ", b"'", b'"'}


def _shown_chars(op: bytes, args: Any) -> int:
    """Non-space characters (bytes) in the operands of a text-showing operator."""
    try:
        items = args[0] if op == b"TJ" else args[-1:]
        n = 0
        for item in items:
            if isinstance(item, bytes):
                n += len(item) - item.count(b" ")
            elif isinstance(item, str):
                n += len(item) - item.count(" ")
        return n
    except (TypeError, IndexError):
        return 0


def _effective_size(size: Any, cm: Any, tm: Any) -> float | None:
    try:
        c = tm[2] * cm[0] + tm[3] * cm[2]
        d = tm[2] * cm[1] + tm[3] * cm[3]
        eff = float(size) * math.hypot(c, d)
    except (TypeError, ValueError, IndexError):
        return None
    return round(eff, 1) if eff > 0 and math.isfinite(eff) else None


@lru_cache(maxsize=512)
def _font_kind(name: str) -> str:
    """'dingbat', 'bold' or 'regular', from a font's /BaseFont name."""
    if re.search(r"(?i)wingding|webding|dingbat|zapf", name):
        return "dingbat"
    if re.search(r"(?i)bold|black|heavy|demi|(?<![a-z])bd", name):
        return "bold"
    return "regular"


def _font_name(font: Any) -> str:
    try:
        return str(font.get("/BaseFont", "")) if font is not None else ""
    except Exception:
        return ""


_SUP_TEXT = re.compile(r"^\d{1,3}(?:[,\u2013-]\d{1,3})*$")


def _lines_from_segments(segs: list[tuple[str, float | None, Any]]) -> list[_Line]:
    lines: list[_Line] = []
    cur: list[tuple[str, float | None, str]] = []
    for text, size, font in segs:
        kind = _font_kind(_font_name(font))
        parts = text.split("\n")
        for k, part in enumerate(parts):
            if part:
                cur.append((part, size, kind))
            if k < len(parts) - 1:
                lines.append(_make_line(cur))
                cur = []
    lines.append(_make_line(cur))
    return lines


def _make_line(segs: list[tuple[str, float | None, str]]) -> _Line:
    weights: Counter[float] = Counter()
    bold_chars = chars = 0
    for text, size, kind in segs:
        n = sum(1 for c in text if not c.isspace())
        if not n or kind == "dingbat":
            continue
        chars += n
        if size is not None:
            weights[size] += n
        if kind == "bold":
            bold_chars += n
    size = weights.most_common(1)[0][0] if weights else None
    pieces: list[str] = []
    sups: list[str] = []
    lead_sup = None
    bullet = False
    seen_text = False
    for text, seg_size, kind in segs:
        if kind == "dingbat":
            if not seen_text and text.strip():
                bullet = True
            pieces.append(" ")
            continue
        stripped = text.strip()
        small = size is not None and seg_size is not None and seg_size <= 0.8 * size
        if stripped and small and _SUP_TEXT.match(stripped):
            if not seen_text:
                lead_sup = stripped
            else:
                sups.extend(re.split(r"[,\u2013-]", stripped))
        if stripped:
            seen_text = True
        pieces.append(text)
    text = _clean_line("".join(pieces))
    return _Line(
        text=text,
        size=size,
        bold=chars > 0 and bold_chars >= 0.8 * chars,
        bullet=bullet and bool(text),
        lead_sup=lead_sup,
        sups=tuple(sups),
    )


_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f"}


def _strip_junk(s: str) -> str:
    """Drop control, private-use, unassigned and zero-width characters (tabs become spaces)."""
    if s.isascii() and s.isprintable():
        return s
    out = []
    for ch in s:
        if ch == "\t":
            out.append(" ")
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cn", "Cs") or ch in _ZERO_WIDTH:
            continue
        out.append(ch)
    return "".join(out)


def _clean_line(s: str) -> str:
    s = s.rstrip()
    if s.endswith("\u00ad"):  # a soft hyphen at the end of a line is a hyphenation point
        s = s[:-1] + "-"
    s = s.replace("\u00ad", "")
    return " ".join(_nfkc(_strip_junk(s)).split())


def _nfkc(s: str) -> str:
    """NFKC (ligatures, odd spaces, full-width forms), but keep '№' (NFKC makes it 'No')."""
    return "№".join(unicodedata.normalize("NFKC", part) for part in s.split("№"))


# --------------------------------------------------------------------------------------------
# Garbled text layers


@dataclass
class _Stats:
    nonspace: int = 0
    bad: int = 0  # control, private-use, unassigned characters, U+FFFD
    letters: int = 0
    scripts: Counter[str] = field(default_factory=Counter)
    cased_tokens: int = 0  # tokens of >= 3 letters in a script with upper/lower case
    chaotic_tokens: int = 0  # ... with two or more lower->upper switches ("AmNesTy", "HQČåQt")


_CJK_WORDS = {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "HALFWIDTH"}
_NEUTRAL_WORDS = {"MODIFIER", "MASCULINE", "FEMININE", "SUPERSCRIPT", "SUBSCRIPT"}


@lru_cache(maxsize=8192)
def _script(ch: str) -> str:
    word = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    if word in _CJK_WORDS or word == "FULLWIDTH":
        return "CJK"
    if word in _NEUTRAL_WORDS:
        return ""
    return word


def _text_stats(text: str) -> _Stats:
    st = _Stats()
    for ch, n in Counter(text).items():
        if ch.isspace():
            continue
        st.nonspace += n
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cn", "Cs") or ch == "\ufffd":
            st.bad += n
        elif cat.startswith("L"):
            script = _script(ch)
            if script:
                st.letters += n
                st.scripts[script] += n
    for tok in text.split():
        if tok.islower() or tok.istitle() or tok.isupper() or tok.upper() == tok.lower():
            if tok.upper() != tok.lower() and sum(c.isalpha() for c in tok) >= 3:
                st.cased_tokens += 1
            continue
        letters = [c for c in tok if c.isalpha()]
        if len(letters) < 3:
            continue
        st.cased_tokens += 1
        switches = sum(1 for a, b in zip(letters, letters[1:], strict=False)
                       if a.islower() and b.isupper())
        if switches >= 2:
            st.chaotic_tokens += 1
    return st


def _garbled_reason(st: _Stats) -> str | None:
    """Why a text layer looks like mojibake from a broken character map, or None.

    Three measures, each explainable on its own:
    * junk characters: >= 5% of the non-space characters are control, private-use or
      unassigned code points (e.g. '\\x03' separators from a non-Unicode CMap);
    * script mixture: with >= 50 letters, the two most common scripts (Latin, Cyrillic, CJK
      with kana and hangul counted as one, Arabic...) cover < 80% of the letters AND at least
      5 scripts have >= 1% each (mojibake scatters glyph ids over Greek, Tamil, Kannada,
      NKo...); bilingual text (Arabic + Latin, Russian + English) and a UN masthead in its
      six languages (4 scripts) pass;
    * case chaos: >= 30% of the words written in a cased script switch from lower to upper
      case twice or more inside the word ('3HQČåQtSURVWĜHGN').
    """
    if st.nonspace < 10:
        return None
    if st.bad >= 0.05 * st.nonspace:
        return f"{st.bad} of {st.nonspace} characters are control/unassigned/private-use"
    if st.letters >= 50:
        top2 = sum(n for _, n in st.scripts.most_common(2))
        many = sum(1 for n in st.scripts.values() if n >= 0.01 * st.letters)
        if top2 < 0.8 * st.letters and many >= 5:
            return f"letters scattered over scripts {dict(st.scripts.most_common(4))}"
    if st.cased_tokens and st.chaotic_tokens >= max(1, 0.3 * st.cased_tokens):
        return f"{st.chaotic_tokens} of {st.cased_tokens} words switch case inside the word"
    return None


_OCR_SUSPECT = re.compile(
    r"""[^\W\d_][{}|\\^~<>"]|[{}|\\^~<>][^\W\d_]   # odd symbol glued to a letter
      | [a-z]\d+[a-z]                               # digit inside a lowercase word
      | ^\d[a-z]{3,}$                               # '0ctober'
      | [A-Z]{2,}[a-z]+[A-Z]                        # 'SWlTZERLAND'
      | ^\d+[A-Z]{2,}$                              # '510NE'
    """,
    re.X,
)


def _ocr_warnings(pages: list[_RawPage], text: str) -> list[str]:
    """A warning when the text comes from an (invisible) OCR layer drawn over scanned pages."""
    with_text = [p for p in pages if p.raw.strip()]
    ocr = [p for p in with_text if p.invisible]
    if not ocr or len(ocr) < 0.5 * len(with_text):
        return []
    words = [w.strip(".,;:()[]\"'“”‘’") for w in text.split()]
    words = [w for w in words if any(c.isalpha() for c in w)]
    suspect = sum(1 for w in words if _OCR_SUSPECT.search(w))
    return [
        f"text comes from an OCR layer over scanned pages ({len(ocr)} of {len(with_text)} "
        f"pages); expect recognition errors ({suspect} of {len(words)} words look misread)"
    ]


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
