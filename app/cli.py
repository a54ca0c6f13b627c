"""The `ombuds` command line."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from index.backend import (
    BACKENDS,
    ENV_BACKEND,
    ENV_MILVUS_TOKEN,
    ENV_MILVUS_URI,
    Backend,
    check_store_model,
    finish_writes,
    open_index,
    open_store,
)
from index.embed import (
    DEFAULT_MODEL,
    DEVICES,
    ENV_DEVICE,
    ENV_MODEL,
    ModelError,
    configured_model,
    get_embedder,
)
from index.live import LiveIndex, Reload
from index.provisions import (
    INSTRUMENT,
    PROVISION,
    citer_dict,
    find_article,
    graph,
    group_by_instrument,
    group_unresolved,
    linked,
    provision_dict,
    rank_provisions,
)
from index.search import MODES, Filters, Index, IndexError_, language_note
from index.store import ENV_DATA_DIR, Store
from index.update import UPLOADS, ingest_file, put_document, remove_document, stored_document
from ingest.language import CODES as LANGUAGES
from ingest.model import DOCUMENT_KINDS, PASSAGE_TYPES, IngestError
from ingest.ocr import MODES as OCR_MODES
from ingest.pipeline import DEFAULT_MAX_MB, discover

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=ENV_DATA_DIR,
    help=f"Where the passage store lives (default: data/ in the checkout; env {ENV_DATA_DIR}).",
)


@click.group()
@click.version_option(package_name="ombuds")
def cli() -> None:
    """Search and cited answers over human-rights reports, conventions and codes."""


model_option = click.option(
    "--model",
    envvar=ENV_MODEL,
    help=f"Embedding model: a local sentence-transformers directory or model name "
    f"(default {DEFAULT_MODEL}, shipped in a wheel; env {ENV_MODEL}).",
)


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _keep_backend(ctx: click.Context, param: click.Parameter, value):
    ctx.meta.setdefault("ombuds.backend", {})[param.name] = value
    return value


def backend_options(f):
    """--backend, --milvus-uri, --milvus-token (kept in the click context: see _backend)."""
    options = [
        click.option("--backend", type=click.Choice(BACKENDS), envvar=ENV_BACKEND,
                     expose_value=False, callback=_keep_backend,
                     help=f"Where passages, vectors and BM25 live: embedded (SQLite, FAISS, "
                     f"bm25s; the default) or milvus (env {ENV_BACKEND})."),
        click.option("--milvus-uri", envvar=ENV_MILVUS_URI, expose_value=False,
                     callback=_keep_backend,
                     help="Milvus: a file path ending in .db opens Milvus Lite (default: "
                     f"milvus.db in the data dir), http://host:19530 a server (env "
                     f"{ENV_MILVUS_URI})."),
        click.option("--milvus-token", envvar=ENV_MILVUS_TOKEN, expose_value=False,
                     callback=_keep_backend,
                     help=f"Milvus server token, user:password or an API key (env "
                     f"{ENV_MILVUS_TOKEN})."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _backend() -> Backend:
    values = click.get_current_context().meta.get("ombuds.backend", {})
    return Backend.of(values.get("backend"), values.get("milvus_uri"), values.get("milvus_token"))


def _open_store(data_dir: Path | None, create: bool = False):
    try:
        return open_store(data_dir, _backend(), create=create)
    except IndexError_ as e:
        _fail(str(e))


def _open_index(data_dir: Path | None, model: str | None) -> Index:
    """The index, or a one-line error (another model, or nothing ingested yet)."""
    try:
        index = open_index(data_dir, model, _backend())
    except (IndexError_, ModelError) as e:
        _fail(str(e))
    if not index.ids:
        where = getattr(index.store, "uri", index.store.data_dir)
        _fail(f"the index in {where} is empty: run `ombuds ingest corpus` first")
    return index


def _shard(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    m = re.fullmatch(r"(\d+)/(\d+)", value.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise click.BadParameter(f"'{value}' is not I/N with 1 <= I <= N (e.g. 2/4)")
    return int(m.group(1)), int(m.group(2))


def _follow(index: Index) -> LiveIndex:
    """The index kept up to date through a batch: each item is answered from the store as it
    is when the item starts (another process may remove or add documents meanwhile)."""

    def told(old: Index, new: Index, info: Reload) -> None:
        click.echo(f"note: {info.describe()}", err=True)

    return LiveIndex(index, on_reload=told)


def _current(live: LiveIndex) -> Index:
    try:
        return live.current()
    except (IndexError_, ModelError) as e:
        _fail(str(e))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@data_dir_option
@model_option
@click.option("--max-mb", type=float, default=DEFAULT_MAX_MB, show_default=True,
              envvar="OMBUDS_MAX_MB", help="Skip files larger than this.")
@click.option("--force", is_flag=True, help="Re-parse documents even when unchanged.")
@click.option("--ocr", type=click.Choice(OCR_MODES), default="auto", show_default=True,
              envvar="OMBUDS_OCR", help="OCR of PDF pages (Tesseract): auto = pages without "
              "text or with a garbled or misread text layer; always = every page; never.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--shard", metavar="I/N", callback=_shard,
              help="Only the files of shard I of N (by file name): N processes can ingest into "
              "one Milvus server at once, each document written by one of them.")
@click.option("--device", type=click.Choice(DEVICES), envvar=ENV_DEVICE,
              help="Where to embed (default cpu; env OMBUDS_DEVICE): cuda = a CUDA GPU in fp16, "
              "for a store made with the torch backend; without one, the CPU, said in one line.")
@backend_options
def ingest(paths: tuple[Path, ...], data_dir: Path | None, model: str | None, max_mb: float,
           force: bool, ocr: str, quiet: bool, shard: tuple[int, int] | None,
           device: str | None) -> None:
    """Ingest reports, conventions and codes (PDF, scanned PDF, Word .docx, saved web pages
    .html, Markdown, text; English or Russian) and folders of them.

    \b
    Examples:
      ombuds ingest corpus ../shared/corpus
      ombuds ingest my-report.pdf law.docx page.html
      ombuds ingest scans/ --ocr always

    A file whose content is unchanged since it was last ingested is skipped without parsing;
    a changed file replaces its earlier passages, and only its new passages are embedded. A file
    that cannot be ingested is reported on one line and skipped; the exit status is 1 when any
    file failed. Passages read by OCR are marked (`ocr` in JSON, an OCR badge in the app).
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    store = _open_store(data_dir, create=True)
    name = configured_model(model)
    try:
        check_store_model(store, name)
    except IndexError_ as e:
        _fail(str(e))
    files = discover(list(paths))
    if shard:
        files = [f for f in files if zlib.crc32(f.name.encode()) % shard[1] == shard[0] - 1]
    done, skipped, failed = [], [], []
    by_type: Counter[str] = Counter()
    embedded = 0
    bar = tqdm(files, unit="file", disable=quiet or not files, file=sys.stderr, leave=False)
    for path in bar:
        bar.set_postfix_str(path.name[-40:])
        try:
            result = ingest_file(store, path, name, max_mb, force, ocr, progress=not quiet,
                                 device=device)
        except IngestError as e:
            failed.append(path)
            tqdm.write(f"error: {path}: {e}", file=sys.stderr)
            continue
        except ModelError as e:
            _fail(str(e))
        except Exception as e:  # a parser bug must not stop the batch or lose stored data
            failed.append(path)
            reason = str(e).splitlines()[0] if str(e) else ""
            tqdm.write(f"error: {path}: unexpected {type(e).__name__}: {reason}", file=sys.stderr)
            continue
        if result.status == "unchanged":
            skipped.append(path)
            continue
        for warning in result.doc.stats.get("warnings", []):
            if "OCR" in warning:  # which pages were read by OCR, or that Tesseract is missing
                tqdm.write(f"note: {path}: {warning}", file=sys.stderr)
        embedded += result.embedded
        done.append(result.doc)
        by_type.update(p.passage_type for p in result.passages)
    bar.close()
    finish_writes(store, name)  # the FAISS and BM25 files brought up to date, or Milvus flushed
    seconds = time.perf_counter() - t0
    n_passages = sum(by_type.values())
    click.echo(
        f"{len(done)} document(s) ingested ({n_passages} passages, {embedded} embedded), "
        f"{len(skipped)} unchanged, {len(failed)} failed, in {seconds:.1f} s"
    )
    if by_type:
        click.echo("passages by type: " + ", ".join(f"{t} {n}" for t, n in sorted(by_type.items())))
    totals = store.counts_by_type()
    click.echo(
        f"store: {len(store.documents())} documents, {sum(totals.values())} passages "
        f"({', '.join(f'{t} {n}' for t, n in totals.items())}) in {store.path}"
    )
    if failed:
        sys.exit(1)


def _batch(single: str | None, lines, what: str, option: str) -> Iterable[str]:
    """The one text given, or the non-blank lines of a batch file, in order, each read when
    the previous one is answered (so `--queries -` answers a pipe line by line)."""
    if bool(single) == bool(lines):
        _fail(f"give a {what} or {option} FILE (not both)")
    return _lines(lines, what) if lines else [single]


def _lines(lines, what: str) -> Iterator[str]:
    """The non-blank lines of a batch file, stripped; an empty file is one clear line."""
    empty = True
    for line in lines:
        if line.strip():
            empty = False
            yield line.strip()
    if empty:
        _fail(f"{getattr(lines, 'name', 'the batch file')}: no {what.lower()} in it "
              "(one per line)")


def filter_options(f):
    """The filters shared by search and ask (each may be repeated)."""
    options = [
        click.option("--doc", multiple=True, help="Only this document id (repeatable)."),
        click.option("--kind", multiple=True, type=click.Choice(DOCUMENT_KINDS),
                     help="Only documents of this kind (repeatable)."),
        click.option("--jurisdiction", multiple=True,
                     help="Only this jurisdiction: international, KZ, KG (repeatable)."),
        click.option("--type", "passage_type", multiple=True, type=click.Choice(PASSAGE_TYPES),
                     help="Only passages of this type (repeatable)."),
        click.option("--date-from", help="Passages dated on or after (YYYY, YYYY-MM, YYYY-MM-DD)."),
        click.option("--date-to", help="Passages dated on or before."),
        click.option("--language", multiple=True, type=click.Choice(LANGUAGES),
                     help="Only documents in this language (repeatable)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


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


@cli.command()
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


@cli.command()
@data_dir_option
@model_option
def reindex(data_dir: Path | None, model: str | None) -> None:
    """Re-embed every stored passage (e.g. with another --model) and rebuild the index."""
    store = Store(data_dir)
    name = configured_model(model)
    try:
        embedder = get_embedder(name)
    except ModelError as e:
        _fail(str(e))
    t0 = time.perf_counter()
    store.clear_vectors()
    docs = store.documents()
    for d in docs:
        put_document(store, embedder, stored_document(store, d["doc_id"]),
                     list(store.passages(d["doc_id"])))
    Index.open(store.data_dir, name)
    click.echo(f"re-embedded {sum(d['n_passages'] for d in docs)} passages of {len(docs)} "
               f"documents with {embedder.identity} in {time.perf_counter() - t0:.1f} s")


@cli.command()
@data_dir_option
@click.option("--doc", "doc_id", help="Only this document id.")
@click.option("--type", "passage_type", type=click.Choice(PASSAGE_TYPES), help="Only this type.")
@click.option("--paragraph", type=int, help="Only the passage holding this numbered paragraph.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, all fields.")
@backend_options
def passages(data_dir: Path | None, doc_id: str | None, passage_type: str | None,
             paragraph: int | None, as_json: bool) -> None:
    """List stored passages with their metadata, to check the chunking.

    \b
    Examples:
      ombuds passages --doc un-a-hrc-27-53-add-2
      ombuds passages --doc un-a-hrc-27-53-add-2 --paragraph 13
      ombuds passages --type testimony --json
    """
    store = _open_store(data_dir)
    if doc_id and store.document(doc_id) is None:
        raise click.ClickException(
            f"no document '{doc_id}' in {store.path} (see `ombuds documents`)"
        )
    for p in store.passages(doc_id, passage_type):
        if paragraph is not None and not _holds_paragraph(p.paragraph, paragraph):
            continue
        if as_json:
            click.echo(json.dumps(p.to_dict(), ensure_ascii=False))
            continue
        where = " > ".join(p.section) or "(no section)"
        loc = []
        if p.page:
            loc.append(f"p. {p.page}" + (f"-{p.page_end}" if p.page_end else ""))
        if p.paragraph:
            loc.append(f"para. {p.paragraph}")
        if p.article:
            loc.append(f"art. {p.article}")
        if p.ocr:
            loc.append("OCR")
        click.echo(
            f"{p.doc_id} #{p.seq} [{p.passage_type}] {p.words} words  {where}  "
            f"{', '.join(loc)}  id={p.passage_id}"
        )
        if p.speaker or p.place or p.date:
            click.echo(f"    testimony: {p.speaker or '?'} | {p.place or '?'} | {p.date or '?'}")
        if p.addressee:
            click.echo(f"    addressee: {p.addressee}")
        snippet = p.text.replace("\n", " ")
        click.echo("    " + (snippet[:200] + ("..." if len(snippet) > 200 else "")))
        for f in p.footnotes:
            click.echo(f"    [{f.number}] {f.text[:150]}")
        for r in p.legal_refs:
            click.echo(
                f"    ref: {r.instrument or 'unidentified'} art. {r.article or '-'}"
                f"{' (' + r.paragraph + ')' if r.paragraph else ''}  <- {r.raw[:80]}"
            )


def _holds_paragraph(paragraph: str | None, n: int) -> bool:
    """Whether a passage's paragraph ("13" or "13-15") includes paragraph n."""
    if not paragraph:
        return False
    lo, _, hi = paragraph.partition("-")
    return lo.isdigit() and int(lo) <= n <= int(hi if hi.isdigit() else lo)


@cli.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@backend_options
def documents(data_dir: Path | None, as_json: bool) -> None:
    """List the documents in the store."""
    store = _open_store(data_dir)
    for d in store.documents():
        if as_json:
            click.echo(json.dumps(d, ensure_ascii=False))
        else:
            click.echo(
                f"{d['doc_id']:45} {d['kind']:12} {d['date'] or '':12} "
                f"{d['n_passages']:5} passages  {d['short_title']}"
            )


@cli.command()
@click.argument("doc_id")
@data_dir_option
@backend_options
def remove(doc_id: str, data_dir: Path | None) -> None:
    """Remove a document and every copy ombuds made of it: its passages and embeddings, its
    index entries, and the file the web app saved when it was uploaded there (a file you
    ingested from elsewhere is yours and stays). A running `ombuds serve` stops returning it
    with its next request. With --backend milvus its rows are deleted from every collection.
    """
    store = _open_store(data_dir)
    try:
        removed = remove_document(store, doc_id)
        if removed is None:
            raise click.ClickException(f"no document '{doc_id}' in {store.path}")
        files = [f for f in removed.files if f.parent.name == UPLOADS]
        note = f"; deleted its uploaded file {files[0].name}" if files else ""
        click.echo(f"removed {doc_id}: {removed.passages} passages with their embeddings and "
                   f"index entries{note}")
        for failed in removed.failed:
            click.echo(f"warning: could not delete {failed}", err=True)
        sys.stdout.flush()  # the removal has committed: say so before rebuilding the index files
        if isinstance(store, Store) and store.documents():
            try:
                Index.open(store.data_dir, store.get_meta("model"))
            except (IndexError_, ModelError, OSError) as e:  # the next open rebuilds them
                click.echo(f"note: the index files were not rebuilt ({e})", err=True)
    finally:
        if not isinstance(store, Store):  # Milvus: flush the deletes, release a Lite file
            store.close()


def _excerpt(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text[:width] + ("..." if len(text) > width else "")


@cli.command()
@click.argument("situation", required=False)
@click.option("--situations", type=click.File("r"),
              help="Batch: a file with one situation per line (JSON lines out, input order).")
@click.option("--jurisdiction", help="Only provisions of this jurisdiction, as the documents "
              "give it (international, KZ...).")
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Articles returned.")
@click.option("--plain", is_flag=True, help="Plain retrieval over provisions, without the "
              "citation graph's votes (for comparison).")
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
        hits = rank_provisions(index, text, k=k, jurisdiction=jurisdiction,
                               use_graph=not plain)
        if as_json or situations:
            click.echo(json.dumps({"situation": text, "jurisdiction": jurisdiction,
                                   "ranking": "plain" if plain else "graph",
                                   "provisions": [h.to_dict(index) for h in hits]},
                                  ensure_ascii=False))
            continue
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
                       f"{h.graph:.2f})")
            click.echo("     " + _excerpt(h.article.text, 240))
            for c in h.cited_by[:3]:
                click.echo(f"     cited by {c.citation}: {_excerpt(c.passage.text, 120)}")
            rest = h.cited_by_total - len(h.cited_by[:3])
            if rest > 0:
                click.echo(f"     ... cited by {rest} more report passage(s): "
                           f"ombuds article {instrument} {h.article.article}")


@cli.command()
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


@cli.command()
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
            click.echo(f"    > {sentence}")
        for line in _refs_lines(index, c.passage_id):
            click.echo(f"    cites: {line}")


def llm_options(f):
    """The generative mode's bounds, shared by ask and eval (env fallbacks as in app/llm.py)."""
    options = [
        click.option("--llm-max-tokens", type=click.IntRange(16, 8192),
                     envvar="OMBUDS_LLM_MAX_TOKENS",
                     help="Longest generated reply in tokens (default 256; env "
                          "OMBUDS_LLM_MAX_TOKENS)."),
        click.option("--llm-timeout", type=click.FloatRange(min=0.1), envvar="OMBUDS_LLM_TIMEOUT",
                     help="Seconds for the whole generative request, the wait for the first "
                          "token included (default 60; env OMBUDS_LLM_TIMEOUT)."),
        click.option("--llm-idle-timeout", type=click.FloatRange(min=0.1),
                     envvar="OMBUDS_LLM_IDLE_TIMEOUT",
                     help="Seconds without a new token before the reply is given up (default "
                          "10; env OMBUDS_LLM_IDLE_TIMEOUT)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _llm_config(llm: bool | None, max_tokens: int | None, timeout: float | None,
                idle_timeout: float | None):
    """The endpoint to use, or None: --llm needs one configured, the default uses it if so."""
    from .llm import LLMConfig

    try:
        config = LLMConfig.from_env(max_tokens=max_tokens, timeout=timeout,
                                    idle_timeout=idle_timeout)
    except ValueError as e:
        _fail(str(e))
    if llm and config is None:
        _fail("--llm needs OMBUDS_LLM_BASE_URL and OMBUDS_LLM_MODEL to be set")
    return config if llm is not False else None


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


@cli.command()
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


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; beyond localhost, set OMBUDS_USER and OMBUDS_PASSWORD.")
@click.option("--port", type=int, default=7860, show_default=True)
@data_dir_option
@model_option
@click.option("--max-mb", type=float, default=DEFAULT_MAX_MB, show_default=True,
              envvar="OMBUDS_MAX_MB", help="Refuse uploads larger than this.")
@backend_options
def serve(host: str, port: int, data_dir: Path | None, model: str | None, max_mb: float) -> None:
    """Start the web app: Ask, Search, Provisions, Testimonies, Library, Collection.

    \b
    Examples:
      ombuds serve                                   # http://127.0.0.1:7860
      OMBUDS_USER=trainer OMBUDS_PASSWORD=... ombuds serve --host 0.0.0.0

    The index and the model are loaded once, at start; the app then follows the store: a
    document removed or ingested by another `ombuds` process is gone from, or found by, the
    next request. With OMBUDS_USER and OMBUDS_PASSWORD set the app asks for a login; bound
    beyond localhost without one, it prints a warning.
    """
    from .web import serve as serve_app  # gradio is imported only for this command

    try:
        serve_app(data_dir, model, host, port, max_mb=max_mb, backend=_backend())
    except (IndexError_, ModelError) as e:
        _fail(str(e))


@cli.command("eval")
@data_dir_option
@model_option
@click.option("--naive/--no-naive", default=True, show_default=True,
              help="Also measure the naive 1000/200-chunk baseline.")
@click.option("--compare", is_flag=True, help="Print the change from the previous recorded run.")
@click.option("--answers/--no-answers", "answers_", default=True, show_default=True,
              help="Also measure `ombuds ask` (grounded answers, correct refusals).")
@click.option("--record/--no-record", default=True, show_default=True,
              help="Append this run to eval/history.jsonl and redraw eval/history.png.")
@backend_options
@click.option("--llm", "llm_", is_flag=True,
              help="Also measure the generative mode on the dev and test splits (needs "
                   "OMBUDS_LLM_BASE_URL and OMBUDS_LLM_MODEL): answers shown, fallbacks and why, "
                   "latency.")
@click.option("--llm-limit", type=click.IntRange(1), help="With --llm: only the first N "
              "questions of each split.")
@click.option("--only", type=click.Choice(["answers"]),
              help="Only this part: `--only answers` measures `ombuds ask` alone (not recorded).")
@llm_options
def eval_command(data_dir: Path | None, model: str | None, naive: bool, compare: bool,
                 answers_: bool, record: bool, llm_: bool, llm_limit: int | None,
                 only: str | None, llm_max_tokens: int | None, llm_timeout: float | None,
                 llm_idle_timeout: float | None) -> None:
    """Measure retrieval quality on eval/questions.jsonl (Recall@1/5/10, MRR@10, nDCG@10),
    overall and per user type, for bm25, dense and hybrid, beside the naive baseline.

    \b
    Reproduce the README's table:
      ombuds ingest corpus ../shared/corpus && ombuds eval
    The generative mode's figures (a local server configured):
      ombuds eval --no-naive --no-answers --no-record --llm --llm-limit 30
    """
    from eval import run as ev

    config = _llm_config(True, llm_max_tokens, llm_timeout, llm_idle_timeout) if llm_ else None
    index = _open_index(data_dir, model)
    click.echo(f"ombuds eval works on a snapshot of {index.store.path} (generation "
               f"{index.generation}: {len(index.docs)} documents, {len(index.ids)} passages); "
               "documents added or removed while it runs are not seen", err=True)
    questions = ev.load_questions()
    needed = {e["doc_id"] for q in questions for e in q["evidence"]}
    missing = sorted(needed - set(index.docs))
    if missing:
        click.echo(f"warning: {len(missing)} document(s) the questions cite are not in the "
                   f"index ({', '.join(missing[:4])}...); run `ombuds ingest corpus "
                   f"../shared/corpus`", err=True)
    t0 = time.perf_counter()
    if only == "answers":
        click.echo(ev.answers_table(ev.evaluate_answers(index, questions)))
        click.echo(f"{time.perf_counter() - t0:.0f} s. Tuned on dev only; test is reported.")
        return
    results, details, latency = ev.evaluate_index(index, questions)
    if naive:
        results.update(ev.evaluate_naive(index, questions))
    answers = ev.evaluate_answers(index, questions) if answers_ else None
    situations = ev.evaluate_situations(index, ev.load_situations())
    answered = [q for q in questions if q["answerable"]]
    n_split = {sp: sum(q.get("split", "dev") == sp for q in answered) for sp in ev.SPLITS}
    click.echo(f"{len(answered)} answerable questions ({n_split['dev']} dev, "
               f"{n_split['test']} test; {len(questions) - len(answered)} unanswerable, not "
               f"scored here); {len(index.ids)} passages; model {index.model_name}; "
               f"{time.perf_counter() - t0:.0f} s. Tuned on dev only; test is reported.")
    text = ev.table(results)
    click.echo(text)
    if answers:
        click.echo(ev.answers_table(answers))
    provisions_text = ev.situations_table(situations)
    click.echo(provisions_text)
    missed = ev.failures(questions, details)
    lines = [f"- {q['id']} ({q['user']}, {q['style']}): {q['question']}" for q in missed]
    ev.LATEST.write_text(
        "# Latest evaluation\n\n" + text + "\n\n" + (ev.answers_table(answers) + "\n\n"
                                                        if answers else "")
        + provisions_text + "\n\nHybrid misses at 10 "
        f"({len(missed)}):\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    click.echo(f"hybrid misses at 10: {len(missed)} (listed in {ev.LATEST})")
    record_ = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": ev.git_commit(),
               "config": {"model": index.model_name, "passages": len(index.ids),
                          "questions": len(answered), "k": 10,
                          "median_latency_ms": {m: round(v, 1) for m, v in latency.items()}},
               "metrics": results, "answers": answers, "situations": situations}
    if config is not None:
        record_["llm"] = _eval_llm(index, questions, config, llm_limit)
    if record:
        history = ev.append_history(record_)
        ev.plot(history)
        if compare and len(history) > 1:
            click.echo("\n".join(ev.compare(history[-2], history[-1])))
    elif compare and ev.HISTORY.exists():
        previous = json.loads(ev.HISTORY.read_text().splitlines()[-1])
        click.echo("\n".join(ev.compare(previous, record_)))


def _eval_llm(index: Index, questions: list[dict], config, limit: int | None) -> dict:
    """`eval --llm`: eval/llm.py on the dev and test splits; the table is printed and written
    to eval/llm.md, the summary returned for the history."""
    from eval import llm as ev_llm

    def progress(row: dict) -> None:
        click.echo(f"  {row['id']} ({row['split']}): {row['outcome']} in {row['seconds']:.1f} s",
                   err=True)

    results = ev_llm.evaluate_llm(index, questions, config, limit, progress)
    text = ev_llm.table(results)
    click.echo(text)
    ev_llm.LATEST.write_text("# Latest generative-mode evaluation\n\n" + text + "\n",
                             encoding="utf-8")
    return {k: v for k, v in results.items() if k != "rows"}


@cli.command()
@data_dir_option
@model_option
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the models (default: app/answerability.json).")
@click.option("--repeats", type=click.IntRange(1, 20), default=None,
              help="Cross-validation repeats (default 4).")
@click.option("--sample", type=click.IntRange(10, 10000), default=None,
              help="Only the first N dev questions (a quick check, e.g. in tests).")
def calibrate(data_dir: Path | None, model: str | None, output: Path | None,
              repeats: int | None, sample: int | None) -> None:
    """Refit the answerability and sentence models of `ombuds ask` on the dev split of
    eval/questions.jsonl (cross-validated, test never read) and write them as plain numbers.

    \b
    Examples:
      ombuds calibrate                       # rewrites app/answerability.json
      ombuds calibrate --output /tmp/m.json --repeats 1
    """
    from app.answerability import MODEL_PATH
    from eval import calibrate as cal
    from eval import run as ev

    index = _open_index(data_dir, model)
    dev = [q for q in ev.load_questions() if q.get("split", "dev") == "dev"]
    # an answerable question whose documents are not indexed would teach the models nothing
    missing = [q for q in dev if q["answerable"]
               and not {e["doc_id"] for e in q["evidence"]} & set(index.docs)]
    if missing:
        click.echo(f"warning: {len(missing)} answerable dev questions cite documents not in the "
                   "index and are left out; run `ombuds ingest corpus ../shared/corpus`", err=True)
        dev = [q for q in dev if q not in missing]
    if sample:
        answerable = [q for q in dev if q["answerable"]]
        unanswerable = [q for q in dev if not q["answerable"]]
        share = len(unanswerable) / len(dev)
        n_un = max(5, round(sample * share))
        dev = answerable[: sample - n_un] + unanswerable[:n_un]
    click.echo(f"calibrating on {len(dev)} dev questions "
               f"({sum(q['answerable'] for q in dev)} answerable)")
    samples = cal.collect(index, dev)
    fitted = cal.calibrate(samples, log=click.echo,
                           **({"repeats": repeats} if repeats else {}))
    path = output or MODEL_PATH
    cal.write(fitted, path)
    click.echo("dev CV: " + ", ".join(f"{k} {v}" for k, v in fitted["dev_cv"].items()))
    click.echo(f"wrote {path}")


@cli.command()
@click.option("--to", "uri", required=True, envvar=ENV_MILVUS_URI,
              help="The Milvus to copy into: a file path ending in .db (Milvus Lite) or "
              f"http://host:19530 (a server; env {ENV_MILVUS_URI}).")
@click.option("--milvus-token", envvar=ENV_MILVUS_TOKEN, help="Milvus server token.")
@data_dir_option
def migrate(uri: str, milvus_token: str | None, data_dir: Path | None) -> None:
    """Copy the embedded store into Milvus, vectors and sentence units included (nothing is
    embedded again); a document Milvus already holds unchanged is skipped.

    \b
    Examples:
      ombuds migrate --to data/milvus.db            # Milvus Lite, a local folder
      ombuds migrate --to http://localhost:19530    # a Milvus server
      ombuds search "passports" --backend milvus --milvus-uri data/milvus.db
    """
    from index.milvus import migrate as copy_into

    try:
        counts = copy_into(Store(data_dir), uri, milvus_token)
    except IndexError_ as e:
        _fail(str(e))
    click.echo(f"{counts['documents']} document(s) copied ({counts['passages']} passages), "
               f"{counts['unchanged']} unchanged, into {uri} in {counts['seconds']:.1f} s")


@cli.command()
@click.option("--sizes", default="100000,1000000", show_default=True,
              help="Synthetic collection sizes, comma-separated (empty: none).")
@click.option("--milvus", "milvus_store", type=click.Path(file_okay=False, path_type=Path),
              help="Only the Milvus backend: migrate this built data dir into Milvus Lite and "
              "compare it with the embedded index (writes eval/bench_milvus.md and .json).")
@click.option("--aila", is_flag=True, help="Only AILA 2019 statute retrieval (long fact "
              "descriptions), through ombuds' own ingest and search; writes eval/aila.md.")
@click.option("--ocr-only", is_flag=True, help="Only OCR throughput (pages per second on the "
              "scanned letter of ../shared/pdfs); nothing written.")
@click.option("--only", type=click.Choice(["embed", "corpus", "synthetic"]),
              help="Only this part (its rows in eval/bench.md and .json are replaced, the others "
                   "kept): embed = the torch and onnx-int8 embedders on the passages of "
                   "--data-dir; corpus = ingest, queries, ask, provisions, reload and the naive "
                   "baseline on the corpus (no synthetic collections, no embedder comparison); "
                   "synthetic = the --sizes collections, made from --data-dir's vectors.")
@data_dir_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def bench(sizes: str, milvus_store: Path | None, aila: bool, ocr_only: bool, only: str | None,
          data_dir: Path | None, paths: tuple[str, ...]) -> None:
    """Benchmark ingest throughput, OCR throughput and query latency (p50/p95 per mode) on the
    corpus, on synthetic collections, and for the naive baseline; writes eval/bench.md and
    eval/bench.json.

    \b
    Examples:
      ombuds bench                      # corpus + ../shared/corpus, 100k and 1M synthetic
      ombuds bench --sizes 100000 corpus
      ombuds bench --milvus data        # the Milvus backend beside the embedded one
      ombuds bench --aila               # AILA 2019: MAP, nDCG@10, R@10 beside FIRE 2019
      ombuds bench --ocr-only
      ombuds bench --only embed         # embedder speed and agreement on data/'s passages
      ombuds bench --only corpus        # the corpus rows alone (minutes, not an hour)
      ombuds bench --only synthetic --sizes 1000000   # 1M passages with their sentence units
    """
    from eval import bench as b
    from eval import run as ev

    if milvus_store:
        results = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{os.cpu_count()} cores",
                   **b.bench_milvus(milvus_store, ev.load_questions())}
        text = b.render_milvus(results)
        (b.ROOT / "eval" / "bench_milvus.md").write_text("# Benchmark: Milvus backend\n\n" + text,
                                                         encoding="utf-8")
        (b.ROOT / "eval" / "bench_milvus.json").write_text(json.dumps(results, indent=1),
                                                           encoding="utf-8")
        click.echo(text)
        return
    if aila:
        from eval import aila as ai

        if not ai.AILA.exists():
            _fail(f"{ai.AILA}: the AILA 2019 benchmark is not there (see ../shared/bench)")
        results = ai.run()
        text = ai.render(results)
        ai.AILA_MD.write_text("# AILA 2019 statute retrieval\n\n" + text + "\n",
                              encoding="utf-8")
        ai.AILA_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
        click.echo(text)
        return
    if ocr_only:
        o = b.bench_ocr()
        if not o:
            _fail(f"no Tesseract or no {b.SCANNED}: nothing to measure")
        click.echo(b.ocr_row(o))
        return
    if only == "embed":
        results = json.loads(b.BENCH_JSON.read_text()) if b.BENCH_JSON.exists() else {}
        results["embedders"] = b.bench_embedders(data_dir)
        text = b.render(results) if "ingest" in results else b.render_embedders(
            results["embedders"])
        b.BENCH_MD.write_text("# Benchmark\n\n" + text, encoding="utf-8")
        b.BENCH_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
        click.echo(b.render_embedders(results["embedders"]))
        return

    paths = paths or (str(b.ROOT / "corpus"), str(b.ROOT.parent / "shared" / "corpus"))
    queries = [q["question"] for q in ev.load_questions()]
    if only == "synthetic":
        from index.store import default_data_dir

        store_dir = data_dir or default_data_dir()
        if not (store_dir / "ombuds.sqlite3").is_file():
            _fail(f"{store_dir}: no ombuds store there; the synthetic collections are made from "
                  "an ingested store's vectors: ombuds ingest corpus ../shared/corpus first")
        results = json.loads(b.BENCH_JSON.read_text()) if b.BENCH_JSON.exists() else {}
        results["synthetic"] = b.synthetic_rows(
            store_dir, [int(x) for x in sizes.split(",") if x.strip()], queries)
        results["synthetic_date"] = time.strftime("%Y-%m-%d %H:%M")
        text = b.render(results) if "ingest" in results else ""
        if text:
            b.BENCH_MD.write_text("# Benchmark\n\n" + text, encoding="utf-8")
        b.BENCH_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
        click.echo(text or json.dumps(results["synthetic"], indent=1))
        return
    if only == "corpus":
        before = json.loads(b.BENCH_JSON.read_text()) if b.BENCH_JSON.exists() else {}
        results = b.run(list(paths), [], queries, embedders=False)
        for kept in ("embedders", "synthetic"):
            if before.get(kept):
                results[kept] = before[kept]
        if before.get("synthetic"):
            results["synthetic_date"] = before.get("synthetic_date") or before.get("date")
    else:
        results = b.run(list(paths), [int(x) for x in sizes.split(",") if x.strip()], queries)
    text = b.render(results)
    b.BENCH_MD.write_text("# Benchmark\n\n" + text, encoding="utf-8")
    b.BENCH_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
    click.echo(text)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
