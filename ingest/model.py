"""The data types that flow through ingestion: Document -> Block -> Passage.

Plain dataclasses, one per concept. Everything a later stage needs to cite a passage
(section path, page, numbered paragraph, footnotes, attribution) travels on the Passage.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

PASSAGE_TYPES = ("narrative", "testimony", "recommendation", "provision", "table")
DOCUMENT_KINDS = (
    "report",
    "convention",
    "treaty",
    "protocol",
    "declaration",
    "code",
    "law",
    "constitution",
)


class IngestError(Exception):
    """A file that cannot be ingested; the message is one line giving the reason."""


@dataclass
class Footnote:
    number: str
    text: str


@dataclass
class LegalRef:
    """A mention of a legal instrument, normalised to (instrument, article).

    instrument is a registry id such as "ILO-C029" or "KZ-CRIMINAL-CODE", or None when the
    mention names an instrument that cannot be identified (it is then kept with its raw text).
    """

    instrument: str | None
    article: str | None  # "128", "8", "12" ; None when only the instrument is named
    paragraph: str | None  # "2", "3(a)" ; the sub-division inside the article, if given
    raw: str  # the text that was matched
    instrument_name: str  # a readable name ("Criminal Code of the Republic of Kazakhstan")
    source: str = "text"  # "text" or "footnote 23"


@dataclass
class Block:
    """One structural unit of a document in reading order: a paragraph, table, heading..."""

    kind: str  # paragraph | table | heading | caption | toc | junk
    text: str
    section: tuple[str, ...] = ()
    page: int | None = None
    page_end: int | None = None
    paragraph: str | None = None  # UN-style numbered paragraph ("13")
    footnote_refs: list[str] = field(default_factory=list)  # resolved footnote numbers
    article: str | None = None  # article number, for legal texts
    start: int = 0  # offsets into Document.text, set when the document text is assembled
    end: int = 0


@dataclass
class Document:
    doc_id: str
    title: str
    source_file: str
    kind: str = "report"
    short_title: str = ""
    publisher: str = ""
    date: str = ""
    symbol: str = ""
    jurisdiction: str = ""
    language: str = "en"
    completeness: str = ""
    back_matter: list[str] = field(default_factory=list)  # headings where back matter starts
    blocks: list[Block] = field(default_factory=list)
    footnotes: dict[str, str] = field(default_factory=dict)
    text: str = ""  # the document's extracted text; Block/Passage offsets point into it
    content_hash: str = ""
    stats: dict = field(default_factory=dict)  # parser diagnostics (markers found/resolved...)

    def meta(self) -> dict:
        """The document's metadata, without its text and blocks."""
        skip = {"blocks", "footnotes", "text", "stats"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


@dataclass
class Passage:
    passage_id: str
    doc_id: str
    seq: int  # position of the passage in its document
    text: str
    passage_type: str
    section: list[str]
    start: int
    end: int
    page: int | None = None
    page_end: int | None = None
    paragraph: str | None = None  # "13" or a range "2-3"
    footnotes: list[Footnote] = field(default_factory=list)
    legal_refs: list[LegalRef] = field(default_factory=list)
    # attribution of a testimony
    speaker: str | None = None
    place: str | None = None
    date: str | None = None
    # addressee of a recommendation
    addressee: str | None = None
    # a provision of a legal instrument
    instrument: str | None = None
    article: str | None = None
    # the text was read by OCR from a page image: its quotation may hold recognition errors
    ocr: bool = False

    @property
    def words(self) -> int:
        return len(self.text.split())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Passage:
        d = dict(d)
        d["footnotes"] = [Footnote(**f) for f in d.get("footnotes") or []]
        d["legal_refs"] = [LegalRef(**r) for r in d.get("legal_refs") or []]
        d["ocr"] = bool(d.get("ocr"))  # SQLite stores it as 0/1
        return cls(**d)


def passage_id(doc_id: str, text: str, occurrence: int = 0) -> str:
    """Stable id: the same document and text always give the same id."""
    key = f"{doc_id}\n{text}" + (f"\n#{occurrence}" if occurrence else "")
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
