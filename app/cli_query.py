"""The `ombuds` commands that read the index: search, ask, provisions, article and refs, with
their plain-text output.

Registered on the group in app/cli.py; kept apart from it as the commands a user of the corpus
runs, beside those that fill the store.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from app.cli_common import (
    _batch,
    _current,
    _fail,
    _follow,
    _llm_config,
    _open_index,
    backend_options,
    data_dir_option,
    filter_options,
    llm_options,
    model_option,
)
from index.filters import Filters
from index.provisions import (
    INSTRUMENT,
    PROVISION,
    background_words,
    citer_dict,
    find_article,
    graph,
    group_by_instrument,
    group_unresolved,
    linked,
    provision_dict,
    rank_provisions,
    vote_weight,
)
from index.search import MODES, Index, IndexError_, language_note


def _highlight(text: str, query: str, width: int = 300) -> str:
    """A snippet around the first query term, terms in bold (when the terminal shows it)."""
    terms = {t for t in re.findall(r"\w+", query.lower()) if len(t) > 2}
    flat = " ".join(text.split())
    lower = flat.lower()
    first = min((lower.find(t) for t in terms if t in lower), default=0)
    start = max(0, first - width // 3)
    snippet = ("..." if start else "") + flat[start : start + width]
    snippet += "..." if start + width < len(flat) else ""
    if not terms:
        return snippet
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(terms, key=len, reverse=True)))
                         + r")\w*", re.IGNORECASE)
    return pattern.sub(lambda m: click.style(m.group(0), bold=True, fg="yellow"), snippet)


@click.command()
@click.argument("query", required=False)
@click.option("--queries", type=click.File("r"), help="Batch: a file with one query per line.")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="JSON output (one object per query).")
@data_dir_option
@model_option
@backend_options
def search(query: str | None, queries, k: int, mode: str, doc, kind, jurisdiction, passage_type,
           date_from, date_to, language, as_json: bool, data_dir: Path | None,
           model: str | None) -> None:
    """Search the passages: BM25 and dense retrieval, fused (hybrid), or either alone.

    \b
    Examples:
      ombuds search "they took our passports"
      ombuds search "article 128" --type provision --jurisdiction KZ
      ombuds search "maternity leave" --doc fidh-2018-kazakhstan -k 5 --json
      ombuds search --queries questions.txt --json > hits.jsonl
      ombuds search "медиатор" --language ru

    The embedding model is English-only: a Russian query is matched by BM25 (with a Russian
    stemmer) alone, and a note says so.
    """
    batch = _batch(query, queries, "QUERY", "--queries")
    live = _follow(_open_index(data_dir, model))
    filters = Filters.of(doc, kind, jurisdiction, passage_type, date_from, date_to, language)
    for q in batch:
        index = _current(live)
        try:
            hits = index.search(q, k=k, mode=mode, filters=filters)
        except IndexError_ as e:
            _fail(str(e))
        note = language_note(index, q, hits)
        if as_json or queries:
            click.echo(json.dumps({"query": q, "note": note, "hits": [
                h.to_dict() | linked(index, h.passage) for h in hits]}, ensure_ascii=False))
            continue
        if note:
            click.echo(click.style(f"note: {note}", fg="yellow"))
        if not hits:
            click.echo("no passage matches")
        for h in hits:
            p = h.passage
            kind_note = p.passage_type + (", OCR" if p.ocr else "")
            if p.passage_type == "testimony":
                who = ", ".join(x for x in (p.speaker, p.place, p.date) if x)
                kind_note += f" ({who})" if who else ""
            click.echo(click.style(f"{h.rank}. {h.citation}", bold=True) + f"  [{kind_note}]  "
                       f"{h.score:.4f}")
            click.echo("   " + _highlight(p.text, q))


def _excerpt(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text[:width] + ("..." if len(text) > width else "")


@click.command()
@click.argument("situation", required=False)
@click.option("--situations", type=click.File("r"),
              help="Batch: a file with one situation per line (JSON lines out, input order).")
@click.option("--jurisdiction", help="Only provisions of this jurisdiction, as the documents "
              "give it (international, KZ...).")
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Articles returned.")
@click.option("--plain", is_flag=True, help="Plain retrieval over provisions, without the "
              "citation graph's votes or the articles' lay descriptions (for comparison).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@data_dir_option
@model_option
@backend_options
def provisions(situation: str | None, situations, jurisdiction: str | None, k: int, plain: bool,
               as_json: bool, data_dir: Path | None, model: str | None) -> None:
    """The provisions that apply to a described situation, grouped by instrument, each with
    the report passages that cite it.

    Articles are ranked by hybrid retrieval over the conventions and codes, combined with the
    citation graph: an article cited by report passages relevant to the situation ranks higher.

    \b
    Examples:
      ombuds provisions "the farmer kept the passports of a family of tobacco pickers"
      ombuds provisions "a 14-year-old works in the tobacco fields" --jurisdiction KZ --json
      ombuds provisions --situations cases.txt -k 5 > provisions.jsonl
    """
    batch = _batch(situation, situations, "SITUATION", "--situations")
    index = _open_index(data_dir, model)
    known = index.jurisdictions()
    if jurisdiction and jurisdiction not in known:
        _fail(f"no document of jurisdiction '{jurisdiction}' in the index (known: "
              f"{', '.join(known)})")
    for text in batch:
        weight = 0.0 if plain else vote_weight(index, text, jurisdiction)
        hits = rank_provisions(index, text, k=k, jurisdiction=jurisdiction,
                               use_graph=not plain, votes=weight, use_anchors=not plain)
        if as_json or situations:
            click.echo(json.dumps({"situation": text, "jurisdiction": jurisdiction,
                                   "ranking": "plain" if plain else "graph",
                                   "vote_weight": round(weight, 3),
                                   "background_words": background_words(index, text),
                                   "provisions": [h.to_dict(index) for h in hits]},
                                  ensure_ascii=False))
            continue
        if not plain and weight < 1:
            click.echo(f"the reports speak to this situation less than the law does: the "
                       f"articles they cite count at {weight:.0%} of their weight")
        _print_provisions(hits)


def _print_provisions(hits) -> None:
    if not hits:
        click.echo("no provision matches")
    for instrument, group in group_by_instrument(hits):
        click.echo(click.style(group[0].instrument_name, bold=True) + f"  ({instrument})")
        for h in group:
            title = f" {h.article.title}" if h.article.title else ""
            click.echo(click.style(f"  {h.rank}. {h.citation}.{title}", bold=True)
                       + f"  score {h.score:.3f} (retrieval {h.retrieval:.2f}, cited "
                       f"{h.graph:.2f}, lay description {h.anchor:.2f})")
            click.echo("     " + _excerpt(h.article.text, 240))
            for c in h.cited_by[:3]:
                click.echo(f"     cited by {c.citation}: {_excerpt(c.passage.text, 120)}")
            rest = h.cited_by_total - len(h.cited_by[:3])
            if rest > 0:
                click.echo(f"     ... cited by {rest} more report passage(s): "
                           f"ombuds article {instrument} {h.article.article}")


@click.command()
@click.argument("instrument")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@data_dir_option
@backend_options
def article(instrument: str, number: str, as_json: bool, data_dir: Path | None) -> None:
    """Show one article of a convention or code, and every report passage that cites it.

    INSTRUMENT is a registry id, document id, short title or name ("ICCPR", "C029",
    "KZ-LABOUR-CODE", "Labour Code of Kazakhstan"); NUMBER is the article number.

    \b
    Examples:
      ombuds article ICCPR 8
      ombuds article KZ-CRIMINAL-CODE 128 --json
    """
    index = _open_index(data_dir, None)
    inst_id, found = find_article(index, instrument, number)
    if found is None:
        where = f"{inst_id}" if inst_id else f"'{instrument}' (no such instrument in the corpus)"
        _fail(f"article {number} of {where} is not in the corpus")
    citing = graph(index).citing(found.instrument, found.article)
    doc = index.docs[found.doc_id]
    if as_json:
        click.echo(json.dumps({
            "instrument": found.instrument, "doc_id": found.doc_id, "doc_title": doc["title"],
            "article": found.article, "title": found.title, "text": found.text,
            "passages": [provision_dict(index, p) for p in found.passages],
            "cited_by": [citer_dict(index, p) for p in citing]}, ensure_ascii=False))
        return
    click.echo(click.style(f"{doc['title']}, art. {found.article}", bold=True))
    click.echo(found.text)
    click.echo("")
    click.echo(click.style(f"Cited by {len(citing)} report passage(s)", bold=True))
    for p in citing:
        click.echo(f"  {index.cite(p)} [{p.passage_type}]: {_excerpt(p.text)}")


@click.command()
@click.option("--unresolved", is_flag=True, help="Also list every reference that does not "
              "resolve to a provision's text, with its passage.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@data_dir_option
@backend_options
def refs(unresolved: bool, as_json: bool, data_dir: Path | None) -> None:
    """How the legal references of the report passages resolve to provisions in the corpus,
    by instrument.

    A reference resolves when its instrument is ingested and the article it names is in the
    ingested text; one to an instrument that is not in the corpus stays unresolved and is
    shown by name.
    """
    index = _open_index(data_dir, None)
    g = graph(index)
    rows = g.resolution()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    total = sum(r["references"] for r in rows)
    with_article = sum(r["with_article"] for r in rows)
    reachable = sum(r["with_article"] for r in rows if r["in_corpus"])
    resolved = sum(r["resolved"] for r in rows)
    in_corpus = sum(r["references"] for r in rows if r["in_corpus"])
    click.echo(f"{total} references in report passages; {in_corpus} "
               f"({in_corpus / max(total, 1):.0%}) to an instrument in the corpus. Of the "
               f"{with_article} that name an article, {resolved} "
               f"({resolved / max(with_article, 1):.0%}) resolve to its text: {resolved} of "
               f"the {reachable} ({resolved / max(reachable, 1):.0%}) whose instrument is in "
               "the corpus")
    click.echo(f"{'instrument':<58} {'refs':>5} {'w/ art.':>7} {'resolved':>8}  in corpus")
    for r in rows:
        name = r["name"] if len(r["name"]) <= 56 else r["name"][:53] + "..."
        click.echo(f"{name:<58} {r['references']:>5} {r['with_article']:>7} "
                   f"{r['resolved']:>8}  {'yes' if r['in_corpus'] else 'no'}")
    if unresolved:
        click.echo("")
        for p in index.passages:
            if p.passage_type == "provision":
                continue
            for link in g.links(p):
                if link.status not in (PROVISION, INSTRUMENT):
                    click.echo(f"{index.cite(p)}: {link.label} ({link.status}) <- "
                               f"{_excerpt(link.ref.raw, 80)}")


def _refs_lines(index: Index, passage_id: str) -> list[str]:
    """A passage's references resolved: each article in the corpus with where its text is,
    the rest by name, grouped by instrument ("..., arts. 309, 402 (article not in corpus)")."""
    links = graph(index).links(index.passage(passage_id))
    lines = [f"{link.label} -> " + "; ".join(index.cite(index.passage(pid))
                                             for pid in link.passage_ids)
             for link in links if link.status == PROVISION]
    lines += [f"{link.label} (instrument in corpus, no article named)"
              for link in links if link.status == INSTRUMENT]
    lines += [f"{u.label} ({u.status})" for u in group_unresolved(links)]
    return lines


def _print_answer(index: Index, a) -> None:
    confidence = f"confidence: {a.confidence:.2f}" if a.confidence is not None else ""
    if not a.answered:
        click.echo(click.style(a.answer, bold=True) + (f"  ({confidence})" if confidence else ""))
        if a.notice:
            click.echo(click.style(f"note: {a.notice}", fg="yellow"))
        for h in a.nearest:
            snippet = " ".join(h["text"].split())[:160]
            click.echo(f"  - {h['citation']} [{h['passage_type']}]: {snippet}...")
        return
    if a.notice:
        click.echo(click.style(f"note: {a.notice}", fg="yellow"))
    if confidence:
        click.echo(click.style(confidence, dim=True))
    click.echo(a.answer)
    click.echo("")
    for c in a.citations:
        click.echo(click.style(f"[{c.n}] {c.citation}", bold=True) + f"  ({c.passage_type})  "
                   f"{c.doc_title}")
        if c.testimony:
            t = c.testimony
            who = ", ".join(x for x in (t["speaker"], t["place"], t["date"]) if x)
            click.echo(f"    testimony of: {who or 'unattributed'}")
            if t["source"]:
                click.echo(f"    source note: {t['source']}")
        for sentence in c.support:
            note = next((s.note for s in a.sentences if c.n in s.citations
                         and s.text == sentence and s.note), None)
            click.echo(f"    > (note {note}) {sentence}" if note else f"    > {sentence}")
        for line in _refs_lines(index, c.passage_id):
            click.echo(f"    cites: {line}")


def _generate(index: Index, question: str, hits, fallback, config, progress: bool):
    """The generative answer (or the extractive fallback with its notice); with progress, a
    token counter on stderr while the reply streams."""
    from .llm import Progress, llm_answer_stream

    answer = fallback
    for item in llm_answer_stream(index, question, hits, fallback, config):
        if isinstance(item, Progress):
            if progress:
                click.echo(f"\rgenerating with {config.model}: {item.tokens} tokens, "
                           f"{item.seconds:.1f} s", err=True, nl=False)
        else:
            answer = item
    if progress:
        click.echo("\r\033[K", err=True, nl=False)
    return answer


@click.command()
@click.argument("question", required=False)
@click.option("--questions", type=click.File("r"), help="Batch: a file with one question per line.")
@click.option("--k", "k", type=click.IntRange(1, 50), default=8, show_default=True,
              help="Passages retrieved as evidence.")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="JSON output (one object per question).")
@click.option("--llm/--no-llm", default=None,
              help="Use the configured OpenAI-compatible endpoint (default: when configured).")
@llm_options
@data_dir_option
@model_option
@backend_options
def ask(question: str | None, questions, k: int, doc, kind, jurisdiction, passage_type,
        date_from, date_to, language, as_json: bool, llm: bool | None,
        llm_max_tokens: int | None, llm_timeout: float | None, llm_idle_timeout: float | None,
        data_dir: Path | None,
        model: str | None) -> None:
    """Answer a question from the corpus, every sentence cited to its passage, or say plainly
    that the corpus does not answer it.

    \b
    Examples:
      ombuds ask "Do employers take migrants' passports away?"
      ombuds ask "What does the ICCPR say about forced labour?" --kind treaty --json
      ombuds ask --questions questions.txt --json > answers.jsonl

    The default answer is extractive: its sentences are verbatim from the cited passages. With
    OMBUDS_LLM_BASE_URL and OMBUDS_LLM_MODEL set (any OpenAI-compatible server, e.g. a local
    llama.cpp or Ollama), a generated answer is used when it passes a check against the passages;
    otherwise the extractive one is shown with a notice saying why.
    """
    from .answer import answer_question

    batch = _batch(question, questions, "QUESTION", "--questions")
    live = _follow(_open_index(data_dir, model))
    config = _llm_config(llm, llm_max_tokens, llm_timeout, llm_idle_timeout)
    filters = Filters.of(doc, kind, jurisdiction, passage_type, date_from, date_to, language)
    progress = not (as_json or questions) and sys.stderr.isatty()
    for q in batch:
        index = _current(live)
        try:
            hits = index.search(q, k=k, mode="hybrid", filters=filters)
            a = answer_question(index, q, hits=hits)
            if config is not None:
                a = _generate(index, q, hits, a, config, progress)
        except IndexError_ as e:
            _fail(str(e))
        note = language_note(index, q, hits)
        if note:
            a.notice = f"{a.notice}; {note}" if a.notice else note
        if as_json or questions:
            click.echo(json.dumps(a.to_dict(), ensure_ascii=False))
        else:
            _print_answer(index, a)
