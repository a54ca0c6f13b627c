"""Russian-language legal texts -> one block per article part, as ingest/legal.py does for the
English Markdown legal texts.

The laws and codes of Kazakhstan, Kyrgyzstan, Russia and their neighbours share one layout:

    ЗАКОН КЫРГЫЗСКОЙ РЕСПУБЛИКИ                  <- the act, its date and number, its subject
    от 14 ноября 2025 года № 257
    О внесении изменений в некоторые законодательные акты ...
    РАЗДЕЛ I. ОБЩИЕ ПОЛОЖЕНИЯ                    <- groups: Раздел > Глава > Параграф
    Глава 2. Трудовой договор
    Статья 15. Понятие трудового договора        <- an article, its title on the line or the next
    1. ...                                       <- numbered parts, "1)" points, "а)" sub-points

The text comes from any reader (PDF pages with their ⟦page N⟧ markers, Word, HTML, plain
text; Markdown "#" and "**" marks are ignored), so page numbers are kept where there are pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .legal import numbered_groups
from .model import Block, Document, IngestError
from .text import PAGE_BREAK, SUP_FOOTNOTE_LINE

ARTICLE = re.compile(r"^Статья\s+(?P<num>\d+(?:[-‑.]\d+)*)\s*\.?\s*(?P<title>.*)$")
# group headings, in their order of depth; case-sensitive, so that "часть 1 статьи 138 ..."
# (an amendment's wording) is never taken for a heading
GROUPS = ("Раздел", "Подраздел", "Глава", "Параграф")
GROUP = re.compile(
    r"^(?P<kind>Раздел|РАЗДЕЛ|Подраздел|ПОДРАЗДЕЛ|Глава|ГЛАВА|Параграф|ПАРАГРАФ|§)\s*"
    r"(?P<num>[\dIVXLC]+(?:-\d+)?)\b\.?\s*(?P<title>.*)$"
)
MARKUP = re.compile(r"^#{1,6}\s+|\*\*|__")
MONTHS = ("января февраля марта апреля мая июня июля августа сентября октября ноября "
          "декабря").split()
# "ЗАКОН КЫРГЫЗСКОЙ РЕСПУБЛИКИ", "Трудовой кодекс Республики Казахстан"
ACT = re.compile(r"^(?:[а-яё-]+(?:ый|ий|ой)\s+)?(?P<kind>закон|кодекс|конституция|указ|"
                 r"постановление)\b(?P<rest>.*)$", re.IGNORECASE)
DATED = re.compile(
    rf"\bот\s+(?P<day>\d{{1,2}})\s+(?P<month>{'|'.join(MONTHS)})\s+(?P<year>\d{{4}})"
    r"(?:\s*(?:года|г\.))?(?:\s*(?:№|N)\s*(?P<no>[\w-]+))?", re.IGNORECASE)
SUBJECT = re.compile(r"^[«\"“]?(?:О|Об)\s+\S")
# the state named in an act's heading, in the genitive ("Закон Кыргызской Республики")
STATES = {
    "KG": ("кыргызской республики", "КР"),
    "KZ": ("республики казахстан", "РК"),
    "RU": ("российской федерации", "РФ"),
    "UZ": ("республики узбекистан", "РУз"),
    "TJ": ("республики таджикистан", "РТ"),
}
KINDS = {"закон": "law", "кодекс": "code", "конституция": "constitution"}
TERMINAL = (".", ";", ":", ",")


def looks_like_russian_legal_text(text: str) -> bool:
    """Two or more lines that open an article ("Статья 1.", "## Статья 128. Торговля людьми")."""
    starts = re.findall(r"^(?:#{1,6}\s+)?(?:\*\*)?Статья\s+\d", text, re.MULTILINE)
    return len(starts) >= 2


@dataclass
class ActHeader:
    """What the heading of an act says about it (all optional)."""

    title: str = ""
    short_title: str = ""
    date: str = ""  # YYYY-MM-DD
    number: str = ""
    jurisdiction: str = ""
    kind: str = ""  # law | code | constitution

    @property
    def instrument(self) -> str:
        """A stable id for the act ("KG-LAW-2025-257"), or "" when it has no number."""
        if not (self.number and self.date and self.jurisdiction):
            return ""
        return f"{self.jurisdiction}-{(self.kind or 'law').upper()}-{self.date[:4]}-{self.number}"


@dataclass
class _Line:
    text: str
    page: int | None


def _lines(raw: str, doc: Document) -> list[_Line]:
    """The text's lines with their page, markup and footnote lines taken out."""
    out: list[_Line] = []
    page = None
    for line in raw.splitlines():
        s = MARKUP.sub("", line.strip()).strip()
        marker = PAGE_BREAK.match(s)
        if marker:
            page = int(marker.group(1))
            continue
        note = SUP_FOOTNOTE_LINE.match(s)
        if note:  # a PDF page's footnote: kept with the document, not in an article's text
            doc.footnotes.setdefault(note.group(1), (note.group(2) + " " + note.group(3)).strip())
            continue
        out.append(_Line(s, page))
    return out


def act_header(raw: str) -> ActHeader:
    """The act's kind, state, date, number and subject from its first lines."""
    head = ActHeader()
    lines = [MARKUP.sub("", ln.strip()).strip() for ln in raw.splitlines()]
    lines = [ln for ln in lines if ln and not PAGE_BREAK.match(ln)]
    kind_line = ""
    for i, line in enumerate(lines[:25]):
        if ARTICLE.match(line):
            break
        act = ACT.match(line)
        if act and not kind_line and len(line.split()) <= 8 and not line.endswith(TERMINAL):
            kind_line = line
            head.kind = KINDS.get(act.group("kind").lower(), "law")
            lowered = line.lower()
            head.jurisdiction = next((c for c, (g, _) in STATES.items() if g in lowered), "")
            continue
        dated = DATED.search(line)
        if dated and not head.date:
            month = MONTHS.index(dated.group("month").lower()) + 1
            head.date = f"{dated.group('year')}-{month:02d}-{int(dated.group('day')):02d}"
            head.number = dated.group("no") or ""
            continue
        if kind_line and SUBJECT.match(line) and not head.title:
            subject = line.strip("«»\"“”")
            head.title = f"{_sentence_case(kind_line)} «{subject}»"
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if nxt and not ARTICLE.match(nxt) and nxt[:1].islower():  # the subject wraps
                head.title = head.title[:-1] + f" {nxt}»"
    if kind_line and not head.title:
        head.title = _sentence_case(kind_line)
    if head.title:
        state = next((abbr for c, (_, abbr) in STATES.items() if c == head.jurisdiction), "")
        kind = _sentence_case(kind_line).split()[0] if kind_line else ""
        if kind.lower() not in KINDS:  # "Трудовой кодекс": the short title keeps both words
            kind = " ".join(_sentence_case(kind_line).split()[:2])
        parts = [f"{kind} {state}".strip()]
        if head.number:
            parts.append(f"№ {head.number}")
        if head.date:
            parts.append(f"({head.date[:4]})")
        head.short_title = " ".join(parts)
    return head


def _sentence_case(line: str) -> str:
    """ "ТРУДОВОЙ КОДЕКС РЕСПУБЛИКИ КАЗАХСТАН" -> "Трудовой кодекс Республики Казахстан": the
    first word and the state's name capitalised."""
    if not line.isupper():
        return line
    words = line.lower().split()
    kind = next(i for i, w in enumerate(words) if ACT.match(w) or i == len(words) - 1)
    return " ".join(w.capitalize() if i == 0 or i > kind else w for i, w in enumerate(words))


def parse_russian_legal(raw: str, doc: Document) -> list[Block]:
    """Blocks of kind "article", one per numbered part of each article (or one per article
    without parts); text outside the articles (the act's heading, a preamble) becomes
    paragraph blocks, so nothing of the document is lost."""
    lines = _lines(raw, doc)
    blocks: list[Block] = []
    groups: list[tuple[int, str]] = []  # (depth, heading) of the open Раздел / Глава ...
    article: str | None = None
    article_page: int | None = None
    heading = ""
    body: list[_Line] = []

    def section() -> tuple[str, ...]:
        return tuple(h for _, h in groups)

    def flush() -> None:
        if article is None:
            blocks.extend(Block("paragraph", ln.text, section(), page=ln.page)
                          for ln in body if ln.text)
            return
        path = section() + (heading,)
        texts = [ln.text for ln in body]
        parts = [(n, idx) for n, idx in numbered_groups(texts) if any(texts[i] for i in idx)]
        for k, (number, idx) in enumerate(parts):
            text = re.sub(r"\n{3,}", "\n\n", "\n".join(texts[i] for i in idx)).strip()
            first, last = body[idx[0]].page, body[idx[-1]].page
            blocks.append(Block("article", text if k else f"{heading}\n{text}", path,
                                page=first, page_end=last if last != first else None,
                                paragraph=number, article=article))
        if not parts:
            blocks.append(Block("article", heading, path, page=article_page, article=article))

    for i, ln in enumerate(lines):
        a = ARTICLE.match(ln.text)
        g = GROUP.match(ln.text) if not a else None
        if g and (len(ln.text.split()) > 20 or ln.text.endswith((";", ":", ","))):
            g = None  # a sentence that happens to start with "Глава"
        if a:
            flush()
            article, article_page, body = a.group("num"), ln.page, []
            title = a.group("title").strip()
            if not title:  # the title on the next line: short, no closing punctuation
                nxt = next((x for x in lines[i + 1 : i + 3] if x.text), None)
                if nxt is not None and _is_title(nxt.text):
                    title = nxt.text
                    nxt.text = ""
            heading = f"Статья {article}" + (f". {title.rstrip('.')}" if title else "")
            continue
        if g:
            flush()
            article, body = None, []
            depth = _depth(g.group("kind"))
            while groups and groups[-1][0] >= depth:
                groups.pop()
            groups.append((depth, ln.text))
            blocks.append(Block("heading", ln.text, section(), page=ln.page))
            continue
        body.append(ln)
    flush()
    if not any(b.kind == "article" for b in blocks):
        raise IngestError("no articles found in the legal text")
    return blocks


def _depth(kind: str) -> int:
    name = "Параграф" if kind == "§" else kind.capitalize()
    return GROUPS.index(name)


def _is_title(text: str) -> bool:
    return (len(text.split()) <= 15 and not text.endswith(TERMINAL) and text[:1].isupper()
            and not re.match(r"^\d", text))
