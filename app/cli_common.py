"""What the `ombuds` commands share: the --data-dir, --model, backend, filter and LLM options,
and the helpers that open the store or the index (or fail with a one-line error), keep the
index up to date through a batch, and read batch files.

Kept apart from app/cli.py (the group and the store's commands) so that app/cli_query.py and
app/cli_eval.py use them without importing the group.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from index.backend import (
    BACKENDS,
    ENV_BACKEND,
    ENV_MILVUS_TOKEN,
    ENV_MILVUS_URI,
    Backend,
    open_index,
    open_store,
)
from index.embed import DEFAULT_MODEL, ENV_MODEL, ModelError
from index.live import LiveIndex, Reload
from index.search import Index, IndexError_
from index.store import ENV_DATA_DIR
from ingest.language import CODES as LANGUAGES
from ingest.model import DOCUMENT_KINDS, PASSAGE_TYPES

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=ENV_DATA_DIR,
    help=f"Where the passage store lives (default: data/ in the checkout; env {ENV_DATA_DIR}).",
)


model_option = click.option(
    "--model",
    envvar=ENV_MODEL,
    help=f"Embedding model: a local sentence-transformers directory or model name "
    f"(default {DEFAULT_MODEL}: all-MiniLM-L6-v2 from its wheel, biases tuned; a store keeps "
    f"the shipped model it was embedded with; env {ENV_MODEL}).",
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
