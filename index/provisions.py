"""Provisions and the citation graph: a report passage's legal references resolved to the
articles of the conventions and codes in the corpus, each article's "cited by" list, and the
ranking of provisions for a described situation.

A reference resolves only to what the corpus holds: an instrument that is not ingested, or an
article missing from a partial text, stays unresolved and is shown by name, never with text
borrowed from another article.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from ingest.instruments import get_instrument
from ingest.model import PASSAGE_TYPES, LegalRef, Passage

from .anchors import scaled
from .filters import Filters
from .lexical import STOP
from .search import Hit, Index

# status of a resolved reference
PROVISION = "provision"  # the article (and paragraph) is in the corpus
INSTRUMENT = "instrument"  # the instrument is in the corpus; the reference names no article
ARTICLE_MISSING = "article not in corpus"  # the instrument is, that article is not (partial text)
NOT_IN_CORPUS = "instrument not in corpus"
OTHER_VERSION = "version not in corpus"  # "the Criminal Code of 1997"; the corpus has 2014's
UNIDENTIFIED = "unidentified"  # the mention names no instrument that can be identified

# Fact-pattern ranking: plain hybrid retrieval over provision passages (each article scored by
# its best passage, scaled to 0..1), plus votes from the report passages most relevant to the
# situation: for the articles they cite (ARTICLE_VOTE) and, scaled by the article's own
# retrieval score, for the instruments they cite (INSTRUMENT_VOTE; reports often say "ILO
# Convention No. 29" and no more). A testimony rarely cites law itself, but the analysis around
# it does: the other report passages of its section that cite law vote too, sharing
# SECTION_VOTE of its weight between them. Shared, not each given it: a long section citing many
# articles (a report's whole chapter on working conditions) otherwise lifts all of them for
# almost any situation its testimonies resemble, above the articles the situation engages.
# Tuned on the dev split of eval/situations.jsonl: shared, SECTION_VOTE 0.2-0.5 measure alike
# (hit@5 0.67-0.69, recall@5 0.45-0.46, against 0.635 and 0.44 for 0.1 given to each); caps or
# diversity across instruments, instrument-level scores, relevance feedback through the reports'
# vectors and other fusion weights measured no gain. `ombuds eval` reports this beside plain
# retrieval.
ARTICLE_VOTE = 2.0
INSTRUMENT_VOTE = 1.0
# An article's votes count in proportion to its own retrieval score, from VOTE_FLOOR of them for
# an article plain retrieval does not find (a hub cited all over a report's chapter, lifted for
# a situation its words do not touch) to all of them for the best-retrieved one. Chosen on dev:
# of the top-5 places held by articles retrieval did not find, 4 of 41 were gold, against 52
# of 219 for the others; dev S@5 0.654 -> 0.712 (0.692 -> 0.712 on vectors batched as before),
# the same at 0.6, less from 0.7 up or 0.4 down.
VOTE_FLOOR = 0.5
SECTION_VOTE = 0.4  # shared between the section's citing passages
VOTE_SPLIT = 0.5  # a passage citing n articles gives each 1/n**VOTE_SPLIT of its vote
# The content words that a third of the report passages share name the collection's subject
# ("migrant", "workers", the country), not a situation's legal matter; left in, they pull the
# articles that use them (the migration conventions, "Basic rights ... of the employee") toward
# every story. The dense side of the provisions search reads the situation without them (BM25
# already weighs them by their rarity among the provisions); the evidence search keeps every
# word. Computed from the corpus's own report passages, never from a list. Chosen on dev: plain
# retrieval S@5 0.346 -> 0.442 (0.44-0.48 for shares from 0.15 to 1/3), the default ranking's
# S@5 unchanged at 0.712 (0.65-0.73 over the same shares); it does not help ordinary search
# (dev hybrid R@5 0.866 -> 0.838 when applied there), whose questions often ask about migrants.
BACKGROUND_SHARE = 1 / 3
BACKGROUND_MIN_PASSAGES = 30  # fewer report passages than this: no background is inferred
# The votes are scaled per situation (the best-voted article always gets a full vote), so they
# lift the reports' favourite articles even for a story the reports never discuss (a parent
# asking for part-time work, a night shift after a day shift). How strongly they count depends
# instead on whether the reports speak to the situation: the margin by which the best sentence
# unit of a report passage matches it better than the best sentence unit of a provision (cosine,
# the stored unit vectors). Votes count fully from a margin of GATE_MARGIN + GATE_WIDTH / 2, not
# at all below GATE_MARGIN - GATE_WIDTH / 2, linearly between. Chosen on dev (110 situations,
# 30 of them written blind): S@5 0.518 -> 0.564, 0.509-0.582 for margins -0.15 to +0.04 and
# widths 0 to 0.2; a fixed 0.25, 0.5 or 0.75 of every vote instead gives 0.500-0.527.
GATE_MARGIN = -0.05
GATE_WIDTH = 0.05
# Lay descriptions of the articles (index/anchors.py) match a layperson's story better than the
# law's own words do: each described article gets its best description's cosine with the
# situation (read without its background words), min-max scaled from the ANCHOR_DEPTH-th best
# described article (0) to the best (1), times ANCHOR_WEIGHT, added to the retrieval-and-graph
# score scaled so that its best article has 1. Chosen on the dev situations, which the
# descriptions' writers never saw: S@5 0.536 -> 0.745 / 0.745 / 0.764 / 0.773 / 0.791 at weights
# 0.5 / 1 / 3 / 4 / 8 (the descriptions alone 0.782), R@5 0.388 -> 0.594 / 0.599 / 0.576 /
# 0.579 / 0.581; the same on each half of dev. 4: within two situations of the best S@5, and
# retrieval and the graph keep a say for the articles no description covers.
ANCHOR_WEIGHT = 4.0
ANCHOR_DEPTH = 80
PROVISION_DEPTH = 150  # provision passages retrieved before grouping into articles
CITING_TYPES = [t for t in PASSAGE_TYPES if t != "provision"]  # report passages, which cite law
EVIDENCE_DEPTH = 10  # relevant report passages whose citations vote


@dataclass
class Link:
    """One legal reference of a passage, resolved against the corpus."""

    ref: LegalRef
    status: str
    name: str  # the instrument's name, with the version when it is not the corpus's
    doc_id: str | None = None  # the instrument's document in the corpus
    passage_ids: list[str] = field(default_factory=list)  # the provision passages it points to

    @property
    def label(self) -> str:
        """ "Criminal Code of the Republic of Kazakhstan, art. 128(2)"."""
        r = self.ref
        art = f", art. {r.article}" if r.article else ""
        return self.name + art + (f"({r.paragraph})" if r.paragraph and r.article else "")

    def to_dict(self, index: Index) -> dict:
        """The reference, resolved, with the cited provisions' text one field away."""
        r = self.ref
        return {"instrument": r.instrument, "instrument_name": r.instrument_name,
                "article": r.article, "paragraph": r.paragraph, "raw": r.raw,
                "source": r.source, "label": self.label, "status": self.status,
                "doc_id": self.doc_id, "passage_ids": self.passage_ids,
                "provisions": [provision_dict(index, index.passage(pid))
                               for pid in self.passage_ids]}


@dataclass
class Article:
    """One article of an instrument in the corpus: its passages in reading order."""

    instrument: str
    article: str
    doc_id: str
    passages: list[Passage]

    @property
    def title(self) -> str:
        """ "Prohibition of forced labor" from "Article 7. Prohibition of forced labor"."""
        first = self.passages[0].text.split("\n", 1)[0]
        m = re.match(r"\s*(?:Article|Статья)\s+[\w.-]+\s*[.:-]?\s*(.*)$", first, re.I)
        title = m.group(1).strip() if m else ""
        return "" if title.lower().startswith("(continued") else title

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.passages)


@dataclass
class ProvisionHit:
    """An article ranked for a situation, with the report passages that cite it."""

    rank: int
    score: float
    retrieval: float  # the article's best passage score in plain retrieval (0..1)
    graph: float  # the votes of relevant report passages citing the article (0..1)
    anchor: float  # how near its best lay description is, among the described articles (0..1)
    article: Article
    instrument_name: str
    short_title: str
    citation: str
    matched: list[Passage]  # its passages that retrieval found, best first
    cited_by: list[Hit]  # report passages relevant to the situation citing it, best first,
    # then those citing it in the same sections
    cited_by_total: int  # every report passage in the corpus citing it

    def to_dict(self, index: Index) -> dict:
        a = self.article
        return {
            "rank": self.rank, "score": round(self.score, 6),
            "retrieval_score": round(self.retrieval, 6), "graph_score": round(self.graph, 6),
            "anchor_score": round(self.anchor, 6),
            "instrument": a.instrument, "instrument_name": self.instrument_name,
            "doc_id": a.doc_id, "short_title": self.short_title, "article": a.article,
            "title": a.title, "citation": self.citation, "text": a.text,
            "passages": [provision_dict(index, p) for p in a.passages],
            "matched_passage_ids": [p.passage_id for p in self.matched],
            "cited_by": [citer_dict(index, h.passage) for h in self.cited_by],
            "cited_by_total": self.cited_by_total,
        }


def provision_dict(index: Index, p: Passage | None) -> dict:
    if p is None:
        return {}
    return {"passage_id": p.passage_id, "doc_id": p.doc_id, "citation": index.cite(p),
            "article": p.article, "paragraph": p.paragraph, "text": p.text}


def citer_dict(index: Index, p: Passage) -> dict:
    """A report passage citing a provision, as listed under "cited_by"."""
    return {"passage_id": p.passage_id, "doc_id": p.doc_id, "citation": index.cite(p),
            "passage_type": p.passage_type, "text": p.text}


def _leading_number(paragraph: str | None) -> int | None:
    m = re.match(r"\s*(\d+)", paragraph or "")
    return int(m.group(1)) if m else None


def _covers(passage_paragraph: str | None, wanted: int) -> bool:
    lo, _, hi = (passage_paragraph or "").partition("-")
    if not lo.strip().isdigit():
        return False
    return int(lo) <= wanted <= int(hi if hi.strip().isdigit() else lo)


class CitationGraph:
    """Articles of the instruments in the corpus, and which report passages cite which."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.articles: dict[tuple[str, str], Article] = {}
        self.instrument_doc: dict[str, str] = {}
        for p in index.passages:
            if p.passage_type != "provision" or not p.instrument:
                continue
            self.instrument_doc.setdefault(p.instrument, p.doc_id)
            if p.article:
                key = (p.instrument, p.article)
                if key not in self.articles:
                    self.articles[key] = Article(p.instrument, p.article, p.doc_id, [])
                self.articles[key].passages.append(p)
        self.article_of = {p.passage_id: key for key, a in self.articles.items()
                           for p in a.passages}
        self.cited_by: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._links: dict[str, list[Link]] = {}
        # report passages citing something in the corpus, by (document, first two headings)
        self._sections: dict[tuple, list[Passage]] = defaultdict(list)
        for p in index.passages:
            if p.passage_type == "provision":
                continue
            for link in self.links(p):
                if link.status == PROVISION:
                    key = (link.ref.instrument, link.ref.article)
                    if p.passage_id not in self.cited_by[key]:
                        self.cited_by[key].append(p.passage_id)
            if p.section and any(link.doc_id for link in self.links(p)):
                self._sections[(p.doc_id, tuple(p.section[:2]))].append(p)
        self.background = background_terms(  # text only: headings repeat on every passage
            [p.text for p in index.passages if p.passage_type != "provision"])

    def resolve(self, ref: LegalRef) -> Link:
        name = ref.instrument_name or ref.instrument or ref.raw
        if not ref.instrument:
            return Link(ref, UNIDENTIFIED, name)
        doc_id = self.instrument_doc.get(ref.instrument)
        if doc_id is None:
            return Link(ref, NOT_IN_CORPUS, name)
        years = set(re.findall(r"\b(?:19|20)\d{2}\b", ref.raw))
        dated = self.index.docs[doc_id]["date"] or ""
        if years and dated and dated[:4] not in years:
            # same instrument, another version: its articles may be numbered differently
            return Link(ref, OTHER_VERSION, f"{name} ({', '.join(sorted(years))} version)")
        if not ref.article:
            return Link(ref, INSTRUMENT, name, doc_id)
        article = self.articles.get((ref.instrument, ref.article))
        if article is None:
            return Link(ref, ARTICLE_MISSING, name, doc_id)
        pieces = article.passages
        wanted = _leading_number(ref.paragraph)
        if wanted is not None and len(pieces) > 1:  # point at the piece holding the paragraph
            pieces = [p for p in pieces if _covers(p.paragraph, wanted)] or pieces
        return Link(ref, PROVISION, name, doc_id, [p.passage_id for p in pieces])

    def links(self, p: Passage) -> list[Link]:
        """The passage's legal references, resolved, each (instrument, article, paragraph)
        once."""
        if p.passage_id not in self._links:
            seen, out = set(), []
            for r in p.legal_refs:
                key = (r.instrument or r.raw.lower(), r.article, r.paragraph)
                if key not in seen:
                    seen.add(key)
                    out.append(self.resolve(r))
            self._links[p.passage_id] = out
        return self._links[p.passage_id]

    def cited(self, p: Passage, jurisdiction: str | None = None
              ) -> tuple[set[tuple[str, str]], set[str]]:
        """The articles (resolved to the corpus) and the instruments in the corpus that a
        passage cites, optionally of one jurisdiction."""
        articles, instruments = set(), set()
        docs = self.index.docs
        for link in self.links(p):
            if link.doc_id is None or (
                    jurisdiction and docs[link.doc_id]["jurisdiction"] != jurisdiction):
                continue
            instruments.add(link.ref.instrument)
            if link.status == PROVISION:
                articles.add((link.ref.instrument, link.ref.article))
        return articles, instruments

    def section_citers(self, h: Hit) -> list[Hit]:
        """The other passages of a hit's section (its first two heading levels) that cite an
        instrument in the corpus, as hits carrying their own citation; none for a passage
        without headings (its "section" would be the whole document)."""
        p = h.passage
        if not p.section:
            return []
        return [Hit(0, 0.0, q, h.doc_title, h.short_title, self.index.cite(q))
                for q in self._sections.get((p.doc_id, tuple(p.section[:2])), [])
                if q.passage_id != p.passage_id]

    def citing(self, instrument: str, article: str) -> list[Passage]:
        """Every report passage that cites the article, in corpus order."""
        ids = self.cited_by.get((instrument, article), [])
        return [self.index.passages[self.index.row[pid]] for pid in ids]

    def article(self, instrument: str, article: str) -> Article | None:
        return self.articles.get((instrument, article))

    def resolution(self) -> list[dict]:
        """How the report passages' legal references resolve, by instrument: every distinct
        (passage, instrument, article, paragraph) reference counted once."""
        rows: dict[str, dict] = {}
        for p in self.index.passages:
            if p.passage_type == "provision":
                continue
            for link in self.links(p):
                name = (link.ref.instrument_name or link.ref.instrument
                        if link.ref.instrument else "(unidentified)")
                row = rows.setdefault(link.ref.instrument or "", {
                    "instrument": link.ref.instrument, "name": name, "references": 0,
                    "with_article": 0, "resolved": 0, "article_missing": 0,
                    "in_corpus": link.ref.instrument in self.instrument_doc})
                row["references"] += 1
                row["with_article"] += bool(link.ref.article)
                row["resolved"] += link.status == PROVISION
                row["article_missing"] += link.status == ARTICLE_MISSING
        return sorted(rows.values(), key=lambda r: (-r["references"], r["name"]))


WORD = re.compile(r"[^\W\d_]+")


def background_terms(texts: list[str], share: float = BACKGROUND_SHARE,
                     min_texts: int = BACKGROUND_MIN_PASSAGES) -> frozenset[str]:
    """The words (lower-cased, as written: "employer" is not "employment") found in at least
    `share` of the texts: see BACKGROUND_SHARE. Function words ("not", "with") never are: they
    carry a sentence's grammar, which the model reads, not its subject."""
    if len(texts) < min_texts:
        return frozenset()
    counts: dict[str, int] = defaultdict(int)
    for text in texts:
        for word in set(WORD.findall(text.lower())):
            counts[word] += 1
    return frozenset(w for w, n in counts.items()
                     if n >= share * len(texts) and w not in STOP and len(w) > 1)


def _split_background(text: str, background: frozenset[str]) -> tuple[str, list[str]]:
    """(the text without its background words, the words left out); the text whole, and
    nothing left out, when no word would be left."""
    kept, dropped = [], []
    for w in text.split():
        words = WORD.findall(w.lower())
        (dropped if words and set(words) <= background else kept).append(w)
    if not dropped or not any(WORD.search(w) for w in kept):
        return text, []
    return " ".join(kept), dropped


def without_background(text: str, background: frozenset[str]) -> str:
    """The text without its background words; the text itself when nothing would be left."""
    return _split_background(text, background)[0]


def background_words(index: Index, text: str) -> list[str]:
    """The words of a situation the dense side of its provisions search leaves out, once each
    and as written ("migrant", "workers"); none when it would leave nothing."""
    _, dropped = _split_background(text, graph(index).background)
    return list(dict.fromkeys(w.strip(".,;:!?()\"'“”‘’") for w in dropped))


def graph(index: Index) -> CitationGraph:
    """The index's citation graph, built once per opened index."""
    if getattr(index, "_graph", None) is None:
        index._graph = CitationGraph(index)
    return index._graph


def _scaled(scores: dict) -> dict:
    top = max(scores.values(), default=0.0)
    return {key: (s / top if top > 0 else 0.0) for key, s in scores.items()}


def vote_weight(index: Index, situation: str, jurisdiction: str | None = None) -> float:
    """How much the citation graph's votes count for a situation, 0 to 1 (see GATE_MARGIN): by
    how far the reports' best sentence matches it better than the law's best sentence."""
    law = index.best_unit_score(situation, Filters(
        passage_type=["provision"], jurisdiction=[jurisdiction] if jurisdiction else []))
    reports = index.best_unit_score(situation, Filters(passage_type=CITING_TYPES))
    if law is None or reports is None:
        return 1.0 if law is None else 0.0
    return min(1.0, max(0.0, (reports - law - GATE_MARGIN) / GATE_WIDTH + 0.5))


def anchor_scores(index: Index, text: str, jurisdiction: str | None = None
                  ) -> dict[tuple[str, str], float]:
    """Each described article's nearness to a situation (see ANCHOR_WEIGHT), 0 to 1."""
    g = graph(index)
    best = index.descriptions().best(index.model_vector(text))
    if jurisdiction:
        best = {key: v for key, v in best.items()
                if index.docs[g.articles[key].doc_id]["jurisdiction"] == jurisdiction}
    return scaled(best, ANCHOR_DEPTH)


def rank_provisions(index: Index, situation: str, k: int = 10, jurisdiction: str | None = None,
                    use_graph: bool = True, votes: float | None = None,
                    use_anchors: bool = True) -> list[ProvisionHit]:
    """The articles that apply to a described situation, best first (see ARTICLE_VOTE and
    ANCHOR_WEIGHT). votes is the situation's vote_weight when the caller has it already (it
    shows it too)."""
    g = graph(index)
    jur = [jurisdiction] if jurisdiction else []
    retrieval: dict[tuple[str, str], float] = {}
    matched: dict[tuple[str, str], list[Passage]] = defaultdict(list)
    dense_text = without_background(situation, g.background)
    for h in index.search(situation, k=PROVISION_DEPTH, filters=Filters(
            passage_type=["provision"], jurisdiction=jur), dense_query=dense_text,
            descriptions=False):
        key = g.article_of.get(h.passage.passage_id)
        if key is not None:
            retrieval[key] = max(retrieval.get(key, 0.0), h.score)
            matched[key].append(h.passage)
    retrieval = _scaled(retrieval)
    # the report passages relevant to the situation, those around them, and what they cite
    # (gathered, and shown as "cited by", even when their votes are not used)
    article_votes: dict[tuple[str, str], float] = defaultdict(float)
    instrument_votes: dict[str, float] = defaultdict(float)
    direct: dict[tuple[str, str], list[Hit]] = defaultdict(list)
    nearby: dict[tuple[str, str], list[Hit]] = defaultdict(list)
    for h in index.search(situation, k=EVIDENCE_DEPTH,
                          filters=Filters(passage_type=CITING_TYPES)):
        around = g.section_citers(h)
        voters = [(h, 1.0)] + [(n, SECTION_VOTE / len(around)) for n in around]
        for voter, weight in voters:
            articles, instruments = g.cited(voter.passage, jurisdiction)
            for key in articles:
                article_votes[key] += weight * h.score / len(articles) ** VOTE_SPLIT
                shown = direct if voter is h else nearby
                if all(x.passage.passage_id != voter.passage.passage_id for x in shown[key]):
                    shown[key].append(voter)
            for inst in instruments:
                instrument_votes[inst] += weight * h.score
    evidence = {key: direct.get(key, []) + [n for n in nearby.get(key, []) if all(
        n.passage.passage_id != d.passage.passage_id for d in direct.get(key, []))]
        for key in set(direct) | set(nearby)}
    if not use_graph:
        weight = 0.0
    else:
        weight = vote_weight(index, situation, jurisdiction) if votes is None else votes
    article_votes = {key: weight * v for key, v in _scaled(article_votes).items()}
    instrument_votes = {inst: weight * v for inst, v in _scaled(instrument_votes).items()}
    keys = set(retrieval) | {key for key, v in article_votes.items() if v > 0}

    def score(key: tuple[str, str]) -> float:
        r = retrieval.get(key, 0.0)
        if not use_graph:
            return r
        return (r + ARTICLE_VOTE * article_votes.get(key, 0.0) * (VOTE_FLOOR + (1 - VOTE_FLOOR) * r)
                + INSTRUMENT_VOTE * instrument_votes.get(key[0], 0.0) * r)

    combined = {key: score(key) for key in keys}
    anchor = anchor_scores(index, dense_text, jurisdiction) if use_anchors else {}
    if anchor:
        top = max(combined.values(), default=0.0)
        combined = {key: (combined.get(key, 0.0) / top if top > 0 else 0.0)
                    + ANCHOR_WEIGHT * anchor.get(key, 0.0) for key in set(combined) | set(anchor)}
    ranked = sorted(combined, key=lambda key: (-combined[key], key))[:k]
    out = []
    for rank, key in enumerate(ranked, start=1):
        a = g.articles[key]
        doc = index.docs[a.doc_id]
        inst = get_instrument(a.instrument)
        short = doc["short_title"] or doc["title"]
        out.append(ProvisionHit(
            rank=rank, score=combined[key], retrieval=retrieval.get(key, 0.0),
            graph=article_votes.get(key, 0.0), anchor=anchor.get(key, 0.0), article=a,
            instrument_name=inst.name if inst else doc["title"], short_title=short,
            citation=f"{short}, art. {a.article}", matched=matched.get(key, []),
            cited_by=evidence.get(key, []), cited_by_total=len(g.cited_by.get(key, []))))
    return out


def linked(index: Index, p: Passage) -> dict:
    """The JSON fields that link a passage both ways: its legal references resolved (with the
    cited provisions' text), and for a provision the report passages citing its article."""
    g = graph(index)
    out = {"legal_refs": [link.to_dict(index) for link in g.links(p)]}
    if p.passage_type == "provision" and p.instrument and p.article:
        out["cited_by"] = [citer_dict(index, c) for c in g.citing(p.instrument, p.article)]
    return out


def find_article(index: Index, instrument: str, article: str) -> tuple[str, Article | None]:
    """(registry id, the article) for an instrument named by id, short title or alias
    ("ICCPR", "C029", "Labour Code of Kazakhstan") and an article number."""
    from ingest.instruments import find_instrument

    g = graph(index)
    wanted = instrument.strip()
    ids = {i.upper(): i for i in g.instrument_doc}
    inst_id = ids.get(wanted.upper())
    if inst_id is None:  # a document id or short title
        for i, doc_id in g.instrument_doc.items():
            doc = index.docs[doc_id]
            if wanted.lower() in (doc_id.lower(), (doc["short_title"] or "").lower()):
                inst_id = i
    if inst_id is None:
        found = find_instrument(wanted) or find_instrument(wanted, "KZ")
        inst_id = found.id if found else None
    if inst_id is None:
        return "", None
    return inst_id, g.article(inst_id, article.strip().lower().removeprefix("art.").strip())


def article_order(article: str) -> tuple:
    m = re.match(r"\d+", article)
    return (int(m.group()) if m else 10**9, article)


def article_list(articles: list[str]) -> str:
    """ "art. 7", or "arts. 129–144, 309" with runs of consecutive numbers joined."""
    runs: list[list[str]] = []
    for a in articles:
        if runs and a.isdigit() and runs[-1][-1].isdigit() and int(a) == int(runs[-1][-1]) + 1:
            runs[-1].append(a)
        else:
            runs.append([a])
    parts = [r[0] if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs]
    return ("art. " if len(articles) == 1 else "arts. ") + ", ".join(parts)


@dataclass
class Unresolved:
    """References that do not resolve to a provision's text, one instrument and status
    together ("Criminal Code of the Republic of Kazakhstan, arts. 309, 402")."""

    label: str
    raw: str  # the mentions, "; "-joined
    status: str
    several: bool  # more than one article


def group_unresolved(links: list[Link]) -> list[Unresolved]:
    groups: dict[tuple[str, str], list[Link]] = {}
    for link in links:
        if link.status not in (PROVISION, INSTRUMENT):
            key = (link.status, link.name if link.ref.article else link.label)
            groups.setdefault(key, []).append(link)
    out = []
    for (status, name), group in groups.items():
        articles = sorted({x.ref.article + (f"({x.ref.paragraph})" if x.ref.paragraph else "")
                           for x in group if x.ref.article}, key=article_order)
        label = f"{name}, {article_list(articles)}" if articles else name
        out.append(Unresolved(label, "; ".join(dict.fromkeys(x.ref.raw for x in group)),
                              status, len(articles) > 1))
    return out


def group_by_instrument(hits: list[ProvisionHit]) -> list[tuple[str, list[ProvisionHit]]]:
    """Instruments in the order of their best article, each with its articles by rank."""
    groups: dict[str, list[ProvisionHit]] = {}
    for h in hits:
        groups.setdefault(h.article.instrument, []).append(h)
    return list(groups.items())
