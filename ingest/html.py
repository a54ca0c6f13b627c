"""Saved web pages (.html, .htm) -> the Markdown that ingest.text parses. Nothing is fetched.

trafilatura finds the main text (navigation, menus, footers and cookie banners left out) and
writes it as Markdown with its headings and tables. Footnotes and endnotes are taken out first,
since trafilatura drops a notes list as boilerplate: a link to an element of the page
(`<sup><a href="#fn1">1</a></sup>`, Word's `<a href="#_ftn1">[1]</a>`, Wikipedia's
`#cite_note-3`) whose text is a number is a marker, the element it points to (or the paragraph
holding that anchor) is its note. Markers become `<sup>N</sup>` and notes `<sup>N.</sup> text`
lines, resolved by ingest.text as for PDF and Markdown reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from .model import IngestError

TOKEN = "\u27e6fn{}\u27e7"  # ⟦fn3⟧: a placeholder that trafilatura keeps as text
TOKEN_RE = re.compile("\u27e6fn(\\d+)\u27e7")
NOTE_BLOCKS = {"li", "p", "div", "aside", "dd", "td", "section", "footer"}
MIN_WORDS = 20  # fewer words than this is no main text
BACKLINK = re.compile(r"^\s*(?:↩|↑|\^|back|return)\W*$", re.IGNORECASE)


@dataclass
class HtmlText:
    title: str
    markdown: str


def read_html(data: bytes) -> HtmlText:
    """The page's main text as Markdown. Raises IngestError when it has none."""
    import trafilatura

    try:
        tree = lxml_html.document_fromstring(_decode(data))
    except (etree.ParserError, ValueError) as e:
        raise IngestError(f"not a readable web page ({str(e)[:80] or type(e).__name__})") from None
    notes = _take_notes(tree)
    page = etree.tostring(tree, encoding="unicode")
    markdown = trafilatura.extract(page, output_format="markdown", include_tables=True,
                                   include_comments=False, include_links=False,
                                   include_images=False, favor_recall=True)
    if not markdown or len(markdown.split()) < MIN_WORDS:  # a menu or a cookie notice
        raise IngestError("no main text found in the web page")
    cited: list[str] = []

    def marker(m: re.Match) -> str:
        n = m.group(1)
        if n not in cited:
            cited.append(n)
        return f"<sup>{n}</sup>"

    markdown = TOKEN_RE.sub(marker, markdown)
    markdown += "".join(f"\n\n<sup>{n}.</sup> {notes[n]}" for n in cited if notes.get(n))
    metadata = trafilatura.extract_metadata(page)
    title = (metadata.title if metadata is not None and metadata.title else "") or ""
    return HtmlText(title.strip(), markdown)


def _decode(data: bytes) -> str:
    """The page's text: in the charset it declares, else UTF-8 (what saved pages use)."""
    declared = re.search(rb"""charset=["']?([\w-]+)""", data[:4096], re.IGNORECASE)
    charset = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        text = data.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        text = data.decode("utf-8", errors="replace")
    return re.sub(r"^\ufeff?\s*<\?xml[^>]*>", "", text)  # lxml refuses str with a declaration


def _take_notes(tree) -> dict[str, str]:
    """Replace note markers by tokens and remove the notes from the page; number -> text."""
    by_id = {el.get("id"): el for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    by_name = {el.get("name"): el for el in tree.iter("a") if el.get("name")}
    notes: dict[str, str] = {}
    found: list = []  # the note elements, referenced so lxml keeps their identity
    numbers: list[str] = []  # the number of each of them
    for link in list(tree.iter("a")):
        href = link.get("href") or ""
        label = re.sub(r"[\[\]()\s]", "", link.text_content())
        if not href.startswith("#") or not label.isdigit():
            continue
        target = by_id.get(href[1:])
        target = by_name.get(href[1:]) if target is None else target
        if target is None or _contains(target, link):
            continue
        note = _note_block(target)
        if note is None or _contains(note, link):  # a backlink from the note to its marker
            continue
        known = next((i for i, el in enumerate(found) if el is note), None)
        if known is None:  # a note cited twice keeps the number of its first marker
            found.append(note)
            numbers.append(label)
            notes.setdefault(label, _note_text(note))
        number = numbers[known] if known is not None else label
        outer = link.getparent() if link.getparent().tag == "sup" and \
            not (link.getparent().text or "").strip() else link
        _replace(outer, TOKEN.format(number))
    for note in found:
        parent = note.getparent()
        if parent is not None:
            _replace(note, "")
            if not parent.text_content().strip() and parent.getparent() is not None:
                _replace(parent, "")  # the emptied notes list or section
    return notes


def _contains(outer, inner) -> bool:
    return any(el is inner for el in outer.iter())


def _note_block(target):
    """The element holding a note: the target itself, or for an anchor (Word's
    `<a name="_ftn1">`), the nearest block around it."""
    el = target
    while el is not None and el.tag not in NOTE_BLOCKS:
        el = el.getparent()
    return el


def _note_text(note) -> str:
    """A note's text without its own number and its link back to the marker."""
    copy = lxml_html.fromstring(etree.tostring(note))
    for a in list(copy.iter("a")):
        label = re.sub(r"[\[\]()\s]", "", a.text_content())
        if (a.get("href") or "").startswith("#") and (label.isdigit() or BACKLINK.match(
                a.text_content()) or not label):
            _replace(a, "")
    text = " ".join(copy.text_content().split())
    return re.sub(r"^\d{1,4}[.)]?\s+", "", text).strip()


def _replace(el, text: str) -> None:
    """Remove an element, leaving `text` (and the element's tail) in its place."""
    parent = el.getparent()
    if parent is None:
        return
    tail = text + (el.tail or "")
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(el)
