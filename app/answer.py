"""Cited answers, extractive by default: every answer sentence is copied verbatim from a
retrieved passage and carries its [n]; when the evidence is too weak the answer says so.

Two small models (app/answerability.py, fitted on the dev split by `ombuds calibrate`) decide:
one ranks the sentences of the best passages by how likely each states the asked fact, the
other gives the probability that the corpus answers the question at all, shown as the answer's
confidence; below the calibrated threshold the answer declines and says why.

The optional generative mode (app/llm.py) only rewrites what these passages say, and its reply
is checked against them before it is shown.
"""

from __future__ import annotations

import numpy as np

from index.filters import Filters
from index.provisions import graph
from index.search import Hit, Index
from index.units import lead_ins, sentence_spans, sentences, unit_notes

from .answer_types import Answer, AnswerSentence, Citation
from .answerability import (
    DANGLING,
    Candidate,
    Logistic,
    Models,
    answer_features,
    decline_reason,
    models,
    sentence_features,
)
from .question import Question, analyse, context_terms, idf_of, terms

MAX_SENTENCES = 4
MAX_CITED = 3  # passages cited by one answer
MAX_PASSAGES = 6  # sentences are scored in the best passages only
MIN_WORDS = 4  # shorter units (a heading, "Ibid.") are never quoted alone
# A lead-in is quoted with its items ("... shall be postponed in the following cases:" then
# "temporary disability of the employee;"), and a list item with its lead-in: a lead-in alone
# says nothing. Up to LIST_WORDS words the lead-in and the items up to the chosen one (or all
# of them, for a chosen lead-in) are quoted as one span; from a longer list a chosen lead-in
# brings its best-ranked item as a second sentence, and a chosen item is quoted alone.
LIST_WORDS = 80


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


def evidence(index: Index, q: Question, hits: list[Hit]
             ) -> tuple[list[Candidate], dict[str, set[str]]]:
    """Every sentence of the best passages with its features (the similarity from the sentence
    vectors stored at ingest: no embedding at question time; the question's vector without the
    query adapter, which moves it for ranking, not for judging), and each hit's terms with its
    context."""
    hit_terms = {h.passage.passage_id: context_terms(index, h) for h in hits}
    qv = index.model_vector(q.text)  # the model's own similarity: see Index.model_vector
    candidates = []
    for rank, h in enumerate(hits[:MAX_PASSAGES]):
        spans, vecs = index.passage_units(h.passage.passage_id)
        # the footnote units follow the sentences, in the order of the passage's notes
        notes = iter(unit_notes(h.passage))
        first = True
        for (s, e), v in zip(spans, vecs, strict=True):
            if s < 0:  # a note (a figure, a source): its sentences, scored by the note's vector
                note = next(notes, None)
                if note is not None:
                    for ns, ne in sentences(note.text):
                        text = note.text[ns:ne].strip()
                        if len(text.split()) >= MIN_WORDS:
                            candidates.append(Candidate(h, rank, ns, ne, text, float(v @ qv),
                                                        note=note.number))
                continue
            text = h.passage.text[s:e].strip()
            if len(text.split()) >= MIN_WORDS:
                candidates.append(Candidate(h, rank, int(s), int(e), text, float(v @ qv), first))
            first = False
    found = [terms(c.text) for c in candidates]
    if candidates:
        best = {"similarity": max(c.similarity for c in candidates), "score": hits[0].score,
                "coverage": max(q.coverage(f) for f in found)}
        for c, f in zip(candidates, found, strict=True):
            c.features = sentence_features(q, c, f, best, hit_terms[c.hit.passage.passage_id],
                                           MAX_PASSAGES)
    return candidates, hit_terms


def rank(candidates: list[Candidate], model: Logistic) -> list[Candidate]:
    """Best answer sentence first, by the sentence model."""
    if candidates:
        scores = model.logit(np.stack([c.features for c in candidates]))
        for c, s in zip(candidates, scores, strict=True):
            c.score = float(s)
    return sorted(candidates, key=lambda c: -c.score)


def source_text(c: Candidate) -> str:
    """The text a candidate's offsets are in: its passage's, or its note's."""
    if c.note is None:
        return c.hit.passage.text
    return next(f.text for f in unit_notes(c.hit.passage) if f.number == c.note)


def _with_context(c: Candidate, ranked: list[Candidate]) -> list[tuple[int, int]]:
    """The span(s) quoted for a chosen sentence: a sentence that leans on the one before ("This
    practice...") brings it along; a list item its lead-in, a lead-in its items (LIST_WORDS)."""
    if c.note is not None:
        return [(c.start, c.end)]
    text = c.hit.passage.text
    if DANGLING.match(c.text):
        spans = sentences(text)
        i = next((i for i, (s, _) in enumerate(spans) if s == c.start), 0)
        if i > 0:
            return [(spans[i - 1][0], c.end)]
    spans = sentence_spans(text)
    i = next((i for i, (s, _) in enumerate(spans) if s == c.start), None)
    if i is None:
        return [(c.start, c.end)]
    leads = lead_ins(text, spans)[0]
    if leads[i]:  # an item: back to the sentence that opened its list
        j = max(k for k in range(i) if not leads[k])
        if len(text[spans[j][0]:c.end].split()) <= LIST_WORDS:
            return [(spans[j][0], c.end)]
        return [(c.start, c.end)]  # deep in a long list: the item, its citation pinpoints it
    items = []
    for k in range(i + 1, len(spans)):
        if not leads[k]:
            break
        items.append(spans[k])
    if not items:
        return [(c.start, c.end)]
    if len(text[c.start:items[-1][1]].split()) <= LIST_WORDS:
        return [(c.start, items[-1][1])]
    best = next((x for x in ranked if x.note is None and x.hit is c.hit
                 and (x.start, x.end) in items), None)
    return [(c.start, c.end)] + ([(best.start, best.end)] if best else [])


def choose(ranked: list[Candidate], keep: float) -> list[tuple[Candidate, int, int]]:
    """The answer's sentences (with their context span), best first: of the sentences whose
    probability of stating the answer is within `keep` of the best one's, the best of each
    passage, then the others (evidence from several passages before more of one)."""
    if not ranked:
        return []
    best = _probability(ranked[0].score)
    pool = [c for c in ranked if _probability(c.score) >= keep * best]
    seen: set[str] = set()
    leads = []
    for c in pool:
        leads.append(c.hit.passage.passage_id not in seen)
        seen.add(c.hit.passage.passage_id)
    pool = [c for c, lead in zip(pool, leads, strict=True) if lead] + \
        [c for c, lead in zip(pool, leads, strict=True) if not lead]
    chosen: list[tuple[Candidate, int, int]] = []
    passages_used: set[str] = set()
    for c in pool:
        if len(chosen) >= MAX_SENTENCES:
            break
        pid = c.hit.passage.passage_id
        if pid not in passages_used and len(passages_used) == MAX_CITED:
            continue
        for start, end in _with_context(c, ranked):
            if any(pid == x.hit.passage.passage_id and x.note == c.note and start < e
                   and s < end for x, s, e in chosen):
                continue  # overlaps a sentence already chosen
            chosen.append((c, start, end))
            passages_used.add(pid)
    return chosen


def marker(s: AnswerSentence) -> str:
    """The sentence's pinpoint in the answer text: "[2]", or "[2, note 154]" for a note's."""
    return f"[{s.citations[0]}, note {s.note}]" if s.note else f"[{s.citations[0]}]"


def _probability(logit: float) -> float:
    return float(1 / (1 + np.exp(-logit)))


def decline(question: str, hits: list[Hit], reason: str, confidence: float) -> Answer:
    return Answer(question=question, answered=False, mode="extractive",
                  answer=f"The corpus does not answer this question ({reason}). The nearest "
                         "passages are listed below.", nearest=[h.to_dict() for h in hits[:5]],
                  reason=reason, confidence=round(confidence, 3))


def answer_question(index: Index, question: str, k: int = 8, filters: Filters | None = None,
                    hits: list[Hit] | None = None, m: Models | None = None) -> Answer:
    """The extractive answer to a question, with its citations and the probability that the
    corpus answers it, or a plain refusal saying why."""
    m = m or models(identity=index.model_name)
    hits = hits if hits is not None else index.search(question, k=k, mode="hybrid",
                                                      filters=filters)
    q = analyse(question, idf_of(index), index)
    candidates, hit_terms = evidence(index, q, hits)
    if not candidates:
        return decline(question, hits, "no passage is close to the question", 0.0)
    ranked = rank(candidates, m.sentence)
    chosen = choose(ranked, m.keep)
    ev = answer_features(q, hits, candidates, [c for c, _, _ in chosen], hit_terms)
    confidence = float(m.answerable.probability(ev.values))
    if confidence < m.threshold:
        return decline(question, hits, decline_reason(m.answerable, ev, q.asks), confidence)
    numbers: dict[str, int] = {}
    support: dict[str, list[str]] = {}
    out_sentences = []
    for c, start, end in chosen:
        pid = c.hit.passage.passage_id
        n = numbers.setdefault(pid, len(numbers) + 1)
        text = source_text(c)[start:end].strip()
        support.setdefault(pid, []).append(text)
        out_sentences.append(AnswerSentence(text=text, citations=[n], note=c.note))
    by_id = {h.passage.passage_id: h for h in hits}
    citations = [_citation(index, n, by_id[pid], support[pid]) for pid, n in numbers.items()]
    answer = " ".join(f"{s.text} {marker(s)}" for s in out_sentences)
    return Answer(question=question, answered=True, mode="extractive", answer=answer,
                  sentences=out_sentences, citations=citations, confidence=round(confidence, 3))
