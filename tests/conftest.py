"""Shared fixtures: the real shipped corpus, the legal texts under ../shared, and stores built
from them once per session with the real model (copied when a test needs to change one)."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.pipeline import load

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
FIDH = CORPUS / "fidh-adc-2018-invisible-and-exploited-kazakhstan.md"
UN = CORPUS / "un-a-hrc-27-53-add-2-slavery-rapporteur-kazakhstan-2014.txt"
LEGAL = SHARED / "corpus"
PDFS = SHARED / "pdfs"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Never touch the checkout's data/ from a test."""
    monkeypatch.setenv("OMBUDS_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def fidh():
    return load(FIDH)


@pytest.fixture(scope="session")
def un():
    return load(UN)


def image_pdf(images: list, dpi: int = 200) -> bytes:
    """A PDF of page images and nothing else (no text layer): what a scanner makes."""
    import io

    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    for image in images:
        width, height = image.size[0] * 72 / dpi, image.size[1] * 72 / dpi
        pdf.add_page(format=(width, height))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pdf.image(buffer, x=0, y=0, w=width, h=height)
    return bytes(pdf.output())


def blank_scan() -> bytes:
    """One white scanned page: OCR finds nothing on it."""
    from PIL import Image

    return image_pdf([Image.new("L", (1654, 2339), 255)])


def free_port() -> int:
    """A TCP port free on 127.0.0.1, for a test server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(data: Path, log: Path, env: dict[str, str]) -> Iterator[str]:
    """`python -m app.web` serving data on a free port (its output in log) until the block
    ends; yields its URL once it answers."""
    port = free_port()
    env = dict(env, OMBUDS_DATA_DIR=str(data))
    env.pop("GRADIO_TEMP_DIR", None)  # the app keeps Gradio's cache in its data dir
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.web", "--data-dir", str(data),
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app exited: {log.read_text()[-2000:]}")
            if time.perf_counter() - started > 180:
                pytest.fail(f"the app did not start in 180 s: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def copy_store(src: Path, dst: Path) -> None:
    """Copy a data dir; the database through SQLite's backup API, which is consistent even when
    another connection to src closes (checkpointing and deleting its -wal file) meanwhile."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("ombuds.sqlite3*"))
    source = sqlite3.connect(src / "ombuds.sqlite3")
    target = sqlite3.connect(dst / "ombuds.sqlite3")
    source.backup(target)
    source.close()
    target.close()


def _build(data_dir: Path, *paths: Path) -> Path:
    from app.cli import cli

    result = CliRunner().invoke(
        cli, ["ingest", "-q", "--data-dir", str(data_dir), *map(str, paths)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return data_dir


@pytest.fixture(scope="session")
def corpus_data(tmp_path_factory) -> Path:
    """A data dir holding the two shipped reports, indexed (built once per session)."""
    return _build(tmp_path_factory.mktemp("corpus") / "data", CORPUS)


@pytest.fixture(scope="session")
def full_data(tmp_path_factory, corpus_data) -> Path:
    """The reports and the 25 legal texts, indexed (reuses the reports' embeddings)."""
    data = tmp_path_factory.mktemp("full") / "data"
    copy_store(corpus_data, data)
    return _build(data, CORPUS, LEGAL)


@pytest.fixture
def copy_data(tmp_path):
    """copy_data(src) -> a private copy of a built data dir, for tests that change it."""

    def copy(src: Path) -> Path:
        dst = tmp_path / f"copy-{len(os.listdir(tmp_path))}"
        copy_store(src, dst)
        return dst

    return copy
