"""Tests for ingest.pdf: the real-world PDFs of /work/shared/pdfs, and PDFs made here."""

from __future__ import annotations

import re
import time
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from pypdf.errors import DependencyError

from ingest import pdf_extract, pdf_garbled, pdf_layout, pdf_paragraphs
from ingest.model import IngestError
from ingest.pdf import PdfText, read_pdf

PDF_DIR = Path("/work/shared/pdfs")
SEED = Path("/work/shared/seeds/001_f3f8ae1c6017e01b.txt")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

PASSWORDS = {
    "encrypted-aes256-user-password.pdf": "foo",
    "encrypted-rc4-40bit-user-password.pdf": "asdfzxcv",
}

AMNESTY_2007_BROKEN_PAGES = [59, 73, 94, 109, 115, 125, 127, 167]

# Expected outcome per file (SOURCES.md) of the text layer alone (ocr="never"; tests/test_ocr.py
# covers OCR): ("ok", minimum pages, minimum characters) or ("error", the start of the
# IngestError message).
EXPECTED: dict[str, tuple] = {
    "un-ahrc-upr-national-report-slovenia-2009.pdf": ("ok", 24, 60_000),
    "un-ahrc-upr-stakeholders-summary-endnotes-2019.pdf": ("ok", 14, 30_000),
    "un-ahrc-upr-un-compilation-footnotes-2024.pdf": ("ok", 12, 30_000),
    "un-ahrc-upr-working-group-report-recommendations-2025.pdf": ("ok", 26, 70_000),
    "un-ahrc-session-report-194-pages.pdf": ("ok", 190, 500_000),
    "un-ahrc-decision-single-page.pdf": ("ok", 1, 1_000),
    "un-ohchr-letter-scanned-image-only.pdf": (
        "error",
        "no extractable text; OCR is off (--ocr never)",
    ),
    "un-ohchr-letter-scanned-noisy-ocr-layer.pdf": ("ok", 3, 5_000),
    "un-ahrc-upr-broken-xref-no-root.pdf": ("error", "corrupt or truncated PDF (Cannot find Root"),
    "un-ahrc-upr-truncated-half.pdf": ("error", "corrupt or truncated PDF (Stream has ended"),
    "amnesty-report-2011-432-pages-two-column.pdf": ("ok", 380, 1_300_000),
    "amnesty-report-2007-country-entries-242-pages.pdf": ("ok", 230, 1_000_000),
    "us-federal-register-three-column.pdf": ("ok", 14, 45_000),
    "us-supreme-court-transcript-line-numbers.pdf": ("ok", 1, 400),
    "us-dmca-summary-encrypted-empty-user-password.pdf": ("ok", 18, 35_000),
    "kg-law-2025-257-mediation-russian.pdf": ("ok", 4, 6_000),
    "ru-contract-template-word2010-russian.pdf": ("ok", 4, 9_000),
    "jp-official-gazette-cjk-encrypted-empty-password.pdf": (
        "error",
        "unreadable text layer (broken font encoding); OCR is off (--ocr never)",
    ),
    "cn-government-land-use-standard-table.pdf": ("ok", 1, 1_000),
    "czech-non-unicode-cmap-garbled-text.pdf": (
        "error",
        "unreadable text layer (broken font encoding); OCR is off (--ocr never)",
    ),
    "arabic-rtl-text.pdf": ("ok", 1, 15),
    "latex-two-column-lorem.pdf": ("ok", 3, 6_000),
    "encrypted-aes256-user-password.pdf": ("ok", 1, 30),  # with its password
    "encrypted-rc4-40bit-user-password.pdf": ("ok", 1, 30),  # with its password
    "encrypted-aes256-owner-password-only.pdf": ("ok", 1, 30),
    "corrupted-xref-recoverable.pdf": ("ok", 1, 800),
    "damaged-no-startxref-evil-xobjects.pdf": ("error", "corrupt or truncated PDF (startxref"),
    "empty-zero-bytes.pdf": ("error", "empty file"),
}
SLOW = {"amnesty-report-2011-432-pages-two-column.pdf"}

needs_corpus = pytest.mark.skipif(not PDF_DIR.is_dir(), reason="no /work/shared/pdfs")


@cache
def _read(name: str, password: str | None = None) -> PdfText | IngestError:
    """read_pdf, once per file and password for the whole test module (some files are big)."""
    try:
        return read_pdf(PDF_DIR / name, password=password, ocr="never")
    except IngestError as e:
        return e


def _ok(name: str) -> PdfText:
    result = _read(name, PASSWORDS.get(name))
    assert isinstance(result, PdfText), f"{name}: {result}"
    return result


def _all_text(result: PdfText) -> str:
    return "\n\n".join(page.text for page in result.pages)


def _corpus_params() -> list:
    names = sorted(p.name for p in PDF_DIR.glob("*.pdf")) if PDF_DIR.is_dir() else []
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in names
    ]


# --------------------------------------------------------------------------------------------
# The real-world files


@needs_corpus
@pytest.mark.parametrize("name", _corpus_params())
def test_corpus_file(name: str) -> None:
    result = _read(name, PASSWORDS.get(name))
    if isinstance(result, IngestError):
        message = str(result)
        assert message and "\n" not in message and "\r" not in message
        assert name not in message and "Traceback" not in message
    else:
        assert result.pages, name
        assert all(page.text or page.footnotes for page in result.pages)
        numbers = [page.number for page in result.pages]
        assert numbers == sorted(set(numbers)) and numbers[0] >= 1
        assert all("\n" not in w for w in result.warnings)
    expected = EXPECTED.get(name)
    if expected is None:  # a file added later: it only has to behave
        return
    if expected[0] == "error":
        assert isinstance(result, IngestError), f"{name} should fail: {expected[1]}"
        assert str(result).startswith(expected[1])
    else:
        assert isinstance(result, PdfText), f"{name}: {result}"
        _, min_pages, min_chars = expected
        assert len(result.pages) >= min_pages
        assert sum(len(page.text) for page in result.pages) >= min_chars


@needs_corpus
def test_every_listed_file_exists() -> None:
    missing = [name for name in EXPECTED if not (PDF_DIR / name).exists()]
    assert not missing


@needs_corpus
def test_amnesty_2007_broken_pages_are_skipped_with_warnings() -> None:
    result = _ok("amnesty-report-2007-country-entries-242-pages.pdf")
    skipped = [
        int(m.group(1))
        for w in result.warnings
        if (m := re.match(r"page (\d+): skipped, content stream is damaged \((\w+)\)$", w))
    ]
    assert skipped == AMNESTY_2007_BROKEN_PAGES
    numbers = {page.number for page in result.pages}
    assert not numbers & set(AMNESTY_2007_BROKEN_PAGES)
    assert {1, 58, 60, 168, 242} <= numbers
    # the running footer "52 Amnesty International Report 2007" is gone from every page
    assert "Amnesty International Report 2007" not in _all_text(result)


@needs_corpus
@pytest.mark.slow
def test_amnesty_2011_garbled_index_pages_are_skipped() -> None:
    result = _ok("amnesty-report-2011-432-pages-two-column.pdf")
    garbled = [w for w in result.warnings if "garbled" in w]
    assert 10 <= len(garbled) <= 30  # the treaty tables near the end have a broken font
    # the running footer ('74 Amnesty International Report 2011', 'xiiiAmnesty Inter...') is
    # gone, even when glued to the end of the last line of text
    footer = re.compile(r"(^|\d|\b[ivxlc]+)\s*Amnesty International Report 2011(\s*\d+)?$")
    paragraphs = [p for page in result.pages for p in page.text.split("\n\n")]
    assert not [p for p in paragraphs if footer.search(p)]
    assert any("The Amnesty International Report 2011 documents" in p for p in paragraphs)


@needs_corpus
@pytest.mark.parametrize("name", sorted(PASSWORDS))
def test_user_password_files_need_the_password(name: str) -> None:
    with pytest.raises(IngestError) as err:
        read_pdf(PDF_DIR / name)
    assert str(err.value) == "encrypted PDF: a password is required"
    with pytest.raises(IngestError) as err:
        read_pdf(PDF_DIR / name, password="not-the-password")
    assert str(err.value).startswith("encrypted PDF: a password is required")
    result = read_pdf(PDF_DIR / name, password=PASSWORDS[name])
    assert "pdf encryption test" in result.pages[0].text


@needs_corpus
@pytest.mark.parametrize(
    "name",
    [
        "encrypted-aes256-owner-password-only.pdf",
        "us-dmca-summary-encrypted-empty-user-password.pdf",
    ],
)
def test_empty_user_password_files_open(name: str) -> None:
    result = read_pdf(PDF_DIR / name)
    assert result.pages and result.pages[0].text


@needs_corpus
def test_missing_cryptography_gives_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_crypto(self, password):  # what pypdf does without cryptography / pycryptodome
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(pdf_extract.PdfReader, "decrypt", no_crypto)
    with pytest.raises(IngestError) as err:
        read_pdf(PDF_DIR / "encrypted-aes256-user-password.pdf", password="foo")
    message = str(err.value)
    assert message.startswith("encrypted PDF:") and "cryptography" in message
    assert "\n" not in message


@needs_corpus
def test_title_metadata() -> None:
    dmca = _ok("us-dmca-summary-encrypted-empty-user-password.pdf")
    assert dmca.title == "The Digital Millennium Copyright Act of 1998"
    # file names, 'untitled' and one-word titles are not titles
    for name in (
        "us-supreme-court-transcript-line-numbers.pdf",  # '10811.exe'
        "corrupted-xref-recoverable.pdf",  # 'zen_of_python.txt'
        "un-ahrc-upr-national-report-slovenia-2009.pdf",  # 'UNITED'
    ):
        assert _ok(name).title is None


@needs_corpus
def test_un_decision_footnotes_move_out_of_the_text() -> None:
    page = _ok("un-ahrc-decision-single-page.pdf").pages[0]
    assert page.footnotes == {
        "1": "A/HRC/59/15.",
        "2": "A/HRC/59/15/Add.1; see also A/HRC/59/2, part two, sect. VI.",
    }
    assert "see also A/HRC/59/2" not in page.text
    assert "Working Group on the Universal Periodic Review,1 the views" in page.text  # marker
    assert "GE.25-11154" not in page.text  # the UN job number


@needs_corpus
def test_un_compilation_endnotes_headers_and_paragraphs() -> None:
    result = _ok("un-ahrc-upr-un-compilation-footnotes-2024.pdf")
    notes = {k: v for page in result.pages for k, v in page.footnotes.items()}
    assert sorted(notes, key=int) == [str(n) for n in range(1, 100)]
    assert notes["12"] == "CAT/C/SVN/CO/4, para. 9."
    text = _all_text(result)
    assert "CAT/C/SVN/CO/4, para. 9." not in text
    # running header (document symbol) and footer (job number + page number) are gone
    for page in result.pages[1:]:
        assert "A/HRC/WG.6/48/SVN/2" not in page.text
    assert "GE.24-19779" not in text
    # numbered paragraphs and headings are paragraphs of their own
    paragraphs = [p for page in result.pages for p in page.text.split("\n\n")]
    assert "I. Background" in paragraphs
    assert "III. National human rights framework" in paragraphs
    assert (
        "II. Scope of international obligations and cooperation with human rights mechanisms"
        in paragraphs
    )
    for n in range(1, 83):  # numbered paragraphs 1 to 82 each start a paragraph
        assert any(p.startswith(f"{n}. ") and len(p) > 100 for p in paragraphs), n
    assert any(p.startswith("1. The present report was prepared") for p in paragraphs)
    assert "the previous review.1 It is a compilation" in text  # marker stays in the text


@needs_corpus
def test_un_national_report_2009_endnotes() -> None:
    result = _ok("un-ahrc-upr-national-report-slovenia-2009.pdf")
    notes = {k: v for page in result.pages for k, v in page.footnotes.items()}
    assert len(notes) == 47
    assert notes["9"] == "There are 43 registered religious communities in Slovenia."
    assert "Page 3" not in _all_text(result)


@needs_corpus
def test_un_session_report_bottom_footnotes() -> None:
    result = _ok("un-ahrc-session-report-194-pages.pdf")
    found = {k: page.number for page in result.pages for k in page.footnotes}
    assert found == {"1": 53, "2": 55, "3": 63, "4": 69, "5": 76, "6": 152, "7": 159}


@needs_corpus
def test_latex_dehyphenation_and_ligatures() -> None:
    text = _all_text(_ok("latex-two-column-lorem.pdf"))
    assert "consectetuer adipiscing elit" in text
    assert "adip-" not in text and "\ufb01" not in text
    assert "columns filled with Lorem Ipsum text." in text


@needs_corpus
def test_margin_line_numbers_are_removed() -> None:
    text = _ok("us-supreme-court-transcript-line-numbers.pdf").pages[0].text
    assert text.startswith("Official - Subject to Final Review")
    assert not re.search(r"\b1 2 3 4 5\b", text)


@needs_corpus
def test_noisy_ocr_layer_ingests_with_a_warning() -> None:
    result = _ok("un-ohchr-letter-scanned-noisy-ocr-layer.pdf")
    assert any("OCR" in w for w in result.warnings)
    # a born-digital file with invisible spaces only is not taken for a scan
    assert not _ok("us-supreme-court-transcript-line-numbers.pdf").warnings


@needs_corpus
def test_legitimate_non_latin_text_is_kept() -> None:
    assert "Кыргызской Республики" in _all_text(_ok("kg-law-2025-257-mediation-russian.pdf"))
    assert "№ 257" in _all_text(_ok("kg-law-2025-257-mediation-russian.pdf"))
    assert "Договор" in _all_text(_ok("ru-contract-template-word2010-russian.pdf"))
    assert "安徽省建设用地使用标准" in _all_text(_ok("cn-government-land-use-standard-table.pdf"))
    assert _all_text(_ok("arabic-rtl-text.pdf")) == "حَبيبي habibi حَبيبي"


# --------------------------------------------------------------------------------------------
# Errors on files made here


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match=r"^empty file$"):
        read_pdf(path)


def test_not_a_pdf(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just some text, not a PDF\n" * 10)
    with pytest.raises(IngestError) as err:
        read_pdf(path)
    assert str(err.value).startswith("corrupt or truncated PDF (")


def test_size_limit(seed_pdf: Path) -> None:
    with pytest.raises(IngestError, match=r"^file is larger than the 0\.001 MB limit$"):
        read_pdf(seed_pdf, max_bytes=1000)
    assert read_pdf(seed_pdf, max_bytes=1024 * 1024).pages


@needs_corpus
def test_size_limit_in_mb() -> None:
    big = PDF_DIR / "amnesty-report-2007-country-entries-242-pages.pdf"  # 1.02 MiB
    with pytest.raises(IngestError, match=r"^file is larger than the 1 MB limit$"):
        read_pdf(big, max_bytes=1024 * 1024)
    with pytest.raises(IngestError, match=r"^file is larger than the 1 MB limit$"):
        read_pdf(big, max_bytes=1_000_000)


def test_truncated_pdf(tmp_path: Path, seed_pdf: Path) -> None:
    data = seed_pdf.read_bytes()
    path = tmp_path / "half.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError) as err:
        read_pdf(path)
    assert str(err.value).startswith("corrupt or truncated PDF (")
    assert "\n" not in str(err.value)


def test_self_referencing_xobjects_are_contained(tmp_path: Path) -> None:
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        StreamObject,
    )

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    forms = [StreamObject(), StreamObject()]
    refs = [writer._add_object(f) for f in forms]

    def resources() -> DictionaryObject:
        return DictionaryObject(
            {
                NameObject("/XObject"): DictionaryObject(
                    {NameObject("/X0"): refs[0], NameObject("/X1"): refs[1]}
                ),
                NameObject("/Font"): DictionaryObject({NameObject("/F1"): font}),
            }
        )

    for form in forms:  # each form draws itself and the other one
        form.set_data(b"BT /F1 12 Tf 10 100 Td (loop) Tj ET /X0 Do /X1 Do")
        form[NameObject("/Type")] = NameObject("/XObject")
        form[NameObject("/Subtype")] = NameObject("/Form")
        form[NameObject("/BBox")] = ArrayObject([NumberObject(v) for v in (0, 0, 200, 200)])
        form[NameObject("/Resources")] = resources()
    content = StreamObject()
    content.set_data(b"BT /F1 12 Tf 10 150 Td (Hello evil) Tj ET /X0 Do /X1 Do")
    page[NameObject("/Contents")] = writer._add_object(content)
    page[NameObject("/Resources")] = resources()
    path = tmp_path / "evil.pdf"
    writer.write(path)

    started = time.monotonic()
    result = read_pdf(path)
    assert time.monotonic() - started < 5
    assert result.pages[0].text.startswith("Hello evil")


def test_a_slow_page_is_skipped(monkeypatch: pytest.MonkeyPatch, seed_pdf: Path) -> None:
    real = pdf_extract._extract_page

    def slow_first_page(page, number):
        if number == 1:
            time.sleep(10)
        return real(page, number)

    monkeypatch.setattr(pdf_extract, "_extract_page", slow_first_page)
    monkeypatch.setattr(pdf_extract, "PAGE_TIMEOUT_S", 0.3)
    started = time.monotonic()
    result = read_pdf(seed_pdf)
    assert time.monotonic() - started < 5
    assert result.warnings == ["page 1: skipped, text extraction took over 0.3 s"]
    assert [page.number for page in result.pages] == [2, 3]


def test_a_broken_page_is_skipped(monkeypatch: pytest.MonkeyPatch, seed_pdf: Path) -> None:
    real = pdf_extract._extract_page

    def broken_second_page(page, number):
        if number == 2:
            raise pdf_extract.PdfReadError("Invalid Elementary Object starting with b')'")
        return real(page, number)

    monkeypatch.setattr(pdf_extract, "_extract_page", broken_second_page)
    result = read_pdf(seed_pdf)
    assert result.warnings == ["page 2: skipped, content stream is damaged (PdfReadError)"]
    assert [page.number for page in result.pages] == [1, 3]


# --------------------------------------------------------------------------------------------
# The garbled-text heuristic and the cleaning helpers


@pytest.mark.parametrize(
    "text",
    [
        "ୈ ೋ ৚ ୈ Ұ ߲ ͷ ද ͷ ੨ ৭ ͷ ౮ Ր ͷ ߲ ୈ ࡾ ߸ தủ ؚ ΉỐỜỨ Λủ ؚ ΉỐ ੨ ৭ ͷ ౮ Ր ͷ ໼ ҹ ͷ ߲ Λ আ ͖ỏ Ҏ Լ "
        "͜ ͷ ৚ ʹ ͓ ͍ ͯ ಉ ͡ỐỜ ΛỨ ʹ վ Ίỏ ಉ ද த ủ า ߦ ऀ ͸ỏ ਐ ߦ ͢ Δ ͜ ͱ ͕ Ͱ ͖ Δ ͜ ͱỐ",
        "3HQČåQt\x03SURVWĜHGN\\\x03QD\x03~þWHFK",
        "3HQČåQtSURVWĜHGN\\QD~þWHFK",
    ],
)
def test_garbled_text_is_detected(text: str) -> None:
    assert pdf_garbled._garbled_reason(pdf_garbled._text_stats(text))


@pytest.mark.parametrize(
    "text",
    [
        "The Committee against Torture noted with concern reports that access to free legal "
        "aid, which should be provided from the very outset of deprivation of liberty, was in "
        "practice provided only prior to the court hearing (CoE-Commissioner, GANHRI, McDonald).",
        "Настоящий Закон вступает в силу с 1 января 2027 года. Внести в Гражданский "
        "процессуальный кодекс Кыргызской Республики следующие изменения (ст. 14, No 1).",
        "安徽省建设用地使用标准（2020 年版） 路段的交通量和大型车比例与基准值的编制条件不同时，"
        "其用地指标按表 7.6 中的系数进行调整。",
        "حَبيبي habibi حَبيبي",
        "Peněžní prostředky na účtech",
        "United Nations Nations Unies Naciones Unidas Организация Объединенных Наций "
        "الأمم المتحدة 联合国 General Assembly Assemblée générale Asamblea General "
        "Генеральная Ассамблея الجمعية العامة 大会",
    ],
)
def test_legitimate_text_is_not_garbled(text: str) -> None:
    assert pdf_garbled._garbled_reason(pdf_garbled._text_stats(text)) is None


@pytest.mark.parametrize(
    ("parts", "joined"),
    [
        (["Lorem ipsum dolor sit amet, consectetuer adip-", "iscing elit."],
         "Lorem ipsum dolor sit amet, consectetuer adipiscing elit."),
        (["a note by the Secretary-", "General (A/HRC/14/28)"],
         "a note by the Secretary-General (A/HRC/14/28)"),
        (["a well-known", "fact"], "a well-known fact"),
        (["安徽省建设", "用地使用标准"], "安徽省建设用地使用标准"),
    ],
)
def test_join_lines(parts: list[str], joined: str) -> None:
    assert pdf_paragraphs._join_lines(parts) == joined


def test_clean_line() -> None:
    cleaned = pdf_extract._clean_line("\ufb01nancial\u00a0and  o\ufb03cial\u200b ")
    assert cleaned == "financial and official"
    assert pdf_extract._clean_line("Закон № 257\x03") == "Закон № 257"
    assert pdf_extract._clean_line("inter\u00ad") == "inter-"


@pytest.mark.parametrize(
    "line", ["12", "- 12 -", "Page 3 of 10", "12/24", "3 of 24", "Page 12", "xii"]
)
def test_page_number_lines(line: str) -> None:
    assert pdf_layout._is_page_number(line, number=12, total=24)


@pytest.mark.parametrize(
    "line", ["2011 was a year", "Civil", "12. The Committee", "IV", "14/103", "5/1"]
)
def test_not_page_number_lines(line: str) -> None:
    assert not pdf_layout._is_page_number(line, number=12, total=24)  # '14/103': a UN decision


# --------------------------------------------------------------------------------------------
# A PDF made from the seed report: headers, page numbers, hyphenation, paragraphs, footnotes

HEADER = "A/HRC/27/53/Add.2"
LAYOUT = [  # (page, headings, numbered paragraphs)
    (1, ["Introduction"], [1, 2, 3]),
    (2, ["General context"], [4, 5, 6, 7, 8]),
    (
        3,
        ["III. Status of anti-slavery action",
         "A. Forced and bonded labour and the worst forms of child labour"],
        [9, 10, 11, 12],
    ),
]
MARKERS = {1: ("2012,1 ", "2012,^1 "), 11: ("workforce.2", "workforce.^2")}  # superscripts


def _seed_paragraphs() -> dict[int, str]:
    paragraphs = {}
    for line in SEED.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\u00a0+\s*(\d{1,3})\. (.*)$", line)
        if m and 1 <= int(m.group(1)) <= 12:
            paragraphs[int(m.group(1))] = f"{m.group(1)}. {' '.join(m.group(2).split())}"
    return paragraphs


def _seed_footnotes() -> dict[str, str]:
    notes = {}
    for line in SEED.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(\d{1,3}) (\S.*)$", line)
        if m and m.group(1) in ("1", "2"):
            notes[m.group(1)] = " ".join(m.group(2).split())
    return notes


class _SeedPdf:
    """Lays out text line by line, so that line ends (and one split word) are known."""

    LEFT = 72.0
    WIDTH = 440.0

    def __init__(self) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(format="A4", unit="pt")
        self.pdf.set_auto_page_break(False)
        regular = FONT_DIR / "DejaVuSans.ttf"
        bold = FONT_DIR / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            self.pdf.add_font("Body", "", str(regular))
            self.pdf.add_font("Body", "B", str(bold))
            self.family = "Body"
            self.latin1 = False
        else:  # a core font: make the text latin-1 safe
            self.family = "Helvetica"
            self.latin1 = True
        self.split_words: list[str] = []

    def safe(self, text: str) -> str:
        if not self.latin1:
            return text
        table = {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"}
        text = "".join(table.get(c, c) for c in text)
        return unicodedata.normalize("NFKD", text).encode("latin-1", "ignore").decode("latin-1")

    def width(self, text: str, size: float = 10) -> float:
        self.pdf.set_font(self.family, "", size)
        return self.pdf.get_string_width(self.safe(text.replace("^", "")))

    def wrap(self, text: str, split_word: bool = False, break_after: str | None = None) -> list:
        words = text.split(" ")
        lines: list[str] = []
        current = ""
        for word in words:
            if break_after and word.startswith(break_after) and word != break_after:
                # a real compound broken at its hyphen: 'anti-' | 'slavery'
                head, tail = break_after, word[len(break_after):]
                lines.append(f"{current} {head}".strip())
                current = tail
                continue
            candidate = f"{current} {word}" if current else word
            if self.width(candidate) > self.WIDTH:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
        if split_word:  # hyphenate the first long lowercase word that starts a line
            for k in range(2, len(lines)):
                first, _, rest = lines[k].partition(" ")
                if first.isalpha() and first.islower() and len(first) >= 8:
                    cut = len(first) // 2
                    lines[k - 1] += f" {first[:cut]}-"
                    lines[k] = f"{first[cut:]} {rest}".strip()
                    self.split_words.append(first)
                    break
        return lines

    def draw(self, y: float, line: str, size: float = 10, style: str = "") -> None:
        x = self.LEFT
        for k, piece in enumerate(re.split(r"\^(\d+)", self.safe(line))):
            if k % 2:  # a superscript footnote marker
                self.pdf.set_font(self.family, "", size * 0.6)
                self.pdf.text(x, y - size * 0.35, piece)
            else:
                self.pdf.set_font(self.family, style, size)
                self.pdf.text(x, y, piece)
            x += self.pdf.get_string_width(piece)

    def page(self, number: int, headings: list[str], paragraphs: list[tuple[str, dict]],
             footnote: str | None) -> None:
        self.pdf.add_page()
        self.pdf.set_font(self.family, "", 9)
        self.pdf.text(self.LEFT, 50, HEADER)  # running header
        y = 90.0
        for heading in headings:
            self.draw(y, heading, 11, "B")
            y += 22
        for text, options in paragraphs:
            for line in self.wrap(text, **options):
                self.draw(y, line)
                y += 13
            y += 8
        if footnote:
            self.pdf.line(self.LEFT, 700, self.LEFT + 150, 700)
            y = 716.0
            for line in self.wrap(footnote):
                self.draw(y, line, 8)
                y += 10
        self.pdf.set_font(self.family, "", 9)
        self.pdf.text(295, 810, str(number))  # page number in the footer


@pytest.fixture(scope="module")
def seed_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SEED.exists():
        pytest.skip("no seed text")
    paragraphs = _seed_paragraphs()
    notes = _seed_footnotes()
    maker = _SeedPdf()
    for number, headings, nums in LAYOUT:
        items = []
        footnote = None
        for n in nums:
            text = paragraphs[n]
            if n in MARKERS:
                old, new = MARKERS[n]
                assert old in text
                text = text.replace(old, new)
                marker = re.search(r"\^(\d+)", new).group(1)
                footnote = f"^{marker} {notes[marker]}"
            options: dict = {}
            if n == 2:
                options["break_after"] = "anti-"  # 'anti-' | 'slavery dialogue'
            if n in (4, 12):
                options["split_word"] = True
            items.append((text, options))
        maker.page(number, headings, items, footnote)
    path = tmp_path_factory.mktemp("seed") / "a-hrc-27-53-add2.pdf"
    maker.pdf.output(str(path))
    path.with_suffix(".split").write_text("\n".join(maker.split_words))
    return path


def _expected(text: str, latin1: bool) -> str:
    if latin1:
        text = _SeedPdf().safe(text)
    return unicodedata.normalize("NFKC", text)


def test_seed_pdf_pages_paragraphs_headers(seed_pdf: Path) -> None:
    result = read_pdf(seed_pdf)
    assert result.warnings == []
    assert [page.number for page in result.pages] == [1, 2, 3]
    latin1 = not (FONT_DIR / "DejaVuSans.ttf").exists()
    paragraphs = _seed_paragraphs()
    for page, (number, headings, nums) in zip(result.pages, LAYOUT, strict=True):
        assert page.number == number
        blocks = page.text.split("\n\n")
        # headings are paragraphs of their own, in order, then the numbered paragraphs
        assert blocks[: len(headings)] == headings
        body = blocks[len(headings):]
        assert [int(b.split(".")[0]) for b in body] == nums
        for block, n in zip(body, nums, strict=True):
            assert block == _expected(paragraphs[n], latin1)  # markers stay in the text
        # the running header and the page number are gone
        assert HEADER not in page.text
        assert not any(re.fullmatch(r"\d+", b) for b in blocks)


def test_seed_pdf_hyphenation(seed_pdf: Path) -> None:
    result = read_pdf(seed_pdf)
    text = "\n\n".join(page.text for page in result.pages)
    split = seed_pdf.with_suffix(".split").read_text().split()
    assert len(split) == 2
    for word in split:  # a word split over a line end comes back whole
        assert re.search(rf"\b{word}\b", text)
        assert f"{word[: len(word) // 2]}-" not in text
    # a real compound broken at its hyphen keeps the hyphen (the document uses 'anti-slavery')
    assert "this anti-slavery dialogue" in text
    assert "antislavery" not in text


def test_seed_pdf_footnotes(seed_pdf: Path) -> None:
    result = read_pdf(seed_pdf)
    notes = _seed_footnotes()
    latin1 = not (FONT_DIR / "DejaVuSans.ttf").exists()
    pages = {page.number: page for page in result.pages}
    assert pages[1].footnotes == {"1": _expected(notes["1"], latin1)}
    assert pages[2].footnotes == {}
    assert pages[3].footnotes == {"2": _expected(notes["2"], latin1)}
    assert "Child labour in tobacco and cotton growing" not in pages[3].text
    assert "conducted in 2012,1 to assess" in pages[1].text
