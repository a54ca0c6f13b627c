"""The `ombuds` command line.

This module holds the click group, `main`, and the commands that fill, list and serve the store
(ingest, reindex, passages, documents, remove, serve, migrate). The commands that read the
index are in app/cli_query.py (search, ask, provisions, article, refs), those that measure it in
app/cli_eval.py (eval, calibrate, bench), and the options and helpers they share in
app/cli_common.py.
"""

from __future__ import annotations

import json
import re
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import click

from app.cli_common import (
    _backend,
    _fail,
    _open_store,
    backend_options,
    data_dir_option,
    model_option,
)
from app.cli_eval import bench, calibrate, eval_command
from app.cli_query import article, ask, provisions, refs, search
from index.backend import ENV_MILVUS_TOKEN, ENV_MILVUS_URI, check_store_model, finish_writes
from index.embed import DEVICES, ENV_DEVICE, ModelError, configured_model, get_embedder
from index.search import Index, IndexError_
from index.store import Store
from index.update import UPLOADS, ingest_file, reembed, remove_document
from ingest.model import PASSAGE_TYPES, IngestError
from ingest.ocr import MODES as OCR_MODES
from ingest.pipeline import DEFAULT_MAX_MB, discover


@click.group()
@click.version_option(package_name="ombuds")
def cli() -> None:
    """Search and cited answers over human-rights reports, conventions and codes."""


def _shard(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    m = re.fullmatch(r"(\d+)/(\d+)", value.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise click.BadParameter(f"'{value}' is not I/N with 1 <= I <= N (e.g. 2/4)")
    return int(m.group(1)), int(m.group(2))


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
    name = configured_model(model, store.get_meta("model"))
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
    docs = reembed(store, embedder)
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
      ombuds migrate --to data/milvus.db            # Milvus Lite, a local file
      ombuds migrate --to http://localhost:19530    # a Milvus server
      ombuds search "passports" --backend milvus --milvus-uri data/milvus.db
    """
    from index.milvus_migrate import migrate as copy_into

    try:
        counts = copy_into(Store(data_dir), uri, milvus_token)
    except IndexError_ as e:
        _fail(str(e))
    click.echo(f"{counts['documents']} document(s) copied ({counts['passages']} passages), "
               f"{counts['unchanged']} unchanged, into {uri} in {counts['seconds']:.1f} s")


# the commands that read the index (app/cli_query.py) and those that measure it (app/cli_eval.py)
for command in (search, ask, provisions, article, refs, eval_command, calibrate, bench):
    cli.add_command(command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
