"""Pinpoint citation strings: "FIDH 2018, §I.2.d, n. 71", "A/HRC/27/53/Add.2, para. 13",
"ICCPR, art. 8(1)-(3)", "Report X, §2, p. 22"."""

from __future__ import annotations

import re

from ingest.model import Passage

HEADING_NUMBER = re.compile(r"^([IVXL]{1,6}|[A-Ha-h]|\d{1,2})[\.\)]\s")


def section_label(section: list[str]) -> str:
    """ "§I.2.d" when every heading is numbered, else the innermost heading's title."""
    if not section:
        return ""
    numbers = [HEADING_NUMBER.match(h) for h in section]
    if all(numbers):
        return "§" + ".".join(m.group(1) for m in numbers if m)
    title = section[-1]
    return title if len(title) <= 60 else title[:57].rstrip() + "..."


def pages(p: Passage) -> str:
    if not p.page:
        return ""
    if p.page_end and p.page_end != p.page:
        return f"pp. {p.page}-{p.page_end}"
    return f"p. {p.page}"


def citation(p: Passage, short_title: str) -> str:
    parts = [short_title]
    if p.passage_type == "provision" and p.article:
        art = f"art. {p.article}"
        if p.paragraph:
            lo, _, hi = p.paragraph.partition("-")
            art += f"({lo})" + (f"-({hi})" if hi else "")
        parts.append(art)
    elif p.paragraph:
        parts.append(("paras. " if "-" in p.paragraph else "para. ") + p.paragraph)
    else:
        label = section_label(p.section)
        if label:
            parts.append(label)
    if pages(p):
        parts.append(pages(p))
    if p.passage_type == "testimony" and p.footnotes:
        parts.append("n. " + p.footnotes[-1].number)
    return ", ".join(parts)
