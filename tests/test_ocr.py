"""OCR of PDFs without a usable text layer: the scanned and the noisy-layer letters of
../shared/pdfs, a page of a seed report printed, scanned and read back (character error rate),
the OCR mark from ingestion to JSON, the choice of pages, and a missing Tesseract."""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from pathlib import Path

import pypdfium2 as pdfium
import pytesseract
import pytest
from click.testing import CliRunner
from conftest import PDFS, UN, image_pdf
from pypdf import PdfReader
from rapidfuzz.distance import Levenshtein

from app.cli import cli
from index.store import Store
from ingest import ocr
from ingest.model import Document, IngestError, Passage
from ingest.pdf import read_pdf
from ingest.pipeline import load

SCAN = PDFS / "un-ohchr-letter-scanned-image-only.pdf"
NOISY = PDFS / "un-ohchr-letter-scanned-noisy-ocr-layer.pdf"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
CER_TARGET = 0.03
needs_tesseract = pytest.mark.skipif(not ocr.tesseract_available(), reason="no Tesseract")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def letters(tmp_path_factory) -> Path:
    """A data dir holding the two scanned letters, ingested with the default --ocr auto."""
    data = tmp_path_factory.mktemp("letters") / "data"
    code, out, err = run("ingest", "-q", "--data-dir", str(data), str(SCAN), str(NOISY))
    assert code == 0, out + err
    assert "note: " in err and "OCR (eng) read 7 page(s) (1-7)" in err
    return data


@needs_tesseract
def test_scanned_letter_is_searchable_with_page_numbers(letters: Path) -> None:
    store = Store(letters)
    passages = list(store.passages("un-ohchr-letter-scanned-image-only"))
    assert passages and all(p.ocr for p in passages)
    assert {p.page for p in passages} == set(range(1, 8))  # all seven pages, numbered
    text = " ".join(p.text for p in passages)
    assert "Universal Periodic Review" in text and "Slovenia" in text
    code, out, _ = run("search", "voluntary mid-term report two years after the adoption",
                       "--doc", "un-ohchr-letter-scanned-image-only", "-k", "3", "--json",
                       "--data-dir", str(letters))
    top = json.loads(out)["hits"][0]
    assert top["ocr"] is True and top["page"] == 2
    assert "mid-term report" in top["text"] and "p. 2" in top["citation"]
    code, out, _ = run("search", "mid-term report", "--data-dir", str(letters))
    assert "OCR]" in out  # the plain listing marks it too ("[narrative, OCR]")


@needs_tesseract
def test_noisy_ocr_layer_is_read_again(letters: Path) -> None:
    # the file's own invisible layer has "revievv", "SWlTZERLAf"JD", "0ctober", "coricrete"
    layer = "\n".join(page.extract_text() for page in PdfReader(NOISY).pages)
    assert ocr.misread_share(layer) >= ocr.MISREAD_LIMIT
    passages = list(Store(letters).passages("un-ohchr-letter-scanned-noisy-ocr-layer"))
    assert passages and all(p.ocr for p in passages)
    assert {p.page for p in passages} == {1, 2, 3}
    text = " ".join(p.text for p in passages)
    for misread in ("revievv", "SWlTZERLAf", "0ctober", "coricrete", "governrnent"):
        assert misread not in text
    assert "fourth cycle review of Slovenia" in text and "concrete and targeted actions" in text
    assert ocr.misread_share(text) < ocr.misread_share(layer)


@pytest.mark.parametrize("name", [
    "un-ahrc-upr-national-report-slovenia-2009.pdf",
    "un-ahrc-upr-stakeholders-summary-endnotes-2019.pdf",
    "un-ahrc-upr-working-group-report-recommendations-2025.pdf",
    "us-dmca-summary-encrypted-empty-user-password.pdf",
    "us-federal-register-three-column.pdf",
    "kg-law-2025-257-mediation-russian.pdf",
    "ru-contract-template-word2010-russian.pdf",
])
def test_born_digital_text_does_not_look_misread(name: str) -> None:
    text = "\n".join(page.extract_text() for page in PdfReader(PDFS / name).pages)
    assert ocr.misread_share(text) < ocr.MISREAD_LIMIT


PARAGRAPHS = range(13, 22)


def _seed_page() -> str:
    """A page of the UN seed report: its numbered paragraphs 13 to 21."""
    raw = UN.read_text(encoding="utf-8")
    paragraphs = [" ".join(line.replace("\u00a0", " ").split()) for line in raw.splitlines()
                  if line.startswith("\u00a0")]
    wanted = [p for n in PARAGRAPHS for p in paragraphs if p.startswith(f"{n}. ")]
    assert len(wanted) == len(PARAGRAPHS)
    return "\n\n".join(wanted)


def _scanned(image, quality: str):
    """A clean render, or one degraded as a paper scan is: tilted, blurred, speckled, JPEG."""
    if quality == "clean":
        return image
    import io
    import random

    from PIL import Image, ImageFilter

    tilted = image.rotate(0.6, resample=Image.BICUBIC, expand=False, fillcolor=255)
    blurred = tilted.filter(ImageFilter.GaussianBlur(0.7))
    pixels = blurred.load()
    rng = random.Random(15)
    width, height = blurred.size
    for _ in range(width * height // 400):  # dust: 0.25% of the pixels
        pixels[rng.randrange(width), rng.randrange(height)] = rng.choice((0, 96, 255))
    buffer = io.BytesIO()
    blurred.save(buffer, format="JPEG", quality=50)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _normalise(text: str) -> str:
    """Whitespace, and quotes and dashes whose shapes a scan cannot tell apart."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[‘’`´]", "'", re.sub(r"[“”„]", '"', re.sub(r"[‐‑–—]", "-", text)))
    text = re.sub(r"-\s+", "-", text)  # a hyphen at a line end
    return " ".join(text.split())


@needs_tesseract
@pytest.mark.parametrize("quality", ["clean", "degraded"])
def test_printed_and_scanned_seed_page_reads_back(tmp_path: Path, quality: str) -> None:
    from fpdf import FPDF

    text = _seed_page()
    printed = FPDF()
    printed.add_page()
    printed.add_font("serif", fname=str(FONT))
    printed.set_font("serif", size=10)
    printed.set_margins(20, 20, 20)
    for paragraph in text.split("\n\n"):
        printed.multi_cell(0, 5, paragraph)
        printed.ln(3)
    assert printed.page_no() == 1
    source = tmp_path / "printed.pdf"
    printed.output(str(source))
    # scan it: the page as a 200 dpi grey image, in a PDF with no text layer
    page = pdfium.PdfDocument(str(source))[0]
    image = page.render(scale=200 / 72, grayscale=True).to_pil()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(image_pdf([_scanned(image, quality)], dpi=200))
    assert not PdfReader(scan).pages[0].extract_text().strip()

    result = read_pdf(scan)
    assert [p.number for p in result.pages] == [1] and result.pages[0].ocr
    read = result.pages[0].text
    cer = Levenshtein.distance(_normalise(text), _normalise(read)) / len(_normalise(text))
    print(f"\nOCR character error rate, a seed page printed and scanned at 200 dpi "
          f"({quality}): {cer:.2%} of {len(_normalise(text))} characters")
    assert cer <= CER_TARGET
    # its numbered paragraphs are found as in a born-digital PDF
    doc, passages = load(scan)
    covered = {n for p in passages if p.paragraph
               for n in range(int(p.paragraph.split("-")[0]), int(p.paragraph.split("-")[-1]) + 1)}
    assert covered == set(PARAGRAPHS)
    assert all(p.ocr and p.page == 1 for p in passages)


@needs_tesseract
def test_ocr_modes(tmp_path: Path) -> None:
    decision = PDFS / "un-ahrc-decision-single-page.pdf"
    assert not any(p.ocr for p in read_pdf(decision).pages)  # a good text layer is kept
    forced = read_pdf(decision, ocr="always")
    assert all(p.ocr for p in forced.pages) and "Human Rights Council" in forced.pages[0].text
    with pytest.raises(IngestError, match=r"^no extractable text; OCR is off \(--ocr never\)$"):
        read_pdf(SCAN, ocr="never")
    # a mode in the content hash: switching modes parses the file again
    code, out, _ = run("ingest", "-q", "--ocr", "never", str(decision))
    assert code == 0 and "1 document(s) ingested" in out
    code, out, _ = run("ingest", "-q", "--ocr", "always", str(decision))
    assert code == 0 and "1 document(s) ingested" in out
    assert all(p.ocr for p in Store().passages("un-ahrc-decision-single-page"))


def test_missing_tesseract_says_how_to_install_it(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    ocr.tesseract_languages.cache_clear()
    try:
        with pytest.raises(IngestError) as err:
            read_pdf(SCAN)
        message = str(err.value)
        assert message == ("no extractable text; OCR needs Tesseract, which is not installed: "
                           "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus")
        # the noisy layer is kept as it is, with the same advice
        kept = read_pdf(NOISY)
        assert not any(p.ocr for p in kept.pages)
        assert any("apt-get install tesseract-ocr" in w for w in kept.warnings)
        code, _, err_text = run("ingest", "-q", str(SCAN))
        lines = [line for line in err_text.splitlines() if line.startswith("error:")]
        assert code == 1 and len(lines) == 1 and "apt-get install tesseract-ocr" in lines[0]
    finally:
        ocr.tesseract_languages.cache_clear()


def test_ocr_mark_is_stored_and_old_databases_get_the_column(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old = sqlite3.connect(data / "ombuds.sqlite3")  # the passages table before the ocr column
    from index import store as store_module

    old.executescript(store_module.SCHEMA.replace(",\n    ocr INTEGER NOT NULL DEFAULT 0", ""))
    assert "ocr" not in {r[1] for r in old.execute("PRAGMA table_info(passages)")}
    old.execute("INSERT INTO documents VALUES ('old', 'Old', '', '', '', '', 'report', '', 'en', "
                "'', 'old.md', 'h', '2024-01-01', 1, 'text', '{}', '{}')")
    old.execute("INSERT INTO passages (passage_id, doc_id, seq, passage_type, section, start, "
                "\"end\", text, footnotes, legal_refs) VALUES ('p0', 'old', 0, 'narrative', "
                "'[]', 0, 4, 'text', '[]', '[]')")
    old.commit()
    old.close()
    store = Store(data)
    assert [p.ocr for p in store.passages("old")] == [False]  # kept, and readable
    doc = Document("new", "New", "new.pdf")
    scanned = Passage("p1", "new", 0, "read from a scan", "narrative", [], 0, 16, page=3,
                      ocr=True)
    store.put(doc, [scanned])
    assert store.passage("p1").ocr is True and store.passage("p1").page == 3
    assert [d["doc_id"] for d in store.documents()] == ["new", "old"]
