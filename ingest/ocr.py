"""OCR for PDF pages without a usable text layer: pypdfium2 renders each page, Tesseract (through
pytesseract) reads it. Everything runs offline; Tesseract comes from Debian
(scripts/install-ocr.sh).

Which pages are read (`ombuds ingest --ocr auto`, the default):

* pages with no text that show an image (a scan; a blank page is left alone);
* pages whose text layer is mojibake from a broken font encoding (ingest.pdf decides);
* pages whose text is an invisible layer drawn over the page image, i.e. an earlier OCR, when
  that layer looks misread (`misread_share`, over all such pages of the document, at least
  MISREAD_LIMIT): such a layer ("revievv", "SWlTZERLAf"JD", "0ctober") is replaced.

`--ocr always` reads every page, `--ocr never` none. Page text that Tesseract reads with a
mean word confidence under MIN_CONFIDENCE (a script it has no model for) is not used.
"""

from __future__ import annotations

import os
import re
import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .model import IngestError

MODES = ("auto", "always", "never")
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus"
ENV_LANGS = "OMBUDS_OCR_LANGS"  # e.g. "eng+fra": Tesseract languages, instead of the automatic
DPI = 300  # Tesseract is trained on text of about this resolution
MIN_CONFIDENCE = 50.0
MISREAD_LIMIT = 0.005  # born-digital text has almost none (<= 0.1% on the shared PDFs)
PAGE_TIMEOUT_S = 120
WORKERS = max(1, min(2, os.cpu_count() or 1))


class OcrUnavailable(IngestError):
    """Tesseract (or its English/Russian data) is not installed; the message says how to."""


@dataclass
class Layer:
    """A PDF page's text layer, as the choice of pages to OCR needs it."""

    number: int  # 1-based
    text: str
    garbled: bool  # mojibake from a broken font encoding
    invisible: bool  # drawn invisibly over the page image: an earlier OCR


@dataclass
class OcrPage:
    number: int
    text: str  # lines joined by "\n", paragraphs by a blank line
    confidence: float  # mean word confidence, 0-100


@dataclass
class OcrResult:
    pages: dict[int, OcrPage] = field(default_factory=dict)  # the pages read, with usable text
    tried: list[int] = field(default_factory=list)  # the pages chosen for OCR
    unavailable: str = ""  # why OCR could not run (Tesseract missing), when it could not
    warnings: list[str] = field(default_factory=list)
    languages: str = ""  # the Tesseract languages used ("eng", "rus+eng")


# --- choosing pages ----------------------------------------------------------------------------


def choose(path: Path, password: str | None, layers: list[Layer], mode: str) -> list[int]:
    """The numbers of the pages to OCR."""
    if mode == "never":
        return []
    if mode == "always":
        return [la.number for la in layers]
    chosen = {la.number for la in layers if la.garbled}
    empty = [la.number for la in layers if not la.text.strip()]
    chosen |= image_pages(path, password, empty) if empty else set()
    earlier = [la for la in layers if la.invisible and la.text.strip() and not la.garbled]
    if earlier and misread_share("\n".join(la.text for la in earlier)) >= MISREAD_LIMIT:
        chosen |= {la.number for la in earlier}
    return sorted(chosen)


def image_pages(path: Path, password: str | None, numbers: list[int]) -> set[int]:
    """Which of the pages show an image (a scan, when they have no text)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError:
        return set()
    try:
        found = set()
        for n in numbers:
            page = pdf[n - 1]
            if next(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3), None):
                found.add(n)
            page.close()
        return found
    finally:
        pdf.close()


# OCR confusions, undone one at a time: a word that is not in the dictionary but becomes a
# dictionary word this way was misread ("governrnent", "revievv", "coricrete", "0ctober").
CONFUSIONS = [("rn", "m"), ("m", "rn"), ("vv", "w"), ("ri", "n"), ("n", "ri"), ("li", "h"),
              ("cl", "d"), ("ii", "u"), ("in", "m"), ("nn", "m"), ("l", "i"), ("i", "l"),
              ("1", "l"), ("0", "o"), ("5", "s"), ("c", "e"), ("e", "c"), ("f", "t"), ("t", "f"),
              ("'", ""), ("{", "i"), ("}", "i"), ("|", "l")]
# misread whatever the dictionary says: an odd symbol or digit glued inside a word, case chaos
SUSPECT = re.compile(
    r"""[^\W\d_]['"{}|\\^~<>][^\W\d_]{2,}   # 'Instit'utions', 'SWlTZERLAf"JD'
      | [a-z]\d+[a-z] | ^\d[a-z]{3,}$ | ^\d+[A-Z]{2,}$   # 'revi3w', '0ctober', '510NE'
      | [A-Z]{2,}[a-z]+[A-Z]                             # 'SWlTZERLAND'
      | [{}|\\^~<>]                                      # braces and bars in a word
    """, re.X)
_STRIP = ".,;:!?()[]\"“”‘’«»—–*•…"


@cache
def _dictionary() -> frozenset[str]:
    """English and Russian words (pyspellchecker's frequency lists, shipped in its wheel)."""
    from spellchecker import SpellChecker

    words: set[str] = set()
    for language in ("en", "ru"):
        words.update(SpellChecker(language=language, distance=1).word_frequency.dictionary)
    return frozenset(words)


def misread_share(text: str) -> float:
    """The share of a text's words that look misread by OCR: character statistics (odd symbols
    or digits inside words, case switches) and lower-case words that are not dictionary words
    but become one when a typical OCR confusion is undone. Names and capitalised words are
    judged by the character statistics only."""
    tokens = [re.sub(r"'(s|t|re|ve|ll|d|m)$", "", t.strip(_STRIP).replace("’", "'"))
              for t in text.split()]
    tokens = [t for t in tokens if sum(c.isalpha() for c in t) >= 2]
    if not tokens:
        return 0.0
    known = _dictionary()
    bad = 0
    for t in tokens:
        if SUSPECT.search(t) and sum(c.isalpha() for c in t) >= 2 / 3 * len(t):
            bad += 1  # (codes and paths such as "Sep<11>2014", "E:\\FR\\FM" are not words)
        elif len(t) >= 4 and t.isalpha() and t.islower() and t not in known:
            bad += any(_undone(t, a, b) & known for a, b in CONFUSIONS)
    return bad / len(tokens)


def _undone(word: str, a: str, b: str) -> set[str]:
    out, i = set(), word.find(a)
    while i >= 0:
        out.add(word[:i] + b + word[i + len(a):])
        i = word.find(a, i + 1)
    return out


# --- reading pages -----------------------------------------------------------------------------


@cache
def tesseract_languages() -> tuple[str, ...]:
    """The installed Tesseract languages ombuds reads with, English first. Raises OcrUnavailable
    with the install command when Tesseract or its data is missing."""
    import pytesseract

    try:
        installed = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError):
        raise OcrUnavailable(f"OCR needs Tesseract, which is not installed: {INSTALL}") from None
    wanted = os.environ.get(ENV_LANGS, "").split("+") if os.environ.get(ENV_LANGS) else []
    usable = tuple(x for x in (wanted or ["eng", "rus"]) if x in installed)
    if not usable:
        raise OcrUnavailable(f"Tesseract has no {'/'.join(wanted or ['eng', 'rus'])} language "
                             f"data: {INSTALL}")
    return usable


def tesseract_available() -> bool:
    try:
        tesseract_languages()
    except OcrUnavailable:
        return False
    return True


def ocr_pages(path: Path, numbers: list[int], password: str | None = None,
              progress: bool = False) -> OcrResult:
    """Render and read the given pages (1-based). Never raises for one bad page: it is left out
    with a warning; OcrResult.unavailable tells when Tesseract is missing."""
    result = OcrResult(tried=list(numbers))
    if not numbers:
        return result
    try:
        languages = tesseract_languages()
    except OcrUnavailable as e:
        result.unavailable = str(e)
        return result
    import pypdfium2 as pdfium
    from tqdm import tqdm

    # one Tesseract thread per process, and as many processes as cores: faster than letting
    # each page's process spread over the cores (the OpenMP threads mostly wait on each other)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        pdf = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as e:
        result.warnings.append(f"OCR: cannot render the pages ({e})")
        return result
    bar = tqdm(total=len(numbers), unit="page", desc="OCR", disable=not progress,
               file=sys.stderr, leave=False)
    try:
        langs = "+".join(languages)
        if len(languages) > 1 and not os.environ.get(ENV_LANGS):
            # the script decides the models: the first page at half resolution, read with all
            probe = _read(_render(pdf, numbers[0]).reduce(2), langs)
            langs = _languages_for(probe.text, languages)
        result.languages = langs
        with ThreadPoolExecutor(WORKERS) as pool:
            pending: deque[tuple[int, Future]] = deque()
            for n in numbers:
                # pdfium is not thread-safe: render here, read (a Tesseract process) in the pool
                pending.append((n, pool.submit(_read, _render(pdf, n), langs)))
                while len(pending) > WORKERS:
                    _collect(result, *pending.popleft(), bar)
            while pending:
                _collect(result, *pending.popleft(), bar)
    finally:
        bar.close()
        pdf.close()
    return result


def _render(pdf, number: int):
    """The page as a grey image for Tesseract, specks of dust removed (a 3x3 median filter:
    Tesseract reads each speck as a full stop or a quote; text strokes at 300 dpi are wider)."""
    from PIL import ImageFilter

    page = pdf[number - 1]
    try:
        return page.render(scale=DPI / 72, grayscale=True).to_pil().filter(
            ImageFilter.MedianFilter(3))
    finally:
        page.close()


def _collect(result: OcrResult, number: int, future: Future, bar) -> None:
    try:
        _keep(result, number, future.result())
    except RuntimeError as e:  # pytesseract's timeout, or Tesseract failing on the image
        result.warnings.append(f"page {number}: OCR failed ({str(e).splitlines()[0][:80]})")
    bar.update()


def _keep(result: OcrResult, number: int, page: OcrPage) -> None:
    """Keep a page's text when it reads as words: confident, and not digits alone (all that
    Tesseract makes of a script it has no model for, such as Japanese)."""
    page.number = number
    if not re.search(r"[^\W\d_]{3}", page.text):
        if page.text.strip():
            result.warnings.append(f"page {number}: OCR text not used (no words)")
    elif page.confidence < MIN_CONFIDENCE:
        result.warnings.append(f"page {number}: OCR text not used (mean confidence "
                               f"{page.confidence:.0f}%, under {MIN_CONFIDENCE:.0f}%)")
    else:
        result.pages[number] = page


def _read(image, langs: str) -> OcrPage:
    """Tesseract's words with their layout: lines joined by "\n", paragraphs by a blank line."""
    import pytesseract

    data = pytesseract.image_to_data(image, lang=langs, output_type=pytesseract.Output.DICT,
                                     timeout=PAGE_TIMEOUT_S)
    paragraphs: dict[tuple[int, int], dict[int, list[str]]] = {}
    confidences = []
    for i, word in enumerate(data["text"]):
        word = word.strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        confidences.append(conf)
        key = (data["block_num"][i], data["par_num"][i])
        paragraphs.setdefault(key, {}).setdefault(data["line_num"][i], []).append(word)
    text = "\n\n".join("\n".join(_line(words, langs) for words in lines.values())
                       for lines in paragraphs.values())
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrPage(0, text, mean)


# Tesseract's usual misreadings of a list bullet at the start of a line ("e Strengthening")
BULLET = re.compile(r"^(?:e|®|«|°|¢|\*)\s+(?=[A-ZА-Я])")


def _line(words: list[str], langs: str) -> str:
    """One line of words, with Tesseract's commonest slips undone: the pronoun "I" read as a
    bar in English ("| have"), a bullet read as a letter."""
    if langs.startswith("eng"):
        words = ["I" if w == "|" else w for w in words]
    return BULLET.sub("• ", " ".join(words))


def _languages_for(sample: str, languages: tuple[str, ...]) -> str:
    """The Tesseract languages for a document, from its first page read with all of them:
    one model alone when its script has (nearly) all the letters, since two models let
    homoglyphs in ("L'HOMME" read as "ГНОММЕ")."""
    letters = [c for c in sample if c.isalpha()]
    if not letters or len(languages) < 2:
        return "+".join(languages)
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff") / len(letters)
    if cyrillic < 0.05 and "eng" in languages:
        return "eng"
    if cyrillic > 0.95 and "rus" in languages:
        return "rus"
    return "+".join(sorted(languages, key=lambda x: x != ("rus" if cyrillic > 0.5 else "eng")))
