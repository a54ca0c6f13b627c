"""Legal texts (Markdown with YAML front matter) -> one block per article paragraph group.

The corpus files head articles `## Article N` or `## Article 128. Human trafficking`, group them
under `## PART I` / `### Final Provisions` / `## ANNEX III`, and keep the paragraphs' own
numbering ("1.", "2.", "(a)", "1)"). Kazakh texts carry amendment notes ("Footnote." followed by
"as amended by the Law of ..."): those are kept as the article's notes, not as its text.
"""

from __future__ import annotations

import re

import yaml

from .model import Block, Document, IngestError

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
ARTICLE_HEADING = re.compile(
    r"^Article\s+(?P<num>\d+(?:[-‑]\d+)?[A-Za-z]?)\s*\.?\s*(?P<title>.*)$", re.IGNORECASE
)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
NUMBERED = re.compile(r"^(\d{1,3})([\.\)])\s+\S")
# A chapter, section or part heading written as a plain line, as the Kazakh texts have them
# ("CHAPTER 2. STATE REGULATION IN LABOR RELATIONS AREA"; "Section II" with "Person and Citizen"
# on the next line), which otherwise ends the text of the article before it. Taken as a heading
# only where it cannot be an article's text: the last lines before the next Markdown heading.
# (Russian texts have their own parser, ingest/russian.py, which reads Глава / Раздел lines.)
GROUP_LINE = re.compile(
    r"^(?:chapter|section|part)\s+(?:\d+|[IVXLC]+)\b\.?", re.IGNORECASE
)
ENDS_SENTENCE = (".", ";", ":", ",")
AMENDMENT_NOTE = re.compile(
    r"^(as amended|is as amended|in accordance with|in the wording|is excluded|excluded by|"
    r"the title as amended|the heading as amended|\[…\])",
    re.IGNORECASE,
)


def split_front_matter(raw: str) -> tuple[dict, str]:
    """YAML front matter and the body; ({}, raw) when the file has none."""
    m = FRONT_MATTER.match(raw)
    if not m:
        return {}, raw
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0]
        raise IngestError(f"invalid YAML front matter ({first})") from None
    if not isinstance(meta, dict):
        raise IngestError("invalid YAML front matter (not a mapping)")
    return meta, raw[m.end() :]


def looks_like_legal_text(body: str) -> bool:
    return len(re.findall(r"^#{1,6}\s+Article\s+\d", body, re.MULTILINE | re.IGNORECASE)) >= 2


def parse_legal(body: str, doc: Document) -> list[Block]:
    """Blocks of kind "article": one per article, or per paragraph group of a long article.

    Splitting by size happens in the chunker; here each article becomes a list of paragraph
    blocks sharing its section path and article number, so the chunker can keep them together.
    """
    blocks: list[Block] = []
    groups: list[str] = []  # PART / Chapter / ANNEX headings above the article
    group_levels: list[int] = []
    article: str | None = None
    article_heading = ""
    article_level = 0
    lines: list[str] = []
    notes: list[str] = []

    def flush() -> None:
        nonlocal lines, notes
        if article is None:
            lines, notes = [], []
            return
        paragraphs = _paragraphs(lines)
        section = tuple(groups) + (article_heading,)
        for i, (number, text) in enumerate(paragraphs):
            blocks.append(
                Block(
                    kind="article",
                    text=text if i else f"{article_heading}\n{text}",
                    section=section,
                    paragraph=number,
                    article=article,
                )
            )
        if not paragraphs:
            blocks.append(
                Block(kind="article", text=article_heading, section=section, article=article)
            )
        if notes:
            doc.footnotes[f"art. {article}"] = " ".join(notes)
        lines, notes = [], []

    in_note = note_started = False
    for line in body.splitlines():
        h = HEADING.match(line)
        if h:
            level, title = len(h.group(1)), h.group(2).strip().strip("*")
            if level == 1:
                continue  # the instrument's title
            lines = _without_trailing_heading(lines)
            a = ARTICLE_HEADING.match(title)
            if (
                not a
                and article is not None
                and level > article_level
                and not any(ln.strip() for ln in lines)
            ):
                # "## Article 2" then "### Statement of purpose": the article's title
                if "." not in article_heading:
                    article_heading = f"{article_heading}. {title}"
                continue
            flush()
            in_note = False
            if a:
                article_level = level
                article = a.group("num").replace("‑", "-")
                article_heading = f"Article {article}" + (
                    f". {a.group('title').strip()}" if a.group("title").strip() else ""
                )
            else:
                while group_levels and group_levels[-1] >= level:
                    group_levels.pop()
                    groups.pop()
                groups.append(title)
                group_levels.append(level)
                article = None
            continue
        s = line.strip()
        if s.startswith("Footnote."):  # "Footnote." or "Footnote. Chapter 1 was supplemented with"
            in_note, note_started = True, False
            if s != "Footnote.":
                notes.append(s.removeprefix("Footnote.").strip())
            continue
        if in_note and (not s or not note_started or AMENDMENT_NOTE.match(s)):
            if s:  # the paragraph right after "Footnote." is the note, whatever its wording
                notes.append(s)
                note_started = True
            continue
        in_note = False
        lines.append(line)
    flush()
    if not blocks:
        raise IngestError("no articles found in the legal text")
    return blocks


def _without_trailing_heading(lines: list[str]) -> list[str]:
    """An article's lines without a plain-text chapter heading that ends them ("CHAPTER 20.
    INVESTIGATION AND RECORD OF ACCIDENTS RELATED TO", its title run on over a second line): a
    GROUP_LINE among the last three lines, neither it nor the short lines after it ending a
    sentence ("Part 2 of this article does not apply." is text). The heading is not the
    article's text. It is not kept as the next articles' section either: as their context line
    it measured slightly worse on dev (hybrid R@5 0.866 -> 0.858, provisions S@5 0.712 ->
    0.692)."""
    content = [i for i, ln in enumerate(lines) if ln.strip()]
    for start in content[-3:]:
        first = lines[start].strip()
        rest = [lines[i].strip() for i in content if i > start]
        if (GROUP_LINE.match(first) and len(first) <= 200 and not first.endswith(ENDS_SENTENCE)
                and all(len(t) <= 120 and not t.endswith(ENDS_SENTENCE) for t in rest)):
            return lines[:start]
    return lines


def _paragraphs(lines: list[str]) -> list[tuple[str | None, str]]:
    """Split an article body at its top-level numbered paragraphs ("1.", "2.", ...)."""
    result = []
    for number, indices in numbered_groups(lines):
        body = [lines[i].strip() for i in indices]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip()
        if text:
            result.append((number, text))
    return result


def numbered_groups(lines: list[str]) -> list[tuple[str | None, list[int]]]:
    """The lines of an article body grouped by top-level numbered paragraph ("1.", "2.", or
    "1)", "2)": whichever comes first; sub-items "1)" inside paragraph "1." stay inside it), as
    (number, line indices); a blank line inside a paragraph is kept, once."""
    out: list[tuple[str | None, list[int]]] = []
    expected = 1
    style = None
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            if out and out[-1][1] and lines[out[-1][1][-1]].strip():
                out[-1][1].append(i)
            continue
        m = NUMBERED.match(s)
        if m and int(m.group(1)) == expected and style in (None, m.group(2)):
            style = m.group(2)
            out.append((m.group(1), [i]))
            expected += 1
            continue
        if not out:
            out.append((None, []))
        out[-1][1].append(i)
    return out
