"""Files -> Documents -> Passages: finding files, reading metadata, checking input, parsing.

Formats: PDF (scanned pages through OCR, ingest/ocr.py), Markdown and plain text, Word
(.docx, ingest/docx.py) and saved web pages (.html, ingest/html.py); each becomes text that one
parser reads, so headings, numbered paragraphs and footnotes work the same in all of them. The
document's language is detected (ingest/language.py); a Russian law or code is parsed into its
articles (ingest/russian.py).

Metadata comes, in order of precedence, from a file's YAML front matter (legal texts), from a
`manifest.yaml` beside it (the shipped corpus), and from the file itself (first heading, PDF
title, an act's heading, file name).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from .chunk import assemble_text, chunk
from .instruments import instrument_for_document
from .language import detect_language
from .legal import looks_like_legal_text, parse_legal, split_front_matter
from .legalrefs import extract_legal_refs
from .model import DOCUMENT_KINDS, Document, IngestError, Passage
from .ocr import MODES as OCR_MODES
from .russian import act_header, looks_like_russian_legal_text, parse_russian_legal
from .text import MD_HEADING, clean_inline, parse_text

# Bump when parsing or chunking changes, so that unchanged files are re-ingested once.
PARSER_VERSION = "5"
TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".text"}
PDF_SUFFIXES = {".pdf"}
DOCX_SUFFIXES = {".docx"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED = sorted(TEXT_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES | HTML_SUFFIXES)
# Documentation that lives beside documents in a folder, not documents themselves.
FOLDER_DOCS = re.compile(r"^(readme|sources|license|licence|changelog|manifest)\b", re.IGNORECASE)
DEFAULT_MAX_MB = 50.0
MANIFEST = "manifest.yaml"
META_FIELDS = (
    "title short_title publisher date symbol kind jurisdiction language completeness back_matter"
).split()


def discover(paths: list[Path]) -> list[Path]:
    """The files to ingest: files as given, folders walked (sorted, documentation skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if (
                    f.is_file()
                    and not any(part.startswith(".") for part in f.relative_to(path).parts)
                    and not FOLDER_DOCS.match(f.name)
                    and f.suffix.lower() in SUPPORTED
                ):
                    found.append(f)
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "document"


def _manifest_entry(path: Path) -> dict:
    manifest = path.parent / MANIFEST
    if not manifest.is_file():
        return {}
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise IngestError(f"invalid {manifest} ({str(e).splitlines()[0]})") from None
    for entry in data.get("documents", []):
        if entry.get("file") == path.name:
            return entry
    return {}


def read_checked(path: Path, max_mb: float) -> bytes:
    """The file's bytes, or IngestError for a file that is missing, empty or too large."""
    if not path.exists():
        raise IngestError("no such file")
    if not path.is_file():
        raise IngestError("not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise IngestError("empty file")
    if size > max_mb * 1024 * 1024:
        raise IngestError(f"file is {size / 1048576:.1f} MB, over the {max_mb:g} MB limit")
    return path.read_bytes()


def file_type(path: Path, data: bytes) -> str:
    """ "pdf", "docx", "html" or "text", judged by content first and by name second."""
    if data[:1024].lstrip().startswith(b"%PDF"):
        return "pdf"
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        raise IngestError("not a PDF (no %PDF header): corrupt or mislabelled file")
    if suffix in DOCX_SUFFIXES:
        if not data.startswith(b"PK\x03\x04"):
            raise IngestError("not a Word document (not a .docx package): corrupt or mislabelled "
                              "file (an old .doc must be saved as .docx)")
        return "docx"
    if suffix in HTML_SUFFIXES:
        if b"\x00" in data[:8192]:
            raise IngestError("binary content in a web page (unsupported file type)")
        return "html"
    if suffix not in TEXT_SUFFIXES:
        raise IngestError(
            f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED)})"
        )
    if b"\x00" in data[:8192]:
        raise IngestError("binary content in a text file (unsupported file type)")
    return "text"


def decode_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError(
            f"not UTF-8 text (invalid byte 0x{data[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None
    if not text.strip():
        raise IngestError("empty file (whitespace only)")
    return text


def content_hash(data: bytes, meta: dict) -> str:
    h = hashlib.sha256()
    h.update(PARSER_VERSION.encode())
    h.update(yaml.safe_dump(meta, sort_keys=True).encode())
    h.update(data)
    return h.hexdigest()


def document_meta(path: Path, data: bytes, kind: str) -> dict:
    """Metadata from front matter and manifest, before the body is parsed."""
    meta = {k: v for k, v in _manifest_entry(path).items() if k in META_FIELDS or k == "id"}
    front = split_front_matter(decode_text(data))[0] if kind == "text" else {}
    meta.update({k: v for k, v in front.items() if k in META_FIELDS or k == "id"})
    for k in ("date",):
        if k in meta and meta[k] is not None:
            meta[k] = str(meta[k])
    if front:
        # legal texts name their adoption date and issuing body ("adopted", "issuer"): they are
        # the document's date and publisher unless those are given
        if front.get("adopted") and not meta.get("date"):
            meta["date"] = str(front["adopted"])[:10]
        if front.get("issuer") and not meta.get("publisher"):
            meta["publisher"] = str(front["issuer"])
    if meta.get("kind") and meta["kind"] not in DOCUMENT_KINDS:
        raise IngestError(f"unknown kind '{meta['kind']}' (one of: {', '.join(DOCUMENT_KINDS)})")
    return meta


def _first_heading(body: str) -> str | None:
    for line in body.splitlines()[:80]:
        m = MD_HEADING.match(line.strip())
        if m:
            title = clean_inline(m.group(2))
            if title and not re.match(r"^(table of )?contents$", title, re.IGNORECASE):
                return title
    return None


@dataclass
class Prepared:
    """A checked file with its metadata and content hash, before the (costlier) parse."""

    path: Path
    data: bytes
    kind: str  # "pdf", "docx", "html" or "text"
    meta: dict
    doc_id: str
    content_hash: str
    max_mb: float
    ocr: str = "auto"  # PDFs: "auto", "always" or "never" (ingest/ocr.py)


def prepare(path: Path, max_mb: float = DEFAULT_MAX_MB, ocr: str = "auto") -> Prepared:
    """Check a file and read its metadata. Raises IngestError with a one-line reason."""
    if ocr not in OCR_MODES:
        raise IngestError(f"unknown OCR mode '{ocr}' (one of: {', '.join(OCR_MODES)})")
    data = read_checked(path, max_mb)
    kind = file_type(path, data)
    meta = document_meta(path, data, kind)
    doc_id = str(meta.get("id") or slug(path.stem))
    # the OCR mode changes what a PDF gives, so a PDF ingested with another mode is parsed again
    hashed = meta | {"ocr": ocr} if kind == "pdf" and ocr != "auto" else meta
    return Prepared(path, data, kind, meta, doc_id, content_hash(data, hashed), max_mb, ocr)


def load(path: Path, max_mb: float = DEFAULT_MAX_MB, ocr: str = "auto"
         ) -> tuple[Document, list[Passage]]:
    """Parse one file into its Document and passages. Raises IngestError with a one-line reason."""
    return parse(prepare(path, max_mb, ocr))


@dataclass
class Body:
    """A file as text for the parser."""

    text: str
    markdown: bool  # Markdown (headings with "#") rather than plain text
    title: str  # a title found in the file (PDF metadata, Word title, page title, heading)
    ocr_pages: set[int]  # the numbers of the PDF pages read by OCR


def _body(prep: Prepared, doc: Document, progress: bool) -> Body:
    path, data, kind = prep.path, prep.data, prep.kind
    if kind == "pdf":
        from .pdf import read_pdf  # pypdf and the OCR tools are only needed for PDFs

        pdf = read_pdf(path, max_bytes=int(prep.max_mb * 1024 * 1024), ocr=prep.ocr,
                       progress=progress)
        doc.stats["warnings"] = pdf.warnings
        raw = "\n\n".join(
            f"⟦page {p.number}⟧\n\n{p.text}"
            + "".join(f"\n\n<sup>{n}.</sup> {t}" for n, t in p.footnotes.items())
            for p in pdf.pages
        )
        return Body(raw, False, pdf.title or "", {p.number for p in pdf.pages if p.ocr})
    if kind == "docx":
        from .docx import read_docx

        found = read_docx(path)
        return Body(found.markdown, True, found.title, set())
    if kind == "html":
        from .html import read_html

        page = read_html(data)
        return Body(page.markdown, True, page.title, set())
    _, text = split_front_matter(decode_text(data))
    return Body(text, path.suffix.lower() in (".md", ".markdown"), _first_heading(text) or "",
                set())


def parse(prep: Prepared, progress: bool = False) -> tuple[Document, list[Passage]]:
    """The Document and passages of a prepared file; progress shows a bar over OCRed pages."""
    path, kind, meta = prep.path, prep.kind, prep.meta
    doc = Document(
        doc_id=prep.doc_id,
        title=str(meta.get("title") or ""),
        source_file=str(path),
        content_hash=prep.content_hash,
    )
    for k in META_FIELDS:
        if k != "title" and meta.get(k) is not None:
            setattr(doc, k, meta[k] if k == "back_matter" else str(meta[k]))

    instrument = None
    found = _body(prep, doc, progress)
    body, found_title = found.text, found.title
    if not meta.get("language"):
        doc.language = detect_language(body)
    if kind == "text" and looks_like_legal_text(body):
        doc.title = doc.title or found_title or path.stem
        doc.kind = doc.kind if doc.kind != "report" else "law"
        doc.blocks = parse_legal(body, doc)
        instrument = instrument_for_document(doc.title, doc.short_title) or doc.doc_id
    elif looks_like_russian_legal_text(body):
        head = act_header(body)
        doc.title = doc.title or head.title or found_title or path.stem
        doc.short_title = doc.short_title or head.short_title
        doc.date = doc.date or head.date
        doc.jurisdiction = doc.jurisdiction or head.jurisdiction
        doc.kind = doc.kind if doc.kind != "report" else head.kind or "law"
        doc.blocks = parse_russian_legal(body, doc)
        instrument = (instrument_for_document(doc.title, doc.short_title) or head.instrument
                      or doc.doc_id)
    else:
        doc.title = doc.title or found_title or path.stem
        doc.blocks = parse_text(body, doc, markdown=found.markdown)
    doc.short_title = doc.short_title or doc.title
    assemble_text(doc)
    passages = chunk(doc, instrument=instrument)
    if not passages:
        raise IngestError("no text passages found")
    for p in passages:  # a passage with any text from an OCRed page carries the mark
        pages = range(p.page, (p.page_end or p.page) + 1) if p.page else range(0)
        p.ocr = any(n in found.ocr_pages for n in pages)
    jurisdiction = doc.jurisdiction if doc.jurisdiction not in ("", "international") else None
    previous = ""
    for p in passages:
        # the previous passage resolves "Article 9 of the same Convention"; inside a legal text
        # "this Code" is the text itself
        refs = extract_legal_refs(
            p.text, default_jurisdiction=jurisdiction, current_instrument=instrument,
            context=previous,
        )
        previous = p.text
        for fn in p.footnotes:
            refs += extract_legal_refs(
                fn.text, source=f"footnote {fn.number}", default_jurisdiction=jurisdiction
            )
        seen = set()
        for r in refs:
            key = (
                r.instrument,
                r.article,
                r.paragraph,
                r.instrument_name if not r.instrument else "",
            )
            if key not in seen and not (
                p.passage_type == "provision"
                and r.instrument == instrument
                and r.article == p.article
            ):
                seen.add(key)
                p.legal_refs.append(r)
    return doc, passages
