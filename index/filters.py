"""What a search is narrowed to (documents, kinds, jurisdictions, passage types, languages,
dates) and how the dates users type are read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.classify import MONTHS


class DateError(ValueError):
    """A date filter that is not YYYY, YYYY-MM, YYYY-MM-DD or a written date."""


@dataclass
class Filters:
    doc: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    jurisdiction: list[str] = field(default_factory=list)
    passage_type: list[str] = field(default_factory=list)
    date_from: str | None = None  # "2017", "2017-11", "2017-11-03"
    date_to: str | None = None
    language: list[str] = field(default_factory=list)  # the documents' languages: "en", "ru"

    @classmethod
    def of(cls, doc=None, kind=None, jurisdiction=None, passage_type=None, date_from=None,
           date_to=None, language=None) -> Filters:
        """Filters from form or command-line values (None, tuples or lists; blank dates)."""
        return cls(list(doc or []), list(kind or []), list(jurisdiction or []),
                   list(passage_type or []), (date_from or "").strip() or None,
                   (date_to or "").strip() or None, list(language or []))

    def active(self) -> bool:
        return bool(self.doc or self.kind or self.jurisdiction or self.passage_type
                    or self.date_from or self.date_to or self.language)

    def date_bounds(self) -> tuple[int | None, int | None]:
        """The date range as (YYYYMMDD lo, hi), each None when open; DateError when a date
        cannot be read."""
        return _bound(self.date_from, upper=False), _bound(self.date_to, upper=True)


_MONTH_NUM = {m.lower(): i for i, m in enumerate(MONTHS.strip("(?:)").split("|"), start=1)}


def date_span(text: str | None) -> tuple[int, int] | None:
    """ "2014-08-26", "2018", "2017-11", "3 November 2017", "November 2017", "November 3, 2017"
    -> (YYYYMMDD lo, hi); None when the text is not one of these."""
    if not text:
        return None
    t = text.strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", t)
    if m:
        y, mo, d = int(m.group(1)), m.group(2), m.group(3)
        if mo is None:
            return y * 10000 + 101, y * 10000 + 1231
        return _span(y, int(mo), int(d) if d else None)
    m = re.search(r"(?:(\d{1,2})\s+)?([A-Za-z]+)\s*(?:(\d{1,2}),)?,?\s+(\d{4})\b", t)
    if m and m.group(2).lower() in _MONTH_NUM:
        day = m.group(1) or m.group(3)
        return _span(int(m.group(4)), _MONTH_NUM[m.group(2).lower()], int(day) if day else None)
    return None


def _span(year: int, month: int, day: int | None) -> tuple[int, int] | None:
    if not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
        return None
    base = year * 10000 + month * 100
    return (base + day, base + day) if day else (base + 1, base + 31)


def _bound(text: str | None, upper: bool) -> int | None:
    span = date_span(text)
    if span is None:
        if text:
            raise DateError(f"cannot read the date '{text}' (use YYYY, YYYY-MM or YYYY-MM-DD)")
        return None
    return span[1] if upper else span[0]
