"""What a question asks and constrains: its distinctive terms, the constraints a passage must
meet (a year, a number, a name, a country), the kind of answer it asks for (a figure, a
duration, a penalty...) and whether a sentence states one. app/answerability.py turns these into
the features of its two models.

Nothing here depends on particular questions: the word lists are general resources (question
words, demonyms, units, currencies, legal reference words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from index.lexical import tokenize
from index.provisions import ARTICLE_MISSING, NOT_IN_CORPUS, OTHER_VERSION, graph
from index.search import Hit, Index
from index.units import unit_notes
from ingest.legalrefs import extract_legal_refs
from ingest.model import Passage

QUESTION_WORDS = frozenset(tokenize(
    "what how which who whom whose when where why does do did is are was were can could should "
    "would say said says tell told many much there any about it its the a an"))
# Demonyms of the region's countries and its migrants' destinations: "Kyrgyz" asks for
# Kyrgyzstan. A general resource, like the list of question words.
DEMONYMS = {"kazakh": "kazakhstan", "kazakhstani": "kazakhstan", "kyrgyz": "kyrgyzstan",
            "uzbek": "uzbekistan", "tajik": "tajikistan", "turkmen": "turkmenistan",
            "russian": "russia", "chinese": "china", "turkish": "turkey", "afghan": "afghanistan",
            "ukrainian": "ukraine", "belarusian": "belarus", "armenian": "armenia",
            "georgian": "georgia", "azerbaijani": "azerbaijan", "mongolian": "mongolia",
            "korean": "korea", "pakistani": "pakistan", "indian": "india"}
_DEMONYM_TERMS = {tokenize(k)[0]: tokenize(v)[0] for k, v in DEMONYMS.items()}
COUNTRY_TERMS = frozenset(_DEMONYM_TERMS.values())

# --- what a question asks for, and what a sentence states --------------------------------------

# What a question asks for is read from its wh-phrase: a wh-word opening the question or a
# clause ("..., and how much notice is needed?"), with the words after it. A wh-word inside a
# clause ("workers who demanded") asks nothing, nor does a leading "When X, ..." clause.
# Checked in this order: "how many days" asks for a duration before a quantity.
_WHAT = r"(what|which)\s+((is|are|was|were)\s+)?(the\s+)?(\S+\s+){0,3}"
ASKS = {
    "duration": r"how\s+long|how\s+many\s+(\w+\s+)?(hours|days|weeks|months|years)|within\s+how|"
                rf"{_WHAT}(period|time\s+limit|deadline|duration|term)s?\b",
    "penalty": rf"{_WHAT}(penalty|penalties|punishment|punishments|sentence|sentences|sanction|"
               r"sanctions|fine|fines)\b|how\s+(is|are|can|could|would|will)\b.*\b(punished|"
               r"sanctioned|fined)\b",
    "money": r"how\s+much\s+(money|do|does|did|is|are|was|were|can|could|must|should)\b|"
             rf"{_WHAT}(wage|wages|salary|salaries|fee|fees|cost|costs|price)\b|"
             r".*\bin\s+(tenge|soms?|roubles|rubles|dollars|usd|euros)\b",
    "quantity": r"how\s+(many|much|old|large|big|often)\b|"
                rf"{_WHAT}(share|proportion|percentage|number|amount|figure|rate|ratio|age|total)s?"
                r"\b",
    "date": r"when\b|(in\s+)?(what|which)\s+(year|date|month|day)s?\b|since\s+when",
    "person": r"(who|whom|whose)\b",
    "place": r"where\b|(in\s+|from\s+|to\s+)?(what|which)\s+(\w+\s+)?(city|cities|region|regions|"
             r"country|countries|district|districts|oblasts?|provinces?|towns?|villages?|"
             r"markets?|place|places)\b",
    "organisation": r"(what|which)\s+(\w+\s+)?(organi[sz]ations?|body|bodies|agency|agencies|"
                    r"authority|authorities|ministry|ministries|institutions?|committees?|"
                    r"courts?|unions?|ngos?|company|companies|services?)\b",
    "article": r"((under|in)\s+)?(what|which)\s+(\w+\s+)?(articles?|provisions?|clauses?|"
               r"sections?|paragraphs?)\b",
}
ASKS_RE = {kind: re.compile(pattern, re.I) for kind, pattern in ASKS.items()}
WH_START = re.compile(r"(?:^|[,;:(]\s*(?:and\s+|or\s+|but\s+)?|\band\s+)((?:(?:in|under|from|to|"
                      r"since|for|within|by)\s+)?(?:what|which|who|whom|whose|when|where|how|why)"
                      r"\b)", re.I)
LEADING_CLAUSE = re.compile(r"^\s*(when|where|if|once|after|before|while)\b[^,?]*,\s*", re.I)
YES_NO = re.compile(r"^\s*(is|are|was|were|does|do|did|can|could|may|must|should|has|have|"
                    r"will|would)\b", re.I)

NUMBER_WORD = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
               r"twenty|thirty|forty|fifty|sixty|hundred|thousand|million|billion|dozen|half|"
               r"a\s+third|a\s+quarter|several")
MONTH = (r"January|February|March|April|May|June|July|August|September|October|November|"
         r"December")
# numbers that only refer to a text ("Article 402", "Order No. 398", "para. 13") state nothing
REFERENCE = re.compile(r"\b(articles?|arts?|paragraphs?|paras?|nos?|clauses?|chapters?|parts?|"
                       r"sections?|items?|conventions?|protocols?|resolutions?|orders?|decrees?|"
                       r"laws?|annex|pages?|pp?|c|subparagraphs?|§)\.?\s*$", re.I)
NUMBER = re.compile(rf"(?<![\w.-])\d[\d,. ]*\d(?![\w-])|(?<![\w.-])\d(?![\w-])|\b({NUMBER_WORD})"
                    r"\b|%|\bper\s*cent\b", re.I)
YEAR = re.compile(r"\b(19|20)\d\d\b")
UNIT = r"(hours?|days?|weeks?|months?|years?|working\s+days|calendar\s+days)"
STATES = {
    "duration": re.compile(rf"\b(\d+|{NUMBER_WORD}|an?)([\s-]+(to|or|and|-|–)[\s-]+(\d+|"
                           rf"{NUMBER_WORD}))?[\s-]+(\w+[\s-]+)?{UNIT}\b|\b(annual|monthly|daily|"
                           r"weekly)\b", re.I),
    "penalty": re.compile(r"\b(imprisonment|deprivation\s+of\s+liberty|restriction\s+of\s+"
                          r"(liberty|freedom)|fines?|fined|penalt(y|ies)|correctional|"
                          r"community\s+service|public\s+works|arrest|deport(ed|ation)|"
                          r"expul(sion|ed)|confiscation|punishable|liable|sanctions?)\b", re.I),
    "money": re.compile(r"\b(tenge|KZT|soms?|roubles?|rubles?|USD|US\s*dollars|dollars?|euros?|"
                        r"MCI|monthly\s+calculat\w+\s+ind\w+)\b|[$€£₸]", re.I),
    "date": re.compile(rf"\b(19|20)\d\d\b|\b({MONTH})\b"),
    "person": re.compile(r"\b(Mr|Mrs|Ms|Dr|Minister|President|Rapporteur|Director|Chairman|"
                         r"Head)\b\.?|(?<=[a-z,] )[A-Z][a-z]+\s+[A-Z](\.|[a-z]+)"),
    # a place is named: "in Almaty", "the Talgar district", "the region of Turkestan"
    "place": re.compile(r"\b(in|at|from|to|near)\s+(the\s+)?[A-Z][a-z]+|[A-Z][a-z]+\s+(region|"
                        r"oblast|district|city|village|town|province|market|bazaar)s?\b|"
                        r"\b(region|oblast|district|city|village|town|province)s?\s+of\s+[A-Z]"),
    "article": re.compile(r"\b(art(icle)?s?|paragraph|para|clause|section)\.?\s*\d+|"
                          r"\bConvention\s+(No\.?\s*)?\d+|\bC\d{2,3}\b", re.I),
    "organisation": re.compile(r"\b[A-Z]{2,}\b|\b(Ministry|Committee|Agency|Service|Office|"
                               r"Organi[sz]ation|Union|Council|Commission|Department|Court|"
                               r"Police|Prosecutor\w*|Inspectorate|Foundation|Cent(re|er)|"
                               r"Bureau|Association|Company|LLP|LLC|JSC|NGOs?)\b"),
}


def asks_for(question: str) -> str | None:
    """The kind of answer a question asks for ("duration", "quantity"...), or None."""
    question = LEADING_CLAUSE.sub("", question)
    for m in WH_START.finditer(question):
        phrase = question[m.start(1):]
        kind = next((k for k, r in ASKS_RE.items() if r.match(phrase)), None)
        if kind:
            return kind
    return None


def states_quantity(sentence: str) -> bool:
    """A number, a number word or a share, not a year, a list number or a text reference."""
    sentence = re.sub(r"^\s*\(?\d{1,3}(?:-\d{1,3})?[.)]\s", "", sentence)
    for m in NUMBER.finditer(sentence):
        value = m.group(0).strip(" ,.")
        if YEAR.fullmatch(value) or REFERENCE.search(sentence[: m.start()]):
            continue
        if re.match(rf"\s+({MONTH})\b", sentence[m.end():]):
            continue  # the day of a date
        return True
    return False


def states(kind: str | None, sentence: str) -> bool:
    """Whether a sentence contains an expression of the kind asked for."""
    if kind is None:
        return False
    if kind == "quantity":
        return states_quantity(sentence)
    if kind in ("money", "duration"):
        return bool(STATES[kind].search(sentence)) and states_quantity(sentence)
    return bool(STATES[kind].search(sentence))


def echo_free(q: Question, sentence: str) -> str:
    """The sentence without the question's own numbers: asked "how many of the 34 workers
    were women?", a sentence stating "34 workers" does not state the figure asked for."""
    for c in q.constraints:
        if c.kind in ("number", "year"):
            sentence = re.sub(rf"(?<![\w.,]){re.escape(c.text)}(?![\w]|[.,]\d)", " ", sentence)
    return sentence


def attributed(q: Question, p: Passage) -> bool:
    """Whether the passage's attribution states what a who / when / where / which-body question
    asks: a testimony's speaker, date and place, and its source notes, shown with every citation
    of it ("who told the mission...?" is answered by the note naming the witness)."""
    if q.asks == "person" and p.speaker:
        return True
    if q.asks == "date" and p.date:
        return True
    if q.asks == "place" and p.place:
        return True
    if q.asks not in ("person", "date", "place", "organisation"):
        return False
    notes = " ".join([p.speaker or "", *(f.text for f in unit_notes(p))])
    return states(q.asks, echo_free(q, notes))


# --- the question's terms and constraints ------------------------------------------------------


def terms(text: str) -> set[str]:
    """BM25 terms, a demonym counted as its country ("Kazakh" -> "Kazakhstan")."""
    return {_DEMONYM_TERMS.get(t, t) for t in tokenize(text)}


@dataclass(frozen=True)
class Constraint:
    """Something specific the question hinges on: a year, a number, a country or a name."""

    text: str  # as written in the question
    kind: str  # "year", "number", "country" or "name"
    terms: frozenset[str]
    weight: float  # the rarest of its terms' IDF, scaled to [0, 1]


@dataclass
class Question:
    text: str
    weights: dict[str, float]  # content term -> IDF (question words left out)
    constraints: list[Constraint]
    asks: str | None
    yes_no: bool
    acronyms: frozenset[str] = frozenset()  # terms written in capitals ("ILO")
    idf_max: float = 1.0
    # the question's legal references the collection does not hold ("ILO Convention 118")
    missing: list[str] = field(default_factory=list)

    def met(self, t: str, found: set[str]) -> bool:
        return t in found or (t in self.acronyms and "^" + t in found)

    def coverage(self, found: set[str]) -> float:
        """IDF-weighted share of the question's content terms in `found`."""
        total = sum(self.weights.values())
        return 1.0 if not total else sum(w for t, w in self.weights.items()
                                         if self.met(t, found)) / total

    def unmet(self, found: set[str]) -> list[Constraint]:
        return [c for c in self.constraints if not all(self.met(t, found) for t in c.terms)]


def idf_of(index: Index):
    """term -> BM25 IDF over the index's passages (a term never seen weighs most)."""
    lexical = index.lexical

    def idf(t: str) -> float:
        return lexical.idf(t)

    n = lexical.size
    idf.max = float(np.log(max(n, 1)) + 1)  # type: ignore[attr-defined]
    return idf


def opens_sentence(text: str, start: int) -> bool:
    """Whether the word at `start` begins a sentence of the text (so its capital says nothing:
    "... a confederation. Under the ILO convention, may ...")."""
    return re.search(r"(^|[.?!:;]\s+)[\"“(]?$", text[:start]) is not None


def constraints(question: str, idf) -> list[Constraint]:
    """Years, other numbers, countries (or demonyms) and names (runs of capitalised words past
    the first word, acronyms) of a question."""
    out: list[Constraint] = []
    words = list(re.finditer(r"[A-Za-z][\w'’-]*|\d+", question))
    run: list[str] = []

    def close() -> None:
        if run:
            found = terms(" ".join(re.sub(r"(?<=[A-Z])s$", "", w) for w in run)) - QUESTION_WORDS
            countries = found & COUNTRY_TERMS
            for w in run:  # each country once, named as the question wrote it ("Tajik")
                for c in sorted(terms(w) & countries - {t for x in out for t in x.terms}):
                    out.append(Constraint(w, "country", frozenset([c]), 1.0))
            rest = found - countries
            if rest:
                weight = max(idf(t) for t in rest) / idf.max
                out.append(Constraint(" ".join(run), "name", frozenset(rest), weight))
            run.clear()

    for m in words:
        w = m.group(0)
        if w.isdigit():
            close()
            t = w.lstrip("0") or "0"
            kind = "year" if YEAR.fullmatch(w) else "number"
            out.append(Constraint(w, kind, frozenset([t]), 1.0))
        elif (w[0].isupper() and not opens_sentence(question, m.start())) or (
                len(w) > 1 and w.isupper()):
            run.append(w)
        else:
            close()
    close()
    return out


def analyse(question: str, idf, index: Index | None = None) -> Question:
    """The question's terms, constraints and asked type; with the index, also the legal
    references it makes that the collection does not hold."""
    content = terms(question) - QUESTION_WORDS
    q = Question(text=question, weights={t: idf(t) for t in content},
                 constraints=constraints(question, idf), asks=asks_for(question),
                 yes_no=bool(YES_NO.match(question)),
                 acronyms=frozenset(t for w in re.findall(r"\b[A-Z]{2,}s?\b", question)
                                    for t in tokenize(w.rstrip("s"))), idf_max=idf.max)
    # what a named report says of an instrument ("Does the FIDH report say Kazakhstan has
    # ratified ILO Convention 143?") is the report's to answer, held or not
    if index is not None and not names_report(index, q):
        q.missing = missing_references(index, question)
    return q


def missing_references(index: Index, question: str) -> list[str]:
    """The instruments and articles a question names that the collection does not hold,
    resolved as a report's references are ("Article 402 of the Criminal Code" when the
    Criminal Code's text is partial; "ILO Convention 118" when it is not ingested). A reference
    that names no identifiable instrument ("that law") is not counted."""
    g = graph(index)
    return [link.label for link in map(g.resolve, extract_legal_refs(question))
            if link.status in (NOT_IN_CORPUS, ARTICLE_MISSING, OTHER_VERSION)]


def report_names(index: Index) -> list[set[str]]:
    """The terms (and initialisms) of each report's publisher, short title and title, read once
    per opened index (a reload opens a new one)."""
    if getattr(index, "_report_names", None) is None:
        texts = [" ".join(doc.get(k) or "" for k in ("publisher", "short_title", "title"))
                 for doc in index.docs.values() if doc.get("kind") == "report"]
        index._report_names = [terms(t) | initialisms(t) for t in texts]
    return index._report_names


def names_report(index: Index, q: Question) -> bool:
    """Whether one of the question's names is a report of the collection: its publisher, short
    title or title ("FIDH", "the UN rapporteur")."""
    names = [c for c in q.constraints if c.kind == "name"]
    if not names:
        return False
    return any(all(q.met(t, found) for t in c.terms)
               for c in names for found in report_names(index))


YEAR_RANGE = re.compile(r"\b((?:19|20)\d\d)\s*(?:-|–|—|to|until|and)\s*((?:19|20)\d\d)\b")


def stated_years(text: str) -> set[str]:
    """The years a text names, a range's years between its ends included ("2014-2020")."""
    years = {m.group(0) for m in YEAR.finditer(text)}
    for m in YEAR_RANGE.finditer(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        if 0 < hi - lo <= 50:
            years |= {str(y) for y in range(lo, hi + 1)}
    return years


def other_values(q: Question, sentence: str) -> list[tuple[str, str]]:
    """(asked, stated) for each kind of value, a year or a country, that the question names
    and the sentence does not, while the sentence names another of that kind: asked for 2018,
    the sentence gives 2016's figure; asked about Kyrgyzstan, it is about Kazakhstan."""
    out = []
    # every year and country the question mentions, a demonym opening it included ("Kyrgyz
    # truckers ..."), which names no constraint
    named = {t for c in q.constraints for t in c.terms} | (terms(q.text) & COUNTRY_TERMS)
    for kind, stated in (("year", stated_years(sentence)),
                         ("country", terms(sentence) & COUNTRY_TERMS)):
        asked = [c for c in q.constraints if c.kind == kind]
        if asked and not any(c.terms & stated for c in asked) and (other := stated - named):
            out.append((asked[0].text, sorted(other)[0]))
    return out


_NAME_RUN = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:of|on|the|and|for|in)\s+)*[A-Z][\w'’-]*)+")


def initialisms(text: str) -> set[str]:
    """The initials of runs of capitalised words, small words skipped, marked with "^":
    "International Labour Organization" -> "^ilo", so a question's "ILO" is met by a passage
    that spells it out."""
    out = set()
    for m in _NAME_RUN.finditer(text):
        initials = "".join(w[0] for w in m.group(0).split() if w[0].isupper()).lower()
        # every stretch of the run: "... Rights and the United Nations" holds both names
        out |= {"^" + initials[i:j] for i in range(len(initials))
                for j in range(i + 2, min(len(initials), i + 8) + 1)}
    return out


def context_terms(index: Index, hit: Hit) -> set[str]:
    """The terms of a passage with its context: notes, headings, document title, date and
    publisher ("the UN rapporteur" is met by "United Nations Human Rights Council"), attribution,
    and the initialisms of the names in them."""
    p = hit.passage
    doc = index.docs.get(p.doc_id, {})
    text = " ".join([p.text, hit.short_title, hit.doc_title, doc.get("date") or "",
                     doc.get("publisher") or "", *p.section,
                     *(f.text for f in p.footnotes),
                     *(x for x in (p.speaker, p.place, p.date) if x)])
    return terms(text) | initialisms(text)
