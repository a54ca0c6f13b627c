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

from index.adapter import base_model
from index.embed import DEFAULT_MODEL, split_model
from index.search import Hit

from .question import Constraint, Question, attributed, echo_free, other_values, states

MODEL_PATH = Path(__file__).resolve().parent / "answerability.json"

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


def models_path(identity: str | None = None, own: bool = False) -> Path:
    """Where the answer models for a store of this embedding model are: its own file,
    app/answerability-<model>.json, when `ombuds calibrate` wrote one for it (similarities, and
    so the models' weights, differ from one model to another), else the default model's
    (own: the model's own file, whether it exists or not; where calibrate writes)."""
    if identity is None or base_model(identity) == split_model(DEFAULT_MODEL)[0]:
        return MODEL_PATH
    path = MODEL_PATH.with_name(f"{MODEL_PATH.stem}-{base_model(identity)}.json")
    return path if own or path.exists() else MODEL_PATH


def models(path: Path | None = None, identity: str | None = None) -> Models:
    """The models at path, or else those for a store of the model identity; read once per
    process."""
    path = path or models_path(identity)
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
