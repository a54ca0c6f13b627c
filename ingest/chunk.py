"""Blocks -> passages, inside the document's structure.

- A passage never crosses a section (or article) boundary.
- Small blocks of one section are merged up to the target size; a block that is too long is
  split at paragraph, sentence or clause boundaries by langchain's recursive splitter, with
  the length measured in words.
- A UN numbered paragraph stays whole when it fits; a testimony is never merged with narrative
  (its lead-in sentence ending in ":" joins it); a table stays whole or is split by rows with
  its header repeated; a long article is split by its numbered paragraphs, the article heading
  carried into each piece.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .classify import recommendation_addressee, testimony_attribution
from .model import Block, Document, Footnote, Passage, passage_id
from .text import note_source

MIN_WORDS = 120
MAX_WORDS = 350
TAIL_WORDS = 60  # a section's last piece shorter than this joins the previous passage
INDEXED_KINDS = ("paragraph", "table", "article")


def words(text: str) -> int:
    return len(text.split())


_splitter = RecursiveCharacterTextSplitter(
    separators=["\n\n", "\n", ". ", "; ", ", ", " "],
    chunk_size=int(MAX_WORDS * 0.8),
    chunk_overlap=0,
    length_function=words,
    keep_separator="end",
)


@dataclass
class _Unit:
    """A piece of text that is never split further: a block, or a piece of a long block."""

    blocks: list[Block]
    start: int
    end: int
    kind: str  # narrative | testimony | table | provision
    prefix: str = ""  # carried heading (article title, table header) not inside [start, end)
    attribution: dict = field(default_factory=dict)
    nwords: int = 0


def assemble_text(doc: Document) -> None:
    """Set doc.text from the blocks and each block's offsets into it."""
    parts: list[str] = []
    pos = 0
    for b in doc.blocks:
        if b.kind in ("toc", "junk", "caption", "excluded"):
            b.start = b.end = pos
            continue
        if parts:
            pos += 2
        b.start, b.end = pos, pos + len(b.text)
        parts.append(b.text)
        pos = b.end
    doc.text = "\n\n".join(parts)


def _split_long(text: str, base: int) -> list[tuple[int, int]]:
    """Offsets of the pieces of a long text, split by the recursive splitter."""
    spans = []
    cursor = 0
    for piece in _splitter.split_text(text):
        i = text.find(piece, cursor)
        if i < 0:  # the splitter normalised whitespace; fall back to a fresh search
            i = text.find(piece.strip(), cursor)
        if i < 0:
            continue
        spans.append((base + i, base + i + len(piece)))
        cursor = i + len(piece)
    return spans


def _table_units(b: Block, doc: Document) -> list[_Unit]:
    if words(b.text) <= MAX_WORDS:
        return [_Unit([b], b.start, b.end, "table", nwords=words(b.text))]
    lines = b.text.split("\n")
    header_n = 2 if len(lines) > 1 and set(lines[1]) <= set("|-: ") else 1
    header = "\n".join(lines[:header_n])
    units, rows, row_start = [], [], None
    pos = b.start + len(header) + 1
    for line in lines[header_n:]:
        if rows and words(header) + words("\n".join(rows + [line])) > MAX_WORDS * 0.8:
            units.append(
                _Unit(
                    [b],
                    row_start,
                    pos - 1,
                    "table",
                    prefix=header + "\n",
                    nwords=words("\n".join(rows)),
                )
            )
            rows, row_start = [], None
        if row_start is None:
            row_start = pos
        rows.append(line)
        pos += len(line) + 1
    if rows:
        units.append(
            _Unit(
                [b], row_start, b.end, "table", prefix=header + "\n", nwords=words("\n".join(rows))
            )
        )
    return units


def _units(doc: Document, blocks: list[Block]) -> list[_Unit]:
    """The blocks of one section as units, long ones split."""
    units: list[_Unit] = []
    for i, b in enumerate(blocks):
        if b.kind == "table":
            units.extend(_table_units(b, doc))
            continue
        kind = "provision" if b.kind == "article" else "narrative"
        attribution: dict = {}
        if b.kind == "paragraph":
            notes = [note_source(doc.footnotes, n) for n in b.footnote_refs]
            prev = blocks[i - 1] if i else None
            lead_in = prev.text if prev is not None and prev.text.rstrip().endswith(":") else ""
            att = testimony_attribution(b.text, notes, lead_in)
            if att is not None:
                kind = "testimony"
                attribution = {"speaker": att.speaker, "place": att.place, "date": att.date}
        if words(b.text) <= MAX_WORDS:
            units.append(
                _Unit([b], b.start, b.end, kind, attribution=attribution, nwords=words(b.text))
            )
            continue
        carried = ""
        if b.kind == "article" and b.text.startswith(("Article", "Статья")):
            carried = b.text.split("\n", 1)[0]
        for k, (s, e) in enumerate(_split_long(b.text, b.start)):
            prefix = f"{carried} (continued)\n" if carried and k else ""
            units.append(
                _Unit(
                    [b],
                    s,
                    e,
                    kind,
                    prefix=prefix,
                    attribution=attribution,
                    nwords=words(doc.text[s:e]),
                )
            )
    return units


def _groups(units: list[_Unit]) -> list[list[_Unit]]:
    """Greedy merge of consecutive units of one section into passages."""
    groups: list[list[_Unit]] = []
    for u in units:
        cur = groups[-1] if groups else None
        if cur is not None:
            size = sum(x.nwords for x in cur) + words(cur[0].prefix)
            last = cur[-1]
            lead_in = (
                u.kind == "testimony"
                and len(cur) == 1
                and last.kind == "narrative"
                and last.blocks[-1].text.rstrip().endswith(":")
                and size + u.nwords <= MAX_WORDS
            )
            if lead_in:
                cur[0].kind = "testimony"  # the lead-in joins the testimony it introduces
                cur[0].attribution = u.attribution
                cur.append(u)
                continue
            same_kind = last.kind == u.kind and u.kind in ("narrative", "provision")
            same_block_piece = last.blocks[-1] is u.blocks[0] and u.prefix
            if (
                same_kind
                and not same_block_piece
                and size < MIN_WORDS
                and size + u.nwords <= MAX_WORDS
            ):
                cur.append(u)
                continue
        groups.append([u])
    # a short tail joins the passage before it, when that keeps the size reasonable
    if len(groups) >= 2:
        tail, prev = groups[-1], groups[-2]
        tail_words = sum(x.nwords for x in tail)
        prev_words = sum(x.nwords for x in prev)
        if (
            tail_words < TAIL_WORDS
            and prev[-1].kind == tail[0].kind
            and tail[0].kind in ("narrative", "provision")
            and not tail[0].prefix
            and prev_words + tail_words <= MAX_WORDS + TAIL_WORDS
        ):
            prev.extend(tail)
            groups.pop()
    return groups


def _paragraph_range(blocks: list[Block]) -> str | None:
    numbers = [b.paragraph for b in blocks if b.paragraph]
    numbers = list(dict.fromkeys(numbers))
    if not numbers:
        return None
    return numbers[0] if len(numbers) == 1 else f"{numbers[0]}-{numbers[-1]}"


def chunk(doc: Document, instrument: str | None = None) -> list[Passage]:
    """All passages of a document, in reading order."""
    sections: list[list[Block]] = []
    for b in doc.blocks:
        if b.kind not in INDEXED_KINDS:
            continue
        key = (b.section, b.article)
        if sections and (sections[-1][0].section, sections[-1][0].article) == key:
            sections[-1].append(b)
        else:
            sections.append([b])

    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for blocks in sections:
        for group in _groups(_units(doc, blocks)):
            start, end = group[0].start, group[-1].end
            prefix = group[0].prefix
            first = group[0].blocks[0]
            if first.kind == "article" and first is not blocks[0] and not prefix:
                prefix = f"{first.section[-1]} (continued)\n"  # carry the article heading
            text = prefix + doc.text[start:end]
            bl = list({id(b): b for u in group for b in u.blocks}.values())  # distinct, in order
            kind = group[0].kind
            section = list(bl[0].section)
            refs = list(
                dict.fromkeys(
                    n for b in bl for n in b.footnote_refs if start <= b.end and b.start <= end
                )
            )
            p = Passage(
                passage_id="",
                doc_id=doc.doc_id,
                seq=len(passages),
                text=text,
                passage_type=kind,
                section=section,
                start=start,
                end=end,
                page=bl[0].page,
                page_end=bl[-1].page_end or bl[-1].page,
                paragraph=_paragraph_range(bl),
                footnotes=[Footnote(n, doc.footnotes[n]) for n in refs if n in doc.footnotes],
            )
            if p.page_end == p.page:
                p.page_end = None
            if kind == "testimony":
                att = next((u.attribution for u in group if u.attribution), {})
                p.speaker, p.place, p.date = att.get("speaker"), att.get("place"), att.get("date")
            elif kind == "provision":
                p.instrument, p.article = instrument, bl[0].article
                note = doc.footnotes.get(f"art. {bl[0].article}")
                if note:
                    p.footnotes = [Footnote("amendments", note)]
            elif kind in ("narrative",):
                addressee = recommendation_addressee(section)
                if addressee is not None:
                    p.passage_type = "recommendation"
                    p.addressee = addressee or None
            n = seen.get(text, 0)
            seen[text] = n + 1
            p.passage_id = passage_id(doc.doc_id, text, n)
            passages.append(p)
    return passages
