"""Opening a PDF with pypdf and extracting the text of each page, line by line, with the font
size and weight of each line (from pypdf's `visitor_text` callback); and the cleaning of each
line's characters (NFKC, control, private-use and zero-width characters dropped).

Part of ingest/pdf.py's `read_pdf`, kept apart as the one module that talks to pypdf: the file
checks and refusals (empty, too large, corrupt, encrypted), the time limits per page and per
document, and the `_Line` and `_RawPage` records the later steps work on.
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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, PdfReadError, PdfStreamError, PyPdfError

from ingest.model import IngestError

PAGE_TIMEOUT_S = 20.0  # a single page taking longer than this is skipped (main thread only)
DOC_TIMEOUT_S = 600.0  # stop extracting further pages after this long
MAX_PAGE_CHARS = 500_000  # a page giving more text than this is cut (pathological content)


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
