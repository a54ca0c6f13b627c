"""Whether the corpus answers a question, and which sentence answers it: general features of a
question and its evidence, and two small logistic models over them read from
app/answerability.json (fitted on the dev split by `ombuds calibrate`, eval/calibrate.py).

Sentence similarity alone cannot tell a question the corpus answers from a near-topic one it
does not (a figure for another year, the law of another country, a number the reports never
give), nor the sentence that states the asked fact from one that only names its subject. What
can: whether every specific constraint of the question (a year, a number, a name, a country) is
met in the cited passage or its context, how much of the question's distinctive vocabulary the
evidence covers, and whether the question asks for a kind of answer (a figure, a duration, a
penalty...) that the chosen sentence contains. Nothing here depends on particular questions: the
word lists are general resources (question words, units, currencies, legal reference words).

At run time only numpy is needed: the models are plain numbers in the JSON file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.lexical import tokenize
from index.provisions import ARTICLE_MISSING, NOT_IN_CORPUS, OTHER_VERSION, graph
from index.search import Hit, Index
from index.units import unit_notes
from ingest.legalrefs import extract_legal_refs
from ingest.model import Passage

MODEL_PATH = Path(__file__).resolve().parent / "answerability.json"

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


# --- features --------------------------------------------------------------------------------

DANGLING = re.compile(r"^(This|These|That|Those|It|Its|They|Their|Them|He|She|His|Her|Such|"
                      r"However|Moreover|Furthermore|In addition|Also|Nevertheless|Therefore|"
                      r"As a result|In this connection|Here)\b")

# How well one sentence of the best passages answers the question (the sentence model).
SENTENCE_FEATURES = (
    "similarity",           # cosine of the stored sentence vector and the question's
    "similarity_gap",       # minus the best sentence's similarity (0 for the best)
    "coverage",             # IDF-weighted share of the question's terms in the sentence
    "passage_coverage",     # the same, in the sentence's passage with its context
    "constraints_met",      # share of the question's constraints the sentence itself meets
    "type_match",           # the question asks for a kind of answer and the sentence states one
    "rank_prior",           # 1 for the top-ranked passage, falling to 0
    "passage_score",        # the passage's fused retrieval score over the top one's
    "short",                # fewer than 8 words (a heading, a fragment)
    "dangling",             # leans on the sentence before ("This practice...")
    "coverage_gap",         # coverage minus the best sentence coverage (0 for the best)
    "opens_passage",        # the passage's first sentence (a provision's, a paragraph's lead)
    "footnote",             # a sentence of one of the passage's notes (a figure, a source)
)

# Whether the corpus answers the question (the answerability model). Chosen on dev
# cross-validation (eval/calibrate.py): the margin of the top passage and the sentence model's
# score added nothing; the two name checks (a name the cited context lacks, a constraint no
# passage contains) raised the dev CV AUC from 0.817 to 0.840 once dev held 47 unanswerable
# questions (with 26 they had added nothing); counting a testimony's attribution for who / when
# / where questions (see attributed) raised it to 0.865; a legal text's issuer as its publisher
# in the context and no name read from a sentence's first capital, to 0.884; the constraints no
# cited passage meets (a two-part question's are met by two passages), to 0.890; a legal
# reference the collection does not hold and another year or country in the first sentence, to
# 0.914; not counting the reference when the question names a report, to 0.917; 10 more
# off-topic dev questions, to 0.923. Holding each coefficient to a sign fixed in advance was
# tried and lowered it.
ANSWER_FEATURES = (
    "best_similarity",      # the best sentence similarity among the best passages
    "cited_coverage",       # IDF-weighted share of the question's terms in the cited passage
    "top_coverage",         # ... in the best three passages with their context
    "rarest_missing",       # IDF of the rarest ordinary question word missing from the best three
    "unmet_cited",          # constraints (year, number, country) the cited passage's context lacks
    "type_missing",         # asks for a figure, duration, date... the first sentence lacks it
    "met_constraints",      # how many of the question's constraints the cited passage meets
    "yes_no",               # a yes/no question (it asks whether, not for a specific fact)
    "unmet_names",          # names (places, people, bodies, instruments) the cited context lacks
    "unknown_constraint",   # a year, number, country or name no passage of the corpus contains
    "unmet_answer",         # constraints none of the answer's cited passages meets
    "missing_reference",    # names an instrument or article the collection does not hold
    "other_value",          # the first sentence gives another year or country than asked
)


@dataclass
class Candidate:
    """One sentence of a retrieved passage, as a possible answer sentence."""

    hit: Hit
    rank: int  # the passage's rank among the hits, from 0
    start: int  # offsets in the passage text, or in the note's
    end: int
    text: str
    similarity: float
    first: bool = False  # the first sentence of its passage
    note: str | None = None  # the number of the passage's note the sentence is from
    features: np.ndarray = field(default_factory=lambda: np.zeros(len(SENTENCE_FEATURES)))
    score: float = 0.0  # the sentence model's log-odds


def sentence_features(q: Question, c: Candidate, found: set[str], best: dict[str, float],
                      passage_terms: set[str], max_rank: int) -> np.ndarray:
    """found: the sentence's terms; best: the best similarity and coverage among candidates
    and the top passage's score; passage_terms: its passage's terms with context."""
    n = len(q.constraints)
    best_similarity, top_score = best["similarity"], best["score"]
    coverage = q.coverage(found)
    values = {
        "similarity": c.similarity,
        "similarity_gap": c.similarity - best_similarity,
        "coverage": coverage,
        "passage_coverage": q.coverage(found | passage_terms),
        "constraints_met": (n - len(q.unmet(found))) / n if n else 0.0,
        "type_match": float(states(q.asks, echo_free(q, c.text))),
        "rank_prior": 1 - c.rank / max_rank,
        "passage_score": c.hit.score / top_score if top_score > 0 else 0.0,
        "short": float(len(c.text.split()) < 8),
        "dangling": float(bool(DANGLING.match(c.text))),
        "coverage_gap": coverage - best["coverage"],
        "opens_passage": float(c.first),
        "footnote": float(c.note is not None),
    }
    return np.array([values[name] for name in SENTENCE_FEATURES], dtype=np.float64)


@dataclass
class Evidence:
    """The answer-level features of a question, with what the decline reason names."""

    values: np.ndarray
    unmet: list[Constraint]  # constraints the first cited passage's context lacks
    unknown: list[Constraint] = field(default_factory=list)  # ... that no passage contains
    unmet_answer: list[Constraint] = field(default_factory=list)  # ... no cited passage meets
    missing: list[str] = field(default_factory=list)  # references the collection lacks
    other: list[tuple[str, str]] = field(default_factory=list)  # (asked, stated) values


def answer_features(q: Question, hits: list[Hit], candidates: list[Candidate],
                    chosen: list[Candidate], hit_terms: dict[str, set[str]]) -> Evidence:
    """hit_terms: passage id -> its terms with context (context_terms)."""
    if not chosen:
        values = np.zeros(len(ANSWER_FEATURES))
        return Evidence(values, [])
    first = chosen[0]
    # the passage the answer rests on: that of its first sentence (a union over every cited
    # passage would credit a near-topic question with terms scattered across three)
    cited_found = hit_terms[first.hit.passage.passage_id]
    best3 = set().union(*(hit_terms[h.passage.passage_id] for h in hits[:3]))
    unmet = q.unmet(cited_found)
    hard = [c for c in unmet if c.kind != "name"]
    # ordinary words only: a missing constraint is unmet_cited's, and a rare word missing is
    # more often a paraphrase than a sign that the corpus lacks the answer
    named = {t for c in q.constraints for t in c.terms}
    missing = [t for t in q.weights if not q.met(t, best3) and t not in named]
    # a term no passage uses weighs the most IDF there is (index/lexical.py)
    unknown = [c for c in q.constraints
               if any(q.weights.get(t, 0.0) >= q.idf_max - 1e-9 for t in c.terms)]
    # a question in two parts ("under the ILO convention ..., and under Kazakh law ...?") has
    # its constraints met by different cited passages
    unmet_answer = q.unmet(set().union(*(hit_terms[c.hit.passage.passage_id] for c in chosen)))
    other = other_values(q, first.text)
    values = {
        "best_similarity": max(c.similarity for c in candidates),
        "cited_coverage": q.coverage(cited_found),
        "top_coverage": q.coverage(best3),
        "rarest_missing": max((q.weights[t] for t in missing), default=0.0) / q.idf_max,
        "unmet_cited": float(min(len(hard), 2)),
        "type_missing": float(q.asks is not None and not states(q.asks, echo_free(q, first.text))
                              and not attributed(q, first.hit.passage)),
        "met_constraints": float(min(len(q.constraints) - len(unmet), 4)),
        "yes_no": float(q.yes_no),
        "unmet_names": float(min(len(unmet) - len(hard), 2)),
        "unknown_constraint": float(bool(unknown)),
        "unmet_answer": float(min(len(unmet_answer), 2)),
        "missing_reference": float(bool(q.missing)),
        "other_value": float(bool(other)),
    }
    return Evidence(np.array([values[name] for name in ANSWER_FEATURES], dtype=np.float64),
                    unmet, unknown, unmet_answer, q.missing, other)


# --- the models --------------------------------------------------------------------------------


@dataclass
class Logistic:
    """A fitted logistic regression over standardised features: plain numbers."""

    features: list[str]
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    def logit(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-self.logit(x)))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Each feature's share of the log-odds, relative to the average dev question."""
        return (x - self.mean) / self.scale * self.coef

    @classmethod
    def from_dict(cls, d: dict) -> Logistic:
        return cls(list(d["features"]), np.array(d["coef"], dtype=np.float64),
                   float(d["intercept"]), np.array(d["mean"], dtype=np.float64),
                   np.array(d["scale"], dtype=np.float64))

    def to_dict(self) -> dict:
        return {"features": self.features, "coef": [round(float(v), 6) for v in self.coef],
                "intercept": round(float(self.intercept), 6),
                "mean": [round(float(v), 6) for v in self.mean],
                "scale": [round(float(v), 6) for v in self.scale]}


@dataclass
class Models:
    sentence: Logistic  # ranks candidate sentences: does this one state the answer?
    answerable: Logistic  # does the corpus answer the question?
    threshold: float  # answer when the answerable probability reaches this
    keep: float  # other sentences join the first when their probability is within this share
    raw: dict  # the whole file, with the dev cross-validation figures


def load(path: Path = MODEL_PATH) -> Models:
    d = json.loads(path.read_text(encoding="utf-8"))
    for name, expected in (("sentence", SENTENCE_FEATURES), ("answerable", ANSWER_FEATURES)):
        if tuple(d[name]["features"]) != expected:
            raise ValueError(f"{path}: the {name} model's features differ from the code's; run "
                             "`ombuds calibrate`")
    return Models(Logistic.from_dict(d["sentence"]), Logistic.from_dict(d["answerable"]),
                  float(d["threshold"]), float(d["keep"]), d)


_loaded: dict[Path, Models] = {}


def models(path: Path = MODEL_PATH) -> Models:
    """The models, read once per process."""
    if path not in _loaded:
        _loaded[path] = load(path)
    return _loaded[path]


def decline_reason(model: Logistic, ev: Evidence, asks: str | None) -> str:
    """A human sentence naming the feature that weighs most against answering."""
    contrib = model.contributions(ev.values)
    order = np.argsort(contrib)
    for i in order:
        if contrib[i] >= 0:
            break
        name = ANSWER_FEATURES[i]
        hard = [c for c in ev.unmet if c.kind != "name"]
        names = [c for c in ev.unmet if c.kind == "name"]
        if name == "unmet_cited" and hard:
            return f"the best passage does not mention “{hard[0].text}”"
        if name == "unmet_names" and names:
            return f"the best passage does not mention “{max(names, key=lambda c: c.weight).text}”"
        if name == "unmet_answer" and ev.unmet_answer:
            return (f"no cited passage mentions "
                    f"“{max(ev.unmet_answer, key=lambda c: c.weight).text}”")
        if name == "missing_reference" and ev.missing:
            return f"the collection does not hold {ev.missing[0]}"
        if name == "other_value" and ev.other:
            asked, stated = ev.other[0]
            return f"the best sentence is about {stated.title()}, not {asked}"
        if name == "unknown_constraint" and ev.unknown:
            return f"nothing in the collection mentions “{ev.unknown[0].text}”"
        if name in ("type_missing", "typed_coverage") and asks:
            return f"the question asks for {ASK_NAMES[asks]} and the best sentence gives none"
        if name in ("sentence_coverage", "cited_coverage", "top_coverage"):
            return "the best passages leave most of the question's terms out"
        if name == "best_similarity":
            return "no sentence of the best passages is close to the question"
        # "met_constraints" and "yes_no" are not reasons to decline a question
    return "the best passages match the question only weakly"


ASK_NAMES = {"duration": "a duration", "penalty": "a penalty", "money": "an amount of money",
             "quantity": "a figure", "date": "a date", "person": "a person",
             "place": "a place", "organisation": "an organisation", "article": "an article"}
