"""The `ombuds` command line."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import click

from index.store import ENV_DATA_DIR, Store
from ingest.model import PASSAGE_TYPES, IngestError
from ingest.pipeline import DEFAULT_MAX_MB, discover, load

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


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@data_dir_option
@click.option(
    "--max-mb",
    type=float,
    default=DEFAULT_MAX_MB,
    show_default=True,
    envvar="OMBUDS_MAX_MB",
    help="Skip files larger than this.",
)
@click.option("--force", is_flag=True, help="Re-parse documents even when unchanged.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ingest(
    paths: tuple[Path, ...], data_dir: Path | None, max_mb: float, force: bool, quiet: bool
) -> None:
    """Ingest report, convention and code files (PDF, Markdown, text) and folders of them.

    \b
    Examples:
      ombuds ingest corpus ../shared/corpus
      ombuds ingest my-report.pdf

    A file whose content is unchanged since it was last ingested is skipped; a changed file
    replaces its earlier passages. A file that cannot be ingested is reported on one line and
    skipped; the exit status is 1 when any file failed.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    store = Store(data_dir)
    files = discover(list(paths))
    done, skipped, failed = [], [], []
    by_type: Counter[str] = Counter()
    bar = tqdm(files, unit="file", disable=quiet or not files, file=sys.stderr, leave=False)
    for path in bar:
        bar.set_postfix_str(path.name[-40:])
        try:
            doc, passages = load(path, max_mb=max_mb)
        except IngestError as e:
            failed.append(path)
            tqdm.write(f"error: {path}: {e}", file=sys.stderr)
            continue
        except Exception as e:  # a parser bug must not stop the batch or lose stored data
            failed.append(path)
            reason = str(e).splitlines()[0] if str(e) else ""
            tqdm.write(f"error: {path}: unexpected {type(e).__name__}: {reason}", file=sys.stderr)
            continue
        if not force and store.content_hash(doc.doc_id) == doc.content_hash:
            skipped.append(path)
            continue
        store.put(doc, passages)
        done.append(doc)
        by_type.update(p.passage_type for p in passages)
    bar.close()
    seconds = time.perf_counter() - t0
    n_passages = sum(by_type.values())
    click.echo(
        f"{len(done)} document(s) ingested ({n_passages} passages), {len(skipped)} unchanged, "
        f"{len(failed)} failed, in {seconds:.1f} s"
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
@click.option("--doc", "doc_id", help="Only this document id.")
@click.option("--type", "passage_type", type=click.Choice(PASSAGE_TYPES), help="Only this type.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, all fields.")
def passages(
    data_dir: Path | None, doc_id: str | None, passage_type: str | None, as_json: bool
) -> None:
    """List stored passages with their metadata, to check the chunking.

    \b
    Examples:
      ombuds passages --doc un-a-hrc-27-53-add-2
      ombuds passages --type testimony --json
    """
    store = Store(data_dir)
    if doc_id and store.document(doc_id) is None:
        raise click.ClickException(
            f"no document '{doc_id}' in {store.path} (see `ombuds documents`)"
        )
    for p in store.passages(doc_id, passage_type):
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
                f"    ref: {r.instrument or 'unresolved'} art. {r.article or '-'}"
                f"{' (' + r.paragraph + ')' if r.paragraph else ''}  <- {r.raw[:80]}"
            )


@cli.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def documents(data_dir: Path | None, as_json: bool) -> None:
    """List the documents in the store."""
    store = Store(data_dir)
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
def remove(doc_id: str, data_dir: Path | None) -> None:
    """Remove a document and its passages from the store."""
    store = Store(data_dir)
    if not store.remove(doc_id):
        raise click.ClickException(f"no document '{doc_id}' in {store.path}")
    click.echo(f"removed {doc_id}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
