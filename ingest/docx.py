"""Word (.docx) documents -> the Markdown that ingest.text parses, with python-docx.

Paragraphs and tables in reading order; headings from the Title and Heading N styles (and
their outline levels); Word's automatic numbering written out ("13. ...", "(a) ..."), so that
numbered paragraphs are found as in a PDF; tables as Markdown tables; footnote and endnote
references as `<sup>N</sup>` markers and their texts, read from the package's footnotes and
endnotes parts (python-docx does not expose them), as `<sup>N.</sup> text` lines at the end,
where ingest.text resolves them exactly as it does for PDF and Markdown reports.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .model import IngestError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}
NOTE_PARTS = {"footnotes": "footnote", "endnotes": "endnote"}  # relationship -> element name
ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
         (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


@dataclass
class DocxText:
    title: str  # from the core properties or the Title paragraph ("" when neither)
    markdown: str


def read_docx(path: Path) -> DocxText:
    """The document as Markdown. Raises IngestError (one line) for a file Word cannot open."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile):  # "Package not found" for a bad zip
        raise IngestError("not a readable Word document (damaged or truncated .docx)") from None
    except (KeyError, ValueError, etree.XMLSyntaxError) as e:
        reason = str(e).splitlines()[0][:100] if str(e) else type(e).__name__
        raise IngestError(f"not a readable Word document ({reason})") from None
    notes = _notes(document)
    numbering = _Numbering(document)
    out = _Writer(notes)
    title = (document.core_properties.title or "").strip()
    for block in document.iter_inner_content():
        if block.__class__.__name__ == "Table":
            out.table(block)
            continue
        text = out.text(block._p)
        if not text.strip():
            continue
        style = block.style.name if block.style is not None else ""
        level = _heading_level(block, style)
        if level == 0 and not title:
            title = text.strip()
        label = numbering.label(block)
        if label:
            text = f"- {text}" if label == "•" else f"{label} {text}"
        out.lines.append(f"{'#' * max(1, level)} {text}" if level is not None else text)
    if not any(line.strip() for line in out.lines):
        raise IngestError("no text in the Word document")
    body = "\n\n".join(out.lines)
    cited = [(n, notes[key]) for key, n in out.numbers.items() if key in notes]
    body += "".join(f"\n\n<sup>{n}.</sup> {text}" for n, text in cited)
    return DocxText(title, body)


def _heading_level(paragraph, style: str) -> int | None:
    """0 for the Title style, N for "Heading N" (or an outline level N-1), None for body text."""
    if style == "Title":
        return 0
    m = re.match(r"Heading (\d)$", style)
    if m:
        return int(m.group(1))
    level = paragraph._p.find(f"{_w('pPr')}/{_w('outlineLvl')}")
    if level is not None and level.get(_w("val"), "9").isdigit() and int(level.get(_w("val"))) < 9:
        return int(level.get(_w("val"))) + 1
    return None


class _Writer:
    """Paragraph and table text, footnote references numbered in order of first citation."""

    def __init__(self, notes: dict[tuple[str, str], str]) -> None:
        self.notes = notes
        self.numbers: dict[tuple[str, str], int] = {}
        self.lines: list[str] = []

    def text(self, element) -> str:
        parts = []
        for el in element.iter(_w("t"), _w("tab"), _w("br"), _w("footnoteReference"),
                               _w("endnoteReference")):
            tag = etree.QName(el).localname
            if tag == "t":
                parts.append(el.text or "")
            elif tag in ("tab", "br"):
                parts.append(" ")
            else:
                key = (tag.removesuffix("Reference"), el.get(_w("id"), ""))
                if key in self.notes:
                    n = self.numbers.setdefault(key, len(self.numbers) + 1)
                    parts.append(f"<sup>{n}</sup>")
        return re.sub(r"[ \t]+", " ", "".join(parts)).strip()

    def table(self, table) -> None:
        rows = []
        for row in table.rows:
            cells = [" / ".join(t for t in (self.text(p._p) for p in c.paragraphs) if t)
                     for c in row.cells]
            rows.append([c.replace("|", "/") for c in cells])
        rows = [r for r in rows if any(c.strip() for c in r)]
        if not rows:
            return
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(["---"] * width) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        self.lines.append("\n".join(lines))


def _notes(document) -> dict[tuple[str, str], str]:
    """("footnote" | "endnote", id) -> the note's text, from word/footnotes.xml and
    word/endnotes.xml (separator notes, whose type is set, are left out)."""
    notes: dict[tuple[str, str], str] = {}
    for rel in document.part.rels.values():
        kind = rel.reltype.rsplit("/", 1)[-1]
        if kind not in NOTE_PARTS or rel.is_external:
            continue
        try:
            root = etree.fromstring(rel.target_part.blob)
        except etree.XMLSyntaxError:
            continue
        element = NOTE_PARTS[kind]
        for note in root.iter(_w(element)):
            if note.get(_w("type")) not in (None, "normal"):
                continue
            text = " ".join(
                "".join(t.text or "" for t in p.iter(_w("t"))).strip()
                for p in note.iter(_w("p"))
            )
            notes[(element, note.get(_w("id"), ""))] = " ".join(text.split())
    return notes


class _Numbering:
    """Word's list numbering, counted as Word displays it: "1.", "2.", "(a)", "iii)"."""

    def __init__(self, document) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}  # numId -> ilvl -> fmt
        self.counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return
        abstract = {}
        for a in root.iter(_w("abstractNum")):
            levels = {}
            for lvl in a.iter(_w("lvl")):
                fmt = lvl.find(_w("numFmt"))
                text = lvl.find(_w("lvlText"))
                start = lvl.find(_w("start"))
                levels[int(lvl.get(_w("ilvl"), "0"))] = (
                    fmt.get(_w("val")) if fmt is not None else "decimal",
                    text.get(_w("val")) if text is not None else "%1.",
                    int(start.get(_w("val"))) if start is not None else 1,
                )
            abstract[a.get(_w("abstractNumId"))] = levels
        for num in root.iter(_w("num")):
            ref = num.find(_w("abstractNumId"))
            if ref is not None and ref.get(_w("val")) in abstract:
                self.levels[num.get(_w("numId"))] = abstract[ref.get(_w("val"))]

    def label(self, paragraph) -> str:
        """The paragraph's list label, "" when it is not in a numbered list, "•" for bullets."""
        num_id, ilvl = self._num_pr(paragraph)
        levels = self.levels.get(num_id or "")
        if not levels or ilvl not in levels:
            return ""
        fmt, pattern, _ = levels[ilvl]
        if fmt == "bullet":
            return "•"
        if fmt == "none":
            return ""
        counts = self.counters.setdefault(num_id, [])
        while len(counts) <= ilvl:
            counts.append(levels.get(len(counts), ("", "", 1))[2] - 1)
        counts[ilvl] += 1
        del counts[ilvl + 1:]  # a deeper list restarts under each item

        def value(m: re.Match) -> str:
            k = int(m.group(1)) - 1
            f = levels.get(k, ("decimal", "", 1))[0]
            return _format(counts[k] if k < len(counts) else 1, f)

        return re.sub(r"%(\d)", value, pattern).strip()

    @staticmethod
    def _num_pr(paragraph) -> tuple[str | None, int]:
        for element in (paragraph._p, getattr(paragraph.style, "element", None)):
            if element is None:
                continue
            pr = element.find(f"{_w('pPr')}/{_w('numPr')}")
            if pr is not None:
                num = pr.find(_w("numId"))
                lvl = pr.find(_w("ilvl"))
                if num is not None and num.get(_w("val")) != "0":
                    return num.get(_w("val")), int(lvl.get(_w("val"))) if lvl is not None else 0
        return None, 0


def _format(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        s = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        s, rest = "", n
        for value, numeral in ROMAN:
            while rest >= value:
                s, rest = s + numeral, rest - value
        return s.upper() if fmt == "upperRoman" else s
    return str(n)
