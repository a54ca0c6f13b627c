"""Cited answers, extractive by default: every answer sentence is copied verbatim from a
retrieved passage and carries its [n]; when the evidence is too weak the answer says so.

The optional generative mode (app/llm.py) only rewrites what these passages say, and its reply
is checked against them before it is shown.
"""

from __future__ import annotations

import re

import numpy as np

from index.lexical import tokenize
from index.provisions import graph
from index.search import Filters, Hit, Index
from index.units import sentences

from .answer_types import Answer, AnswerSentence, Citation

MAX_SENTENCES = 4
MAX_CITED = 3  # passages cited by one answer
MAX_PASSAGES = 6  # sentences are scored in the best passages only
W_SIMILARITY, W_OVERLAP, W_RANK = 0.6, 0.25, 0.15
# Sentences within this share of the best sentence's score join the answer; the best sentence
# of the top-ranked passage joins it when within TOP_PASSAGE_SHARE (retrieval's first hit is
# the gold evidence more often than the sentence scorer's favourite).
KEEP_SHARE = 0.7
TOP_PASSAGE_SHARE = 0.7

# When not to answer. Calibrated on eval/questions.jsonl (answerable and unanswerable questions;
# `ombuds eval` reports both shares). Sentence similarity alone does not separate them: MiniLM
# scores near-topic questions the corpus cannot answer as high as answerable ones. What does:
# - the question's distinctive words (IDF-weighted, question words left out) are not in the
#   best passages (MIN_COVERAGE);
# - a rare name or number the question hinges on ("Dordoi", "Convention 190", "2019") occurs in
#   no retrieved passage, or a country it names in none of the best three;
# - it asks for a quantity ("how many", "what share") and the best sentence states none.
MIN_SIMILARITY = 0.3
MIN_COVERAGE = 0.45
RARE_IDF = 5.0  # a term in well under 1% of passages

QUESTION_WORDS = frozenset(tokenize(
    "what how which who whom whose when where why does do did is are was were can could should "
    "would say said says tell told many much there any about it its the a an"))
DEMONYMS = {"kazakh": "kazakhstan", "kyrgyz": "kyrgyzstan", "uzbek": "uzbekistan",
            "tajik": "tajikistan", "turkmen": "turkmenistan", "russian": "russia",
            "chinese": "china"}
_DEMONYM_TERMS = {tokenize(k)[0]: tokenize(v)[0] for k, v in DEMONYMS.items()}
COUNTRY_TERMS = frozenset(_DEMONYM_TERMS.values())
QUANTITY_QUESTION = re.compile(
    r"\b(how\s+(many|much)|what\s+(share|proportion|percentage|number|amount|figure)|"
    r"in\s+(tenge|soms?|roubles|rubles|dollars|usd|euros))\b", re.I)
QUANTITY = re.compile(
    r"(?<![\w.-])\d[\d,. ]*(?![\w-])|%|\b(one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|"
    r"third|quarter|percent|per\s+cent|dozen)s?\b", re.I)
YEAR = re.compile(r"(19|20)\d\d")

DANGLING = re.compile(r"^(This|These|That|Those|It|Its|They|Their|Them|He|She|His|Her|Such|"
                      r"However|Moreover|Furthermore|In addition|Also|Nevertheless|Therefore|"
                      r"As a result|In this connection|Here)\b")


def _citation(index: Index, n: int, hit: Hit, support: list[str]) -> Citation:
    p = hit.passage
    testimony = None
    if p.passage_type == "testimony":
        testimony = {"speaker": p.speaker, "place": p.place, "date": p.date,
                     "source": p.footnotes[-1].text if p.footnotes else None}
    return Citation(
        n=n, passage_id=p.passage_id, doc_id=p.doc_id, doc_title=hit.doc_title,
        citation=hit.citation, section=p.section, page=p.page, paragraph=p.paragraph,
        passage_type=p.passage_type, text=p.text, support=support,
        footnotes=[{"number": f.number, "text": f.text} for f in p.footnotes],
        testimony=testimony,
        # each reference resolved against the corpus, the cited provision's text included
        legal_refs=[link.to_dict(index) for link in graph(index).links(p)],
    )


def _terms(text: str) -> set[str]:
    """BM25 terms, a demonym counted as its country ("Kazakh" -> "Kazakhstan")."""
    return {_DEMONYM_TERMS.get(t, t) for t in tokenize(text)}


def _hit_terms(hits: list[Hit]) -> set[str]:
    """The terms of passages with their notes, section and document titles."""
    found: set[str] = set()
    for h in hits:
        p = h.passage
        found |= _terms(" ".join([p.text, h.short_title, h.doc_title, *p.section,
                                  *(f.text for f in p.footnotes)]))
    return found


def _idf(index: Index):
    model = index.lexical.model
    n = index.lexical.size
    indptr = model.scores["indptr"] if model is not None else None

    def idf(t: str) -> float:
        if model is None or t not in model.vocab_dict:
            return float(np.log(max(n, 1)) + 1)  # a word the collection never uses weighs most
        df = indptr[model.vocab_dict[t] + 1] - indptr[model.vocab_dict[t]]
        return float(np.log((n - df + 0.5) / (df + 0.5) + 1))

    return idf


def coverage(question: str, found_best: set[str], idf) -> float:
    """IDF-weighted share of the question's words (question words left out) found in the
    three best passages (found_best: their terms with notes, section and document titles)."""
    terms = _terms(question) - QUESTION_WORDS
    if not terms:
        return 1.0
    weights = {t: idf(t) for t in terms}
    return sum(w for t, w in weights.items() if t in found_best) / sum(weights.values())


def names_and_numbers(question: str) -> list[str]:
    """The capitalised words (past the first), acronyms and numbers of a question."""
    words = re.findall(r"[A-Za-z][\w'’-]*|\d+", question)
    return [w for i, w in enumerate(words)
            if w.isdigit() or (i > 0 and w[0].isupper()) or (len(w) > 1 and w.isupper())]


def missing_name(question: str, found_best: set[str], found_all: set[str], idf) -> str | None:
    """A rare name or number of the question that no retrieved passage mentions (found_all),
    or a country it names that none of the best three mention (found_best); None when every
    one is there."""
    for word in names_and_numbers(question):
        for t in _terms(re.sub(r"(?<=[A-Z])s$", "", word)) - QUESTION_WORDS:  # "NGOs"
            if (idf(t) >= RARE_IDF and t not in found_all) or \
                    (t in COUNTRY_TERMS and t not in found_best):
                return word
    return None


def states_quantity(sentence: str) -> bool:
    """A number, a number word or a share, not counting years or list numbering."""
    sentence = re.sub(r"^\s*\(?\d{1,3}(?:-\d{1,3})?[.)]\s", "", sentence)
    return any(not YEAR.fullmatch(m.group(0).strip(" ,.")) for m in QUANTITY.finditer(sentence))


def refusal_reason(index: Index, question: str, hits: list[Hit], scored: list[dict]) -> str | None:
    """Why the corpus does not answer the question, or None when the evidence is enough."""
    if not scored or scored[0]["similarity"] < MIN_SIMILARITY:
        return "no passage is close to the question"
    idf = _idf(index)
    found_best = _hit_terms(hits[:3])
    name = missing_name(question, found_best, found_best | _hit_terms(hits[3:]), idf)
    if name:
        return f"no passage found mentions “{name}”"
    if coverage(question, found_best, idf) < MIN_COVERAGE:
        return "the best passages leave most of the question's terms out"
    if QUANTITY_QUESTION.search(question) and not states_quantity(scored[0]["text"]):
        return "the question asks for a figure and the best sentence gives none"
    return None


def evidence(index: Index, question: str, hits: list[Hit]) -> list[dict]:
    """Every sentence of the best passages, scored against the question with the sentence
    vectors stored at ingest (no embedding at question time)."""
    q = index.query_vector(question)
    q_terms = set(tokenize(question))
    candidates = []
    for rank, h in enumerate(hits[:MAX_PASSAGES]):
        spans, vecs = index.passage_units(h.passage.passage_id)
        for (s, e), v in zip(spans, vecs, strict=True):
            if s < 0:  # a footnote: cited with its passage, never quoted as the answer
                continue
            text = h.passage.text[s:e].strip()
            if len(text.split()) < 4:
                continue
            c = {"hit": h, "rank": rank, "start": int(s), "end": int(e), "text": text,
                 "similarity": float(v @ q)}
            c["overlap"] = len(q_terms & set(tokenize(text))) / max(1, len(q_terms))
            c["score"] = (W_SIMILARITY * c["similarity"] + W_OVERLAP * c["overlap"]
                          + W_RANK * (1 - rank / MAX_PASSAGES))
            candidates.append(c)
    return sorted(candidates, key=lambda c: -c["score"])


def _with_context(c: dict) -> tuple[int, int]:
    """A sentence that leans on the one before ("This practice...") brings it along."""
    text = c["hit"].passage.text
    if DANGLING.match(c["text"]):
        spans = sentences(text)
        i = next((i for i, (s, _) in enumerate(spans) if s == c["start"]), 0)
        if i > 0:
            return spans[i - 1][0], c["end"]
    return c["start"], c["end"]


def choose(scored: list[dict]) -> list[tuple[dict, int, int]]:
    """The answer's sentences (with their context span): the best sentence, the best of the
    top-ranked passage when close, then any within KEEP_SHARE of the best."""
    best = scored[0]["score"]
    top_passage = next((c for c in scored if c["rank"] == 0), None)
    wanted = [scored[0]]
    if top_passage is not None and top_passage["score"] >= best * TOP_PASSAGE_SHARE:
        wanted.append(top_passage)
    wanted += [c for c in scored[1:] if c["score"] >= best * KEEP_SHARE]
    chosen: list[tuple[dict, int, int]] = []
    passages_used: set[str] = set()
    for c in wanted:
        if len(chosen) == MAX_SENTENCES:
            break
        if c["similarity"] < MIN_SIMILARITY:
            continue
        if any(c is x for x, _, _ in chosen):
            continue
        pid = c["hit"].passage.passage_id
        if pid not in passages_used and len(passages_used) == MAX_CITED:
            continue
        start, end = _with_context(c)
        if any(pid == x["hit"].passage.passage_id and start < e and s < end
               for x, s, e in chosen):
            continue  # overlaps a sentence already chosen
        chosen.append((c, start, end))
        passages_used.add(pid)
    return chosen


def answer_question(index: Index, question: str, k: int = 8, filters: Filters | None = None,
                    hits: list[Hit] | None = None) -> Answer:
    """The extractive answer to a question, with its citations, or a plain refusal."""
    hits = hits if hits is not None else index.search(question, k=k, mode="hybrid",
                                                      filters=filters)
    nearest = [h.to_dict() for h in hits[:5]]
    scored = evidence(index, question, hits)
    reason = refusal_reason(index, question, hits, scored)
    if reason:
        return Answer(question=question, answered=False, mode="extractive",
                      answer=f"The corpus does not answer this question ({reason}). The "
                             "nearest passages are listed below.", nearest=nearest,
                      reason=reason)
    chosen = choose(scored)
    # reading order: by passage rank, then position in the passage
    chosen.sort(key=lambda item: (item[0]["rank"], item[1]))
    numbers: dict[str, int] = {}
    support: dict[str, list[str]] = {}
    out_sentences = []
    for c, start, end in chosen:
        pid = c["hit"].passage.passage_id
        n = numbers.setdefault(pid, len(numbers) + 1)
        text = c["hit"].passage.text[start:end].strip()
        support.setdefault(pid, []).append(text)
        out_sentences.append(AnswerSentence(text=text, citations=[n]))
    by_id = {h.passage.passage_id: h for h in hits}
    citations = [_citation(index, n, by_id[pid], support[pid]) for pid, n in numbers.items()]
    answer = " ".join(f"{s.text} [{s.citations[0]}]" for s in out_sentences)
    return Answer(question=question, answered=True, mode="extractive", answer=answer,
                  sentences=out_sentences, citations=citations)
