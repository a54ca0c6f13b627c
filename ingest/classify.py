"""Passage types and their attribution: testimonies (speaker, place, date) and recommendations.

Rules, not a model: each rule reads the way the reports themselves mark a testimony ("Name, a
Kyrgyz migrant, in the village of X, 3 November 2017: "...""; a quotation whose footnote says
"Interview with ... Astana, 18 November 2017.") or a recommendation ("To the ILO" under
"Recommendations"), so a reader can check why a passage got its type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
DATE = re.compile(
    rf"\b(?:\d{{1,2}}\s+{MONTHS}\s*,?\s+\d{{4}}|{MONTHS},?\s+\d{{4}}|{MONTHS}\s+\d{{1,2}},\s+\d{{4}})\b"
)
OPEN_QUOTE = ('"', "“", "«", "'")
QUOTED = re.compile(r"[\"“«](.+?)(?:[\"”»]|$)", re.DOTALL)
INTRO = re.compile(r"^(?P<attr>[^\"“«:]{8,260}?)\s*:\s*(?P<quote>[\"“«].{40,})$", re.DOTALL)
SPEECH_AFTER = re.compile(
    r"[\"”»]\s*,?\s*(?:noted|said|says|explained|told us|told|stated|recounted|added|according to)"
    r"\s+(?P<speaker>[^.;]{3,120})",
    re.IGNORECASE,
)
SOURCE_NOTE = re.compile(
    r"^(?:interview(?:ed)?\s+with|meeting\s+(?:with|at)|testimony\s+of|conversation\s+with|"
    r"statement\s+(?:by|of)|focus\s+group\s+with|discussion\s+with)\s+",
    re.IGNORECASE,
)
PERSON_WORDS = re.compile(
    r"\b(migrant|worker|woman|man|mother|father|girl|boy|son|daughter|wife|husband|official|"
    r"representative|head|director|chair|lawyer|activist|member|farmer|employer|expert|teacher|"
    r"nanny|diaspora|NGO|union|victim|resident|citizen|herdsman|labourer|inspector|officer)s?\b",
    re.IGNORECASE,
)
# verbs that make an introduction a sentence about a speaker, not an attribution line
NARRATION = re.compile(
    r"\b(told|said|says|recounted|recounts|explained|stated|noted|recalled|reported|describe[sd]?|"
    r"shared|confirmed|complained|testified|added|claimed|asserted|admitted|declared|follows|"
    r"spoke|speaks|answered|replied|insisted|warned|described|recalls|emphasi[sz]ed|"
    r"were|was|is|are|has|have|had)\b",
    re.IGNORECASE,
)
RECOMMENDATION_SECTION = re.compile(r"recommendation|\burge\b", re.IGNORECASE)
ADDRESSEE_HEADING = re.compile(
    r"^(?:[A-Z0-9]{1,4}[\.\)]\s+)?(?:Recommendations?\s+)?(?:to|for)\s+(?P<who>.+)$", re.IGNORECASE
)


@dataclass
class Attribution:
    speaker: str | None = None
    place: str | None = None
    date: str | None = None


def quote_share(text: str) -> float:
    """Share of the words of a paragraph that sit inside quotation marks."""
    quoted = sum(len(m.group(1).split()) for m in QUOTED.finditer(text))
    return quoted / max(1, len(text.split()))


def parse_attribution(attr: str) -> Attribution:
    """ "Babaraim Akimov, a male Kyrgyz migrant, in the village of Andarak, Kyrgyzstan, 3 November
    2017" -> speaker, place, date."""
    attr = attr.strip().strip(".,;: ")
    date = None
    dates = list(DATE.finditer(attr))
    if dates:
        date = dates[-1].group(0)
        attr = (attr[: dates[-1].start()] + attr[dates[-1].end() :]).strip().strip(".,;: ")
    m = re.search(r",?\s+(?:in|at)\s+(?=(?:the\s+)?[A-Z]|the\s+village|a\s+village)", attr)
    if m:
        return Attribution(
            attr[: m.start()].strip(" ,"), attr[m.end() :].strip(" ,.") or None, date
        )
    return Attribution(attr or None, None, date)


def parse_source_note(note: str) -> Attribution | None:
    """A footnote that gives a testimony's source: "Interview with Aziz M., a migrant worker from
    Kyrgyzstan. Batken, 4 November 2017." or "Shavkat Ismailov – Kyrgyz diaspora. Astana, 18
    November 2017." Returns None for notes that cite documents."""
    note = note.strip()
    if re.search(r"https?://|available at|\bSee\b|\bReport\b", note):
        return None
    dates = list(DATE.finditer(note))
    # "Name – role. Place, date." : a note that ends with the date of an encounter
    ends_dated = bool(dates) and len(note) - dates[-1].end() <= 3 and len(note.split()) <= 45
    is_source = SOURCE_NOTE.match(note) or (ends_dated and PERSON_WORDS.search(note))
    if not is_source:
        return None
    date = dates[-1].group(0) if dates else None
    body = note[: dates[-1].start()] if dates else note
    body = SOURCE_NOTE.sub("", body).strip().strip(".,; ")
    # "<speaker>. <place>" : the last sentence-like segment before the date is the place
    parts = [p.strip(" ,.") for p in re.split(r"(?<![\s.][A-Z])\.\s+", body) if p.strip(" ,.")]
    if len(parts) >= 2:  # "<speaker>. <place>[. <place>]"
        speaker, place = parts[0], ", ".join(parts[1:])
    else:
        head = parts[0] if parts else ""
        # "Meeting at the Consulate of Kyrgyzstan" or "the Women's Initiative Group. Osh"
        speaker, place = head, None
        m = re.match(r"^(?P<who>.+?),\s+(?P<where>[A-Z][\w\- ]+)$", head)
        if m and not PERSON_WORDS.search(m.group("where")):
            speaker, place = m.group("who"), m.group("where")
    if note.lower().startswith("meeting at"):
        speaker = re.sub(r"^meeting\s+at\s+", "", speaker, flags=re.IGNORECASE)
    return Attribution(speaker or None, place or None, date)


def _subject(sentence: str) -> str | None:
    """ "A woman from Uzbekistan spoke about her situation" -> "A woman from Uzbekistan"."""
    sentence = re.sub(rf"^On\s+{DATE.pattern},?\s*", "", sentence.strip())
    verb = NARRATION.search(sentence) or re.search(r"\b\w+ed\b", sentence)
    head = sentence[: verb.start()].strip(" ,") if verb else ""
    if (
        not head
        or len(head.split()) > 15
        or not PERSON_WORDS.search(head)
        and not head[0].isupper()
    ):
        return None
    return head


def testimony_attribution(text: str, notes: list[str], lead_in: str = "") -> Attribution | None:
    """The attribution of a paragraph if it is a testimony, else None.

    text: the paragraph; notes: texts of the footnotes it cites;
    lead_in: the previous paragraph when it ends with a colon ("Almakhan recounted...:").
    The source note, when there is one, is the most reliable attribution; an introduction
    "Name, role, in place, date: "..."" fills what the note leaves out.
    """
    body = text.lstrip("*_ ").strip()
    source = next((s for s in map(parse_source_note, reversed(notes)) if s), None)
    intro = INTRO.match(body)
    if (
        intro
        and (DATE.search(intro.group("attr")) or PERSON_WORDS.search(intro.group("attr")))
        and len(intro.group("quote").split()) >= 15
        and len(intro.group("attr").split()) <= 40
        and quote_share(intro.group("quote")) >= 0.6
    ):
        attr = intro.group("attr")
        short = len(attr.split()) <= 20 and not NARRATION.search(attr)
        att = parse_attribution(attr) if short else Attribution()
        if source:
            att.speaker = att.speaker or source.speaker
            att.place = att.place or source.place
            att.date = att.date or source.date
        att.speaker = att.speaker or _subject(attr)
        if not short and not att.date and DATE.search(attr):
            att.date = DATE.search(attr).group(0)
        return att
    starts_quoted = body.startswith(OPEN_QUOTE)
    if not (starts_quoted and quote_share(body) >= 0.6 and len(body.split()) >= 12):
        return None
    if source:
        return source
    after = SPEECH_AFTER.search(body)
    if after:
        return Attribution(after.group("speaker").strip(), None, None)
    if lead_in and PERSON_WORDS.search(lead_in):
        return Attribution(None, None, None)
    return None


def recommendation_addressee(section: tuple[str, ...] | list[str]) -> str | None:
    """The addressee when the section lies under a Recommendations heading, else None.

    "Recommendations > To the Kazakh authorities > On labour inspection" -> "the Kazakh
    authorities"; "IV. Conclusions and recommendations > A. Recommendations for the
    Government" -> "the Government"; "Recommendations" alone -> "" (a recommendation with no
    named addressee).
    """
    if not any(RECOMMENDATION_SECTION.search(h) for h in section):
        return None
    for heading in reversed(section):
        m = ADDRESSEE_HEADING.match(heading)
        if m:
            return m.group("who").strip().rstrip(".:")
    return ""
