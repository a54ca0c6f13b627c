"""Cited answers, extractive by default: every answer sentence is copied verbatim from a
retrieved passage and carries its [n]; when the evidence is too weak the answer says so.

The optional generative mode (app/llm.py) only rewrites what these passages say, and its reply
is checked against them before it is shown.
"""

from __future__ import annotations

import re

import numpy as np

from index.lexical import tokenize
from index.search import Filters, Hit, Index

from .answer_types import Answer, AnswerSentence, Citation

MAX_SENTENCES = 3
MAX_PASSAGES = 6  # sentences are scored in the best passages only
# Decline when the best sentence is barely related to the question, or when too little of the
# question's distinctive vocabulary occurs in the best passages. MIN_COVERAGE was calibrated on
# eval/questions.jsonl (answerable vs unanswerable questions, `ombuds eval` reports both
# shares); sentence similarity alone did not separate them (MiniLM scores near-topic
# questions the corpus cannot answer as high as answerable ones).
MIN_SIMILARITY = 0.3
MIN_COVERAGE = 0.45
W_SIMILARITY, W_OVERLAP, W_RANK = 0.6, 0.25, 0.15

# sentence ends: ., ! or ? (and a closing quote) before a space and a capital, a quote or a digit,
# except after common abbreviations and initials
ABBREVIATIONS = ("No", "no", "Nos", "art", "Art", "arts", "para", "paras", "p", "pp", "e.g",
                 "i.e", "Mr", "Mrs", "Ms", "Dr", "St", "cf", "Add", "Rev", "vol", "etc", "N")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[A-Z\"“(\d])")
DANGLING = re.compile(r"^(This|These|That|Those|It|Its|They|Their|Them|He|She|His|Her|Such|"
                      r"However|Moreover|Furthermore|In addition|Also|Nevertheless|Therefore|"
                      r"As a result|In this connection|Here)\b")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of a passage; a line break (heading, list item,
    table row) always ends one."""
    spans = []
    for line in re.finditer(r"[^\n]+", text):
        base, chunk, start = line.start(), line.group(0), 0
        for m in SENTENCE_END.finditer(chunk):
            before = chunk[start : m.start()].rstrip("\"”’)")
            last_word = re.search(r"(\w+)\.$", before)
            if last_word and (last_word.group(1) in ABBREVIATIONS or len(last_word.group(1)) == 1):
                continue
            end = m.start() + len(m.group(0).rstrip())
            spans.append((base + start, base + end))
            start = m.end()
        if start < len(chunk.rstrip()):
            spans.append((base + start, base + len(chunk.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _citation(n: int, hit: Hit, support: list[str]) -> Citation:
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
        legal_refs=[r.__dict__ | {"cite": legal_ref_label(r)} for r in p.legal_refs],
    )


def legal_ref_label(r) -> str:
    """ "KZ-CRIMINAL-CODE art. 128" -> "Criminal Code of the Republic of Kazakhstan, art. 128"."""
    name = r.instrument_name or r.instrument or r.raw
    art = f", art. {r.article}" if r.article else ""
    par = f"({r.paragraph})" if r.paragraph and r.article else ""
    return f"{name}{art}{par}"


def coverage(question: str, hits: list[Hit], index: Index) -> float:
    """IDF-weighted share of the question's words found in the three best passages (with
    their notes, section and document titles). A word the collection never uses weighs most:
    a question about "Dordoi bazaar" or "ILO Convention 190" asks what the corpus lacks."""
    terms = set(tokenize(question))
    model = index.lexical.model
    if not terms or model is None:
        return 1.0
    n = index.lexical.size
    indptr = model.scores["indptr"]

    def idf(t: str) -> float:
        if t not in model.vocab_dict:
            return float(np.log(n) + 1)
        df = indptr[model.vocab_dict[t] + 1] - indptr[model.vocab_dict[t]]
        return float(np.log((n - df + 0.5) / (df + 0.5) + 1))

    found: set[str] = set()
    for h in hits[:3]:
        p = h.passage
        found |= set(tokenize(" ".join([p.text, h.short_title, *p.section,
                                        *(f.text for f in p.footnotes)])))
    weights = {t: idf(t) for t in terms}
    return sum(w for t, w in weights.items() if t in found) / sum(weights.values())


def evidence(index: Index, question: str, hits: list[Hit]) -> list[dict]:
    """Every sentence of the best passages, scored against the question."""
    candidates = []
    for rank, h in enumerate(hits[:MAX_PASSAGES]):
        for s, e in sentences(h.passage.text):
            text = h.passage.text[s:e].strip()
            if len(text.split()) >= 4:
                candidates.append({"hit": h, "rank": rank, "start": s, "end": e, "text": text})
    if not candidates:
        return []
    q = index.embedder.encode([question])[0]
    vecs = index.embedder.encode([c["text"] for c in candidates])
    q_terms = set(tokenize(question))
    for c, v in zip(candidates, vecs, strict=True):
        c["similarity"] = float(v @ q)
        terms = set(tokenize(c["text"]))
        c["overlap"] = len(q_terms & terms) / max(1, len(q_terms))
        c["score"] = (W_SIMILARITY * c["similarity"] + W_OVERLAP * c["overlap"]
                      + W_RANK * (1 - c["rank"] / MAX_PASSAGES))
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


def answer_question(index: Index, question: str, k: int = 8, filters: Filters | None = None,
                    hits: list[Hit] | None = None) -> Answer:
    """The extractive answer to a question, with its citations, or a plain refusal."""
    hits = hits if hits is not None else index.search(question, k=k, mode="hybrid",
                                                      filters=filters)
    nearest = [h.to_dict() for h in hits[:5]]
    scored = evidence(index, question, hits)
    cover = coverage(question, hits, index)
    if not scored or scored[0]["similarity"] < MIN_SIMILARITY or cover < MIN_COVERAGE:
        return Answer(question=question, answered=False, mode="extractive",
                      answer="The corpus does not answer this question. The nearest passages "
                             "are listed below.", nearest=nearest)
    chosen: list[tuple[dict, int, int]] = []
    passages_used: set[str] = set()
    for c in scored:
        if len(chosen) == MAX_SENTENCES:
            break
        if c["similarity"] < MIN_SIMILARITY or c["score"] < scored[0]["score"] * 0.85:
            break
        pid = c["hit"].passage.passage_id
        if pid not in passages_used and len(passages_used) == 3:
            continue
        start, end = _with_context(c)
        if any(pid == x["hit"].passage.passage_id and start < e and s < end
               for x, s, e in chosen):
            continue  # overlaps a sentence already chosen
        chosen.append((c, start, end))
        passages_used.add(pid)
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
    citations = [_citation(n, next(h for h in hits if h.passage.passage_id == pid), support[pid])
                 for pid, n in numbers.items()]
    answer = " ".join(f"{s.text} [{s.citations[0]}]" for s in out_sentences)
    return Answer(question=question, answered=True, mode="extractive", answer=answer,
                  sentences=out_sentences, citations=citations)
