"""Legal citations in English text, normalised to LegalRef(instrument, article, paragraph).

How an article number finds its instrument, in order (the first that applies wins):
  1. "Article 7 of [the] <instrument>"  - the name that follows; unidentifiable -> instrument None
  2. "<instrument>, Article 517"         - the name just before
  3. "the ICCPR which, in article 8, …"  - the nearest instrument earlier in the same sentence
  4. "… the ICCPR … country. Article 12.2 states" - the one instrument of the previous sentence,
     when the current sentence names none
otherwise the article is skipped: a bare "Article 5" is never attached by guesswork.
"this Convention" / "the same Convention" point back to the nearest instrument of that kind.
Instruments named without an article give LegalRef(article=None).
"""

from __future__ import annotations

import bisect
import re

from .instruments import Mention, find_mentions, get_instrument
from .model import LegalRef

# <sup>N</sup> footnote markers: blanked with spaces so that offsets stay valid
_SUP = re.compile(r"<sup>[^<]{0,12}</sup>")

# One cited article and its sub-division: "128", "20-1" (Kazakh inserted articles), "12.2",
# "11. 2", "517(5)", "11 1. (f)", "65 d)", "2 (a)".
_ITEM = (r"(?P<num>\d{1,4}(?:-\d{1,2})?)(?![\d\w])"
         r"(?P<sub>\s?\(\d{1,3}\)(?:\s?\([a-z]\))?"
         r"|\.\s?\d{1,2}(?![\d%])(?!\.\d)(?:\s?\(?[a-z]\))?"
         r"|\s\d{1,2}\.\s?\([a-z]\)"
         r"|\s\(?[a-z]\)(?!\w))?")
_SEP = r"(?:\s*,\s*(?:and\s+|&\s*)?|\s+(?:and|&|or|to)\s+|\s*[&–—]\s*)"
_RANGE = re.compile(r"\s*(?:to|[–—])\s*", re.I)  # "Articles 2 to 4", "Articles 1–18"
# "[Clause 6 of Part 2 of] Article(s)|Art.|Section <items>"
_ARTICLE = re.compile(
    r"(?<![\w])(?P<pre>(?:(?:clause|part|paragraph|para\.|point|subparagraph|item)\s+\w{1,3}\)?"
    r"\s+of\s+){0,2})(?P<word>articles?|arts?\.|sections?)\s*"
    rf"(?P<list>{_ITEM.replace('?P<num>', '').replace('?P<sub>', '')}"
    rf"(?:{_SEP}{_ITEM.replace('?P<num>', '').replace('?P<sub>', '')})*)"
    # "Article 1, paragraphs 2 and 3" (treaty style)
    r"(?P<tail>,?\s+paragraphs?\s+\d{1,3}(?:(?:\s*,\s*|\s+and\s+)\d{1,3}(?!\d))*)?",
    re.I)
_ITEM_RE = re.compile(_ITEM, re.I)
_PREFIX_ITEM = re.compile(r"\w+\s+(\w{1,3})\)?\s+of", re.I)

# What may stand between an article and the name it belongs to (rule 1): "of the",
# "of the unmentioned", "under"; at most three filler words, no punctuation.
_GAP_AFTER = re.compile(r"\s*,?\s*(?:of|under)\s+(?:(?!(?:and|or)\b)[\w'’-]+\s+){0,3}", re.I)
# ... and between a name and the article that follows it (rule 2): "CEDAW, article 11".
_GAP_BEFORE = re.compile(r"(?:['’]s)?\s*[,:]?\s*(?:in\s+)?(?:its\s+)?", re.I)
# An "of ..." phrase that is an instrument we cannot identify (rule 1 fallback).
_OF_NAME = re.compile(
    r"\s*,?\s*(?:of|under)\s+(?P<name>(?:[\w\"“”'’.-]+\s+){0,5}?(?:convention|covenant|code|law"
    r"|treaty|protocol|agreement|declaration|constitution|charter)(?!\w))", re.I)
_OF_ANY = re.compile(r"\s*,?\s*of\s+\w", re.I)

# Anaphora. Strong determiners for any kind; "the Convention/Covenant" also, unless a title
# follows ("the Convention on the Rights of the Child" is a name, found by the registry).
_ANAPHOR = re.compile(
    r"(?<!\w)(?:(?:this|the\s+same|the\s+said|the\s+present|the\s+above[-\s]?mentioned"
    r"|the\s+aforementioned)\s+(?P<strong>convention|covenant|treaty|protocol|code|law)"
    r"|the\s+(?P<weak>convention|covenant))(?!\w)"
    r"(?!\s+(?:on|of|against|concerning|for|relating|to|n[°º]|no\.)(?!\w))(?!\s*\()", re.I)

# ILO lists a single regex cannot see:
#  "ILO Convention N°87 on freedom of association ... and N°98 on the right to organise"
_ILO_MORE = re.compile(r"(?:,|\band\b|\bor\b)\s*(?P<tok>(?:n[°º]|nos?\.)\s*(?P<n>\d{1,3}))(?!\d)",
                       re.I)
#  "ILO conventions concerning labour protection (148, 155, 162) and labour inspection (81,129)"
_ILO_TOPICS = re.compile(r"\bILO\s+conventions\s+(?:concerning|on|regarding)\b", re.I)
_NUM_GROUP = re.compile(r"\(\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\)")
_MAX_ILO = 199

# Sentence ends: ". " before a capital, and line breaks that start a new block.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"”’*)\]]*\s+(?=[\"“*]?[A-Z])|\n\s*\n|\n(?=\s*(?:[-*•]\s|#|\|))")
_ABBREV = re.compile(r"(?:\b(?:no|nos|art|arts|para|paras|e\.g|i\.e|mr|mrs|ms|dr|st|cf|vol|pp?"
                     r"|sect|ch|n°|nº)|\b[A-Z])\.$", re.I)


def _sentence_starts(text: str) -> list[int]:
    starts = [0]
    for m in _SENTENCE_END.finditer(text):
        if m.group().startswith("\n") or not _ABBREV.search(text[max(0, m.start() - 6):m.start()]):
            starts.append(m.end())
    return starts


_NOUNS = re.compile(r"convention|covenant|treaty|protocol|code|law|constitution|declaration", re.I)


def _head_noun(name: str) -> str | None:
    """What an instrument is: the first such noun in its name, so that the "Protocol of 2014 to
    the Forced Labour Convention" is a protocol and "this Convention" cannot point to it."""
    m = _NOUNS.search(name)
    return m.group().lower() if m else None


def _noun_of(instrument: str | None) -> str | None:
    inst = get_instrument(instrument) if instrument else None
    return _head_noun(inst.name) if inst else None


def _ilo_continuations(text: str, mentions: list[Mention], starts: list[int]) -> list[Mention]:
    """ILO conventions named by a bare number after a first one in the same sentence."""
    extra: list[Mention] = []
    starts_after = starts[1:] + [len(text)]
    for i, m in enumerate(mentions):
        if not (m.instrument or "").startswith("ILO-C"):
            continue
        end_of_sentence = starts_after[bisect.bisect_right(starts, m.start) - 1]
        stop = min([n.start for n in mentions[i + 1:]] + [end_of_sentence])
        for c in _ILO_MORE.finditer(text, m.end, stop):
            if int(c.group("n")) <= _MAX_ILO:
                extra.append(Mention(c.start("tok"), c.end(), f"ILO-C{int(c.group('n')):03d}",
                                     c.group("tok")))
    for t in _ILO_TOPICS.finditer(text):
        end_of_sentence = starts_after[bisect.bisect_right(starts, t.start()) - 1]
        for g in _NUM_GROUP.finditer(text, t.end(), end_of_sentence):
            for n in re.finditer(r"\d+", g.group(1)):
                if int(n.group()) <= _MAX_ILO:
                    s = g.start(1) + n.start()
                    extra.append(Mention(s, s + len(n.group()), f"ILO-C{int(n.group()):03d}",
                                         n.group()))
    return extra


def _anaphors(text: str, mentions: list[Mention], current: str | None) -> list[Mention]:
    """Mentions plus resolved anaphora, in order. An anaphor takes the instrument of the
    nearest earlier mention of that kind (convention, code...); with none, the current document
    (for "Article 5 of this Code" inside the code) when it is of that kind, else None."""
    taken = [(m.start, m.end) for m in mentions if m.instrument]
    vague = {(m.start, m.end) for m in mentions if not m.instrument}
    out = list(mentions)
    for a in _ANAPHOR.finditer(text):
        if any(s < a.end() and a.start() < e for s, e in taken):
            continue  # part of a real name
        out = [m for m in out if not (m.start < a.end() and a.start() < m.end
                                      and (m.start, m.end) in vague)]
        noun = (a.group("strong") or a.group("weak")).lower()
        earlier = [m for m in out
                   if m.end <= a.start() and m.instrument and _noun_of(m.instrument) == noun]
        if earlier:
            target = earlier[-1].instrument
        else:  # "this Code" inside the code itself; but "the Convention" in a protocol is
            target = current if _noun_of(current) == noun else None  # another instrument
        out.append(Mention(a.start(), a.end(), target, a.group()))
    return sorted(out, key=lambda m: m.start)


def _items(article: re.Match) -> list[tuple[str, str | None]]:
    """(article, paragraph) pairs of one match; "Articles 2 to 4" is expanded."""
    prefix = [p.group(1) for p in _PREFIX_ITEM.finditer(article.group("pre") or "")]
    outer = "".join(f"({p})" for p in reversed(prefix[:-1]))
    prefix_par = (prefix[-1] + outer) if prefix else None
    out: list[tuple[str, str | None]] = []
    body = article.group("list")
    previous_end = 0
    for m in _ITEM_RE.finditer(body):
        sub = m.group("sub")
        par = re.sub(r"[\s.]+", "", sub) if sub else None
        if par:  # "1(f)", "5", "5(a)", "d)" -> "d", "(a)" -> "a"
            par = re.sub(r"^\((\d+)\)", r"\1", par)
            par = re.sub(r"^\(?([a-z])\)$", r"\1", par)
            par = re.sub(r"^(\d+)\(?([a-z])\)$", r"\1(\2)", par)
        if prefix_par:
            par = prefix_par + (f"({par})" if par else "")
        if (out and _RANGE.fullmatch(body, previous_end, m.start()) and out[-1][0].isdigit()
                and m.group("num").isdigit() and 0 < int(m.group("num")) - int(out[-1][0]) <= 30):
            out += [(str(n), None) for n in range(int(out[-1][0]) + 1, int(m.group("num")))]
        out.append((m.group("num"), par))
        previous_end = m.end()
    if article.group("tail") and len(out) == 1 and out[0][1] is None:
        out = [(out[0][0], p) for p in re.findall(r"\d+", article.group("tail"))]
    return out


def _name(mention: Mention) -> str:
    inst = get_instrument(mention.instrument) if mention.instrument else None
    return inst.name if inst else re.sub(r"^the\s+", "", " ".join(mention.text.split()), flags=re.I)


def extract_legal_refs(text: str, source: str = "text", default_jurisdiction: str | None = None,
                       current_instrument: str | None = None, context: str = "") -> list[LegalRef]:
    """All legal citations in a text, in order, without duplicates.

    default_jurisdiction: the country assumed for codes and laws that name none ("the Criminal
    Code" in a report about Kazakhstan: "KZ"); without it they are kept unresolved.
    current_instrument: the id of the legal text the passage comes from, for "Article 5 of this
    Code" inside that code.
    context: the text just before (the previous paragraph), searched only for what "the same
    Convention" or a bare "Article 12.2" at the start of this text refer to; no refs from it.
    """
    offset = len(context) + 2 if context else 0
    text = f"{context}\n\n{text}" if context else text
    # "occupation*<sup>.65</sup> The": the sentence's full stop sits inside the marker
    clean = _SUP.sub(lambda m: ("." if m.group()[5:6] == "." else " ")
                     + " " * (len(m.group()) - 1), text)
    starts = _sentence_starts(clean)
    mentions = find_mentions(clean, default_jurisdiction)
    mentions = sorted(mentions + _ilo_continuations(clean, mentions, starts),
                      key=lambda m: m.start)
    mentions = _anaphors(clean, mentions, current_instrument)
    mention_starts = [m.start for m in mentions]
    sentence_of = [bisect.bisect_right(starts, m.start) - 1 for m in mentions]
    used: set[int] = set()
    found: list[tuple[int, LegalRef]] = []

    def raw(a: int, b: int) -> str:
        return " ".join(_SUP.sub(" ", text[a:b]).split())

    for a in _ARTICLE.finditer(clean):
        sentence = bisect.bisect_right(starts, a.start()) - 1
        target: int | None = None  # index into mentions
        explicit = True  # rules 1 and 2 name the instrument; 3 and 4 infer it
        span = (a.start(), a.end())
        # 1. "Article 7 of [the] <instrument>"
        for i in range(bisect.bisect_left(mention_starts, a.end()), len(mentions)):
            m = mentions[i]
            if m.start > a.end() + 60:
                break
            if _GAP_AFTER.fullmatch(clean, a.end(), m.start):
                target, span = i, (a.start(), m.end)
                break
        if target is None and (of := _OF_NAME.match(clean, a.end())):
            for art, par in _items(a):  # an instrument we cannot identify: kept, unresolved
                found.append((a.start(), LegalRef(None, art, par, raw(a.start(), of.end()),
                                                  " ".join(of.group("name").split()), source)))
            continue
        if target is None and _OF_ANY.match(clean, a.end()):
            continue  # "Article 3 of the report": not a legal instrument
        # 2. "<instrument>, Article 517"
        if target is None:
            before = [i for i, m in enumerate(mentions) if m.end <= a.start()]
            if before and _GAP_BEFORE.fullmatch(clean, mentions[before[-1]].end, a.start()):
                target = before[-1]
                span = (mentions[target].start, a.end())
        # 3. nearest instrument earlier in the same sentence
        if target is None:
            explicit = False
            same = [i for i, m in enumerate(mentions)
                    if sentence_of[i] == sentence and m.end <= a.start()]
            if same and mentions[same[-1]].instrument:
                target = same[-1]
        # 4. the one instrument of the previous sentence, if this sentence names none
        if (target is None and sentence > 0 and not a.group("word").lower().startswith("sect")
                and sentence not in sentence_of):
            prev = [i for i, s in enumerate(sentence_of) if s == sentence - 1]
            ids = {mentions[i].instrument for i in prev}
            if len(ids) == 1 and None not in ids:
                target = prev[-1]
        if target is None or (mentions[target].instrument is None and not explicit):
            continue  # a bare article is skipped, never attached by guesswork
        used.add(target)
        m = mentions[target]
        for art, par in _items(a):
            found.append((a.start(), LegalRef(m.instrument, art, par, raw(*span), _name(m),
                                              source)))

    # Instruments named without an article (not anaphora; not when cited with an article)
    found = [(pos, r) for pos, r in found if pos >= offset]
    with_article = {r.instrument for _, r in found}
    for i, m in enumerate(mentions):
        if (i not in used and m.start >= offset and m.instrument
                and m.instrument not in with_article and not _ANAPHOR.fullmatch(m.text)):
            found.append((m.start, LegalRef(m.instrument, None, None, raw(m.start, m.end),
                                            _name(m), source)))

    out: list[LegalRef] = []
    seen: set[tuple] = set()
    for _, r in sorted(found, key=lambda x: x[0]):
        key = (r.instrument, r.article, r.paragraph, "" if r.instrument else r.instrument_name)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
