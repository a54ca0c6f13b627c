"""Markdown and plain-text reports -> ordered blocks: headings, numbered paragraphs, footnotes.

One parser serves both seed styles and text pulled out of PDFs:
- Markdown converted from PDF (FIDH style): `#` headings of unreliable depth, footnote lines
  `<sup>23.</sup> text`, markers `<sup>23</sup>`, photo captions, a garbled table of contents,
  tables, paragraphs broken at page ends;
- UN plain text: paragraphs "13. ..." indented with non-breaking spaces, short unindented
  headings ("III. Status of ...", "A. ..."), notes after a `____` line, markers glued to words.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from .model import Block, Document

# --- line level patterns -------------------------------------------------------------------

MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SUP_FOOTNOTE_LINE = re.compile(r"^<sup>\s*(\d{1,4})\s*\.?\s*(.*?)</sup>\s*(.*)$")
PAGE_BREAK = re.compile(r"^⟦page (\d+)⟧$")  # the following text is on page N (PDF text)
NOTE_SEPARATOR = re.compile(r"^\s*_{5,}\s*$")
LIST_NOTE_LINE = re.compile(r"^[-*•]\s+(\d{1,4})\.\s+(\S.*)$")
IBID = re.compile(r"^\s*(Id|ld|Ibid|Ibidem)\.?\s*$", re.IGNORECASE)
PLAIN_NOTE_LINE = re.compile(r"^\s*(\d{1,4}|\*{1,3})\s+(\S.*)$")
TABLE_LINE = re.compile(r"^\s*\|")
NUMBERED_PARAGRAPH = re.compile(r"^(\d{1,3})\.\s+(?=\S)")
TERMINAL = tuple('.!?:;"”’)»…')
CONTENTS_HEADING = re.compile(r"^(table of )?contents$", re.IGNORECASE)
DATE_WORDS = re.compile(
    r"^(january|february|march|april|may|june|july|august|september|october|november|december)",
    re.IGNORECASE,
)

# Markers inside text. <sup>23</sup>, $^{60}$ are explicit; digits glued to the end of a word or
# a closing quote ("...offence.\"101", "workforce.2") are accepted only where they continue the
# footnote sequence.
SUP_MARKER = re.compile(r"<sup>(.*?)</sup>")
LATEX_MARKER = re.compile(r"\s?\$\^\{?(\d{1,4})\}?\$")
GLUED_MARKER = re.compile(
    r"(?:(?<=[A-Za-z\)\"”’'])|(?<=[A-Za-z\)\"”’']\.)|(?<=[,;:]))([1-9]\d{0,2})(?=[\s\.,;:\)]|$)"
)

# Heading numbering styles, used to infer depth (Markdown `#` depth is unreliable in PDF exports).
HEADING_STYLES = [
    ("roman", re.compile(r"^(?P<num>[IVXL]{1,6})[\.\)]\s+\S")),
    ("upper", re.compile(r"^(?P<num>[A-H])[\.\)]\s+\S")),
    ("arabic", re.compile(r"^(?P<num>\d{1,2})[\.\)]\s+\S")),
    ("lower", re.compile(r"^(?P<num>[a-h])[\.\)]\s+\S")),
    ("to", re.compile(r"^To\s+(the\s+)?\S", re.IGNORECASE)),
    ("on", re.compile(r"^On\s+\S", re.IGNORECASE)),
]
TOP_LEVEL_STYLES = {"plain", "roman"}


@dataclass
class _Raw:
    """A block before marker resolution: text still holds the markers."""

    kind: str
    text: str
    section: tuple[str, ...] = ()
    paragraph: str | None = None
    page: int | None = None
    page_end: int | None = None
    markers: list[str] = field(default_factory=list)


def heading_style(text: str) -> str:
    for name, pattern in HEADING_STYLES:
        if pattern.match(text):
            return name
    return "plain"


class SectionStack:
    """Turns a flat run of headings into section paths, using numbering style for depth.

    A heading whose style is already open closes that level and replaces it; a new style opens
    a deeper level; unnumbered and Roman-numbered headings start a new top-level section.
    """

    def __init__(self) -> None:
        self.stack: list[tuple[str, str]] = []

    def push(self, heading: str) -> tuple[str, ...]:
        style = heading_style(heading)
        if style in TOP_LEVEL_STYLES:
            self.stack = []
        else:
            for i, (open_style, _) in enumerate(self.stack):
                if open_style == style:
                    self.stack = self.stack[:i]
                    break
        self.stack.append((style, heading))
        return self.path

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(h for _, h in self.stack)


def clean_inline(text: str) -> str:
    """Markdown/HTML residue -> plain text (markers must already be removed)."""
    text = text.replace("<br>", " / ").replace("<br/>", " / ")
    text = re.sub(r"</?(u|i|b|em|strong|ol|ul|li|span)[^>]*>", " ", text)
    text = text.replace("\\*", "\x00").replace("*", "").replace("\x00", "*")
    text = re.sub(r"\\([_\[\]()#+\-.!`|>])", r"\1", text)
    text = html.unescape(text)
    text = text.replace("\u00a0", " ")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ([,.;:])(?=\s|$)", r"\1", text)
    return text.strip()


def _is_plain_heading(line: str, indented: bool) -> bool:
    """A short unindented line standing alone, without terminal punctuation."""
    s = line.strip()
    if indented or not s or len(s.split()) > 16 or s.endswith(TERMINAL + (",",)):
        return False
    if not (s[0].isupper() or s[0].isdigit()):
        return False
    if s[0].isdigit() and not NUMBERED_PARAGRAPH.match(s):
        return False  # "2014 ..." or a bare number
    return not DATE_WORDS.match(s)


def _starts_group(line: str, prev: str, markdown: bool) -> bool:
    """Line breaks that end a block even without a blank line between."""
    if NOTE_SEPARATOR.match(line):
        return True
    nbsp, prev_nbsp = line.startswith("\u00a0"), prev.startswith("\u00a0")
    if nbsp != prev_nbsp:  # UN plain text indents paragraphs with non-breaking spaces
        return True
    return not markdown and prev.rstrip().endswith(TERMINAL) and _is_plain_heading(line, False)


def _split_raw_blocks(raw: str, markdown: bool) -> list[list[str]]:
    """Groups of consecutive non-blank lines."""
    groups: list[list[str]] = []
    current: list[str] = []
    for line in raw.splitlines():
        if current and line.strip() and _starts_group(line, current[-1], markdown):
            groups.append(current)
            current = []
        if line.strip():
            current.append(line.rstrip())
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _add_note(notes: dict[str, str], number: str, text: str) -> None:
    """Store a note; split off the next one when the conversion glued it on ("2017. 135. Id.")."""
    text = clean_inline(text)
    glued = re.search(rf"\s{int(number) + 1}\.\s+(?=[A-Z])", text)
    if glued:
        notes.setdefault(str(int(number) + 1), text[glued.end() :].strip())
        text = text[: glued.start()].strip()
    notes.setdefault(number, text)


def _continues_notes(notes: dict[str, str], numbers: list[int]) -> bool:
    """Numbers that continue the run of notes read so far (so they are notes, not a list)."""
    known = [int(n) for n in notes if n.isdigit()]
    if not known or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return False
    return numbers[0] > 9 and abs(numbers[0] - max(known)) <= 5


def note_source(notes: dict[str, str], number: str) -> str:
    """The text a note stands for: "Id." / "Ibid." point back to the note before."""
    seen = 0
    while number.isdigit() and seen < 10:
        text = notes.get(number, "")
        if not IBID.match(text):
            return text
        number, seen = str(int(number) - 1), seen + 1
    return notes.get(number, "")


def _is_caption(text: str) -> bool:
    return "©" in text and len(text.split()) <= 45


def _table_is_junk(lines: list[str]) -> bool:
    """Tables mangled by the PDF conversion: one or two thin columns of word fragments."""
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    rows = [r for r in rows if not all(re.fullmatch(r":?-*:?", c) for c in r)]
    cells = [c for r in rows for c in r if c]
    if not cells:
        return True
    ncols = max(len(r) for r in rows)
    letters = sum(sum(ch.isalpha() for ch in c) for c in cells)
    median = sorted(len(c) for c in cells)[len(cells) // 2]
    return (ncols <= 2 and median < 12) or letters < 0.3 * sum(len(c) for c in cells)


def _table_text(lines: list[str]) -> str:
    out = []
    for ln in lines:
        cells = [clean_inline(SUP_MARKER.sub("", c)) for c in ln.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-*:?", c) for c in cells):
            out.append("|" + "|".join("---" for _ in cells) + "|")
            continue
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _read_blocks(raw: str, doc: Document, markdown: bool) -> tuple[list[_Raw], dict[str, str]]:
    """First pass: classify line groups into headings, paragraphs, tables, notes, captions."""
    sections = SectionStack()
    blocks: list[_Raw] = []
    notes: dict[str, str] = {}
    in_notes = False  # after a `____` separator, until the next indented paragraph or heading
    skipping: str | None = None  # "toc" or "excluded" while inside such a section
    excluded = [e.lower() for e in doc.back_matter]
    title_seen = False
    last_note = False
    page: int | None = None

    for group in _split_raw_blocks(raw, markdown):
        first = group[0]
        marker = PAGE_BREAK.match(first)
        if marker:  # page boundary of text extracted from a PDF
            page = int(marker.group(1))
            in_notes = False
            group = group[1:]
            if not group:
                continue
            first = group[0]
        indented = first[:1] in ("\u00a0",) or first.startswith(("  ", "\t"))
        stripped = first.strip().replace("\u00a0", " ").strip()

        if NOTE_SEPARATOR.match(first):
            in_notes = True
            rest = group[1:]
            if not rest:
                continue
            group, first = rest, rest[0]
            stripped = first.strip()

        sup = SUP_FOOTNOTE_LINE.match(stripped)
        if sup and len(group) == 1:
            # "<sup>29. &</sup>quot;Justice"": an entity the conversion cut in two
            joiner = "" if sup.group(2).endswith("&") else " "
            _add_note(notes, sup.group(1), sup.group(2) + joiner + sup.group(3))
            last_note = True
            continue
        listed = [LIST_NOTE_LINE.match(ln.strip()) for ln in group]
        if all(listed) and _continues_notes(notes, [int(m.group(1)) for m in listed]):
            for m in listed:  # notes exported as a list: "- 171. See report ..."
                _add_note(notes, m.group(1), m.group(2))
            last_note = True
            continue
        if last_note and stripped.startswith(("http://", "https://")) and notes:
            last = list(notes)[-1]  # a note's URL that the conversion put on its own line
            notes[last] = notes[last] + " " + clean_inline(" ".join(group))
            continue
        last_note = False

        md = MD_HEADING.match(stripped)
        heading = None
        if md and len(group) == 1:
            heading = clean_inline(md.group(2))
            if heading and heading[0].islower() and not skipping:
                # a sentence continuation wrongly marked as a heading by the PDF conversion
                blocks.append(_Raw("paragraph", md.group(2), sections.path, page=page))
                continue
        elif (
            not markdown
            and len(group) == 1
            and _is_plain_heading(first, indented)
            and not (in_notes and PLAIN_NOTE_LINE.match(first))
        ):
            heading = clean_inline(stripped)

        if in_notes and not heading and not indented:
            for line in group:
                m = PLAIN_NOTE_LINE.match(line)
                if m:
                    notes.setdefault(m.group(1), clean_inline(m.group(2)))
                elif notes:  # continuation of the previous note
                    last = list(notes)[-1]
                    notes[last] = notes[last] + " " + clean_inline(line)
            continue
        in_notes = False

        if heading is not None:
            if not title_seen and heading.lower().rstrip(".") == doc.title.lower().rstrip("."):
                title_seen = True  # the document's own title is not a section
                continue
            if CONTENTS_HEADING.match(heading):
                skipping = "toc"
                continue
            if any(heading.lower().startswith(e) for e in excluded):
                skipping = "excluded"
                continue
            if skipping == "toc":
                skipping = None
            if skipping == "excluded":
                continue
            sections.push(heading)
            blocks.append(_Raw("heading", heading, sections.path, page=page))
            continue

        if skipping == "toc" and not TABLE_LINE.match(first) and len(" ".join(group).split()) > 25:
            skipping = None  # running text after the contents: the document has begun
        if skipping:
            blocks.append(_Raw(skipping, "\n".join(group), sections.path, page=page))
            continue

        if all(TABLE_LINE.match(ln) for ln in group):
            kind = "junk" if _table_is_junk(group) else "table"
            blocks.append(_Raw(kind, "\n".join(group), sections.path, page=page))
            continue

        text = " ".join(ln.strip().replace("\u00a0", " ").strip() for ln in group)
        if group[0].lstrip().startswith(("- ", "* ", "• ")) and len(group) > 1:
            text = "\n".join(ln.strip() for ln in group)  # keep list items on their own lines
        if _is_caption(text):
            blocks.append(_Raw("caption", text, sections.path, page=page))
            continue
        if (
            re.match(r"^\d{1,4}\s+\S", text)
            and doc.title
            and doc.title[:30].lower() in text.lower()
        ):
            blocks.append(_Raw("junk", text, sections.path, page=page))  # a running page footer
            continue
        if len(text.split()) <= 3 and not text.endswith(TERMINAL):
            blocks.append(
                _Raw("junk", text, sections.path, page=page)
            )  # stray fragments (table debris)
            continue
        if text.startswith("\\*") or (not markdown and re.match(r"^\*{1,3}\s", text)):
            notes.setdefault(text[:6].count("*") * "*", clean_inline(text))
            continue
        blocks.append(_Raw("paragraph", text, sections.path, page=page))

    return blocks, notes


def _merge_continuations(blocks: list[_Raw]) -> list[_Raw]:
    """Rejoin paragraphs cut at a page end (the footnotes of that page sat between them)."""
    out: list[_Raw] = []
    for b in blocks:
        prev = next((p for p in reversed(out) if p.kind not in ("caption", "junk")), None)
        if (
            b.kind == "paragraph"
            and prev is not None
            and prev.kind == "paragraph"
            and prev.section == b.section
            and not prev.text.rstrip().endswith(TERMINAL)
            and not prev.text.lstrip().startswith(("- ", "* "))
            and b.text.lstrip()[:1].islower()
        ):
            prev.text = prev.text.rstrip() + " " + b.text.lstrip()
            if b.page is not None and b.page != prev.page:
                prev.page_end = b.page
            continue
        out.append(b)
    return out


def _number_paragraphs(blocks: list[_Raw]) -> None:
    """UN-style numbered paragraphs: "13. The Special Rapporteur ...", numbered in sequence.

    A run may start at any number (an extract of a report) when the next numbered paragraph
    continues it; a lone "2014. ..." or a list item restarting at 1 inside a run is not taken.
    """
    candidates = [(b, int(m.group(1))) for b in blocks if b.kind == "paragraph"
                  for m in [NUMBERED_PARAGRAPH.match(b.text)] if m]
    last = 0
    for i, (b, n) in enumerate(candidates):
        follows = last and n == last + 1
        starts = not last and (n <= 3 or (i + 1 < len(candidates)
                                          and candidates[i + 1][1] == n + 1))
        if follows or starts:
            last = n
            b.paragraph = str(n)


class _MarkerResolver:
    """Resolves footnote markers in reading order against the document's notes.

    Footnotes are numbered in sequence, so the next marker is expected to be last + 1. That
    expectation repairs garbled markers ("<sup>668</sup>" where 68 is due, a quote mark read
    as a 7 in "<sup>7107</sup>") and filters glued digits that are not markers at all.
    """

    def __init__(self, notes: dict[str, str]) -> None:
        self.numbers = {int(n) for n in notes if n.isdigit()}
        self.last = 0
        self.found = 0
        self.resolved = 0
        self.unresolved: list[str] = []

    def explicit(self, raw: str) -> str | None:
        digits = re.sub(r"\D", "", raw)
        if not digits:
            return None
        self.found += 1
        expected = self.last + 1
        candidates = {int(digits[i:]) for i in range(len(digits))} | {int(digits[:-1] or 0)}
        plausible = int(digits) in self.numbers and abs(int(digits) - expected) <= 25
        if (
            not plausible
            and expected in self.numbers
            and len(digits) == len(str(expected))
            and sum(a != b for a, b in zip(digits, str(expected), strict=True)) == 1
        ):
            candidates.add(expected)  # one digit misread ("724" where 224 is due)
        known = [c for c in candidates if c in self.numbers]
        if not known:
            self.unresolved.append(raw)
            return None
        best = min(known, key=lambda c: (abs(c - expected), -c))
        if abs(best - expected) > 25 and int(digits) not in self.numbers:
            self.unresolved.append(raw)
            return None
        self.last = max(self.last, best)
        self.resolved += 1
        return str(best)

    def glued(self, number: str) -> str | None:
        n = int(number)
        if n in self.numbers and self.last < n <= self.last + 2:
            self.found += 1
            self.resolved += 1
            self.last = n
            return str(n)
        return None


def _resolve_markers(blocks: list[_Raw], notes: dict[str, str], stats: dict) -> None:
    resolver = _MarkerResolver(notes)

    def sup(m: re.Match) -> str:
        inner = m.group(1)
        number = resolver.explicit(inner)
        if number is None:
            return "" if re.search(r"\d", inner) else inner
        current.append(number)
        # keep a quote or stop that the conversion put inside the superscript
        return "".join(ch for ch in inner if ch in '"”.,')

    def latex(m: re.Match) -> str:
        number = resolver.explicit(m.group(1))
        if number is not None:
            current.append(number)
        return ""

    def glued(m: re.Match) -> str:
        number = resolver.glued(m.group(1))
        if number is None:
            return m.group(0)
        current.append(number)
        return ""

    for b in blocks:
        if b.kind not in ("paragraph", "table"):
            b.text = SUP_MARKER.sub(
                lambda m: m.group(1) if not m.group(1)[:1].isdigit() else "", b.text
            )
            continue
        current: list[str] = []
        text = SUP_MARKER.sub(sup, b.text)
        text = LATEX_MARKER.sub(latex, text)
        if b.kind == "paragraph":
            text = GLUED_MARKER.sub(glued, text)
        b.text = text
        b.markers = list(dict.fromkeys(current))

    cited = {n for b in blocks for n in b.markers}
    stats.update(
        markers_found=resolver.found,
        markers_resolved=resolver.resolved,
        markers_unresolved=resolver.unresolved,
        footnotes=len(notes),
        footnotes_cited=len(cited & set(notes)),
    )


def parse_text(raw: str, doc: Document, markdown: bool = True) -> list[Block]:
    """Parse a report's text into blocks and fill doc.footnotes and doc.stats.

    markdown=False for plain text, where a line "* ..." is a note rather than a list item.
    """
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    blocks, notes = _read_blocks(raw, doc, markdown)
    blocks = _merge_continuations(blocks)
    _number_paragraphs(blocks)
    _resolve_markers(blocks, notes, doc.stats)
    doc.footnotes.update(notes)
    out = []
    for b in blocks:
        text = _table_text(b.text.splitlines()) if b.kind == "table" else clean_inline(b.text)
        if b.kind == "paragraph" and "\n" in b.text:  # list items keep their line breaks
            text = "\n".join(clean_inline(ln) for ln in b.text.splitlines())
        out.append(
            Block(
                kind=b.kind,
                text=text,
                section=b.section,
                page=b.page,
                page_end=b.page_end,
                paragraph=b.paragraph,
                footnote_refs=b.markers,
            )
        )
    return out
