"""Kill a real `ombuds ingest` process (SIGKILL) at each of its named pause points and at an
arbitrary moment: the store must hold the old or the new version of the changed document, never
a mix, and the index must open and answer from what the store holds."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, ROOT, UN

from app.cli import cli
from index.search import Index
from index.store import Store
from ingest.pipeline import load

UN_ID = "un-a-hrc-27-53-add-2"
POINTS = ["embedded", "in-transaction", "stored", "index-written"]
QUERY = "tobacco plantations child labour"
PAUSE_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def edited_corpus(tmp_path_factory) -> Path:
    """The shipped corpus with one UN paragraph changed ("tobacco" -> "cotton")."""
    folder = tmp_path_factory.mktemp("edited") / "corpus"
    shutil.copytree(CORPUS, folder)
    un = folder / UN.name
    text = un.read_text(encoding="utf-8")
    old = "a common practice in tobacco cultivation"
    assert text.count(old) == 1
    un.write_text(text.replace(old, "a common practice in cotton cultivation"), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def versions(corpus_data, edited_corpus) -> tuple[frozenset[str], frozenset[str]]:
    old = frozenset(p.passage_id for p in Store(corpus_data).passages(UN_ID))
    _, passages = load(edited_corpus / UN.name)
    new = frozenset(p.passage_id for p in passages)
    assert old != new and len(new - old) == 1  # one passage changed, to be embedded
    return old, new


def start_ingest(data: Path, folder: Path, pause_at: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "OMBUDS_PAUSE_AT"}
    if pause_at:
        env["OMBUDS_PAUSE_AT"] = pause_at
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest", "-q", "--data-dir", str(data), str(folder)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def wait_for_pause(proc: subprocess.Popen, point: str) -> threading.Thread:
    """Read the process's stderr until it announces the pause point (or give up); returns the
    reading thread, which ends when the process does."""
    lines: queue.Queue[str | None] = queue.Queue()

    def reader() -> None:
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + PAUSE_TIMEOUT_S
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no 'PAUSED at {point}' within {PAUSE_TIMEOUT_S} s: {seen[-5:]}")
        if line is None:
            pytest.fail(f"ingest ended (rc={proc.wait()}) before {point}: {''.join(seen[-20:])}")
        if line.strip() == f"PAUSED at {point}":
            return thread
        seen.append(line)


def kill(proc: subprocess.Popen, reader: threading.Thread | None = None) -> None:
    proc.kill()  # SIGKILL: no cleanup, no rollback by the process itself
    proc.wait(timeout=30)
    if reader is not None:
        reader.join(timeout=30)
    proc.stderr.close()


def kill_at(data: Path, folder: Path, point: str) -> float:
    """Kill an ingest paused at a point; returns the seconds it took to get there."""
    start = time.monotonic()
    proc = start_ingest(data, folder, point)
    reader = None
    try:
        reader = wait_for_pause(proc, point)
        return time.monotonic() - start
    finally:
        kill(proc, reader)


def check_consistent(data: Path, old: frozenset[str], new: frozenset[str]) -> frozenset[str]:
    """The index opens over a store holding one whole version; returns the version's ids."""
    store = Store(data)
    held = frozenset(p.passage_id for p in store.passages(UN_ID))
    assert held in (old, new), (
        f"mixed UN passages: {len(held & old)} old, {len(held & new)} new of {len(held)}")
    all_ids = {p.passage_id for p in store.passages()}
    assert store.vectors_count() == len(all_ids)  # every passage has its embedding, no orphans
    doc = store.document(UN_ID)
    assert doc is not None and doc["n_passages"] == len(held)

    index = Index.open(data)
    assert index.ids == [p.passage_id for p in store.passages()]
    hits = index.search(QUERY, k=5)
    assert hits
    for h in hits:
        assert h.passage.passage_id in all_ids
        assert store.passage(h.passage.passage_id) is not None
    un_hits = index.search(QUERY, k=50, filters=None)
    assert all(h.passage.passage_id in held for h in un_hits if h.passage.doc_id == UN_ID)
    # the index files were brought up to date: CURRENT names the store's generation and the
    # only folder left, so a killed build's half-written folder is gone
    current = json.loads((data / "index" / "CURRENT").read_text())
    assert current["generation"] == store.generation and current["ids"] == len(all_ids)
    assert [p.name for p in (data / "index").iterdir() if p.is_dir()] == [current["dir"]]
    store.close()
    return held


def ingest_in_process(data: Path, folder: Path) -> str:
    result = CliRunner().invoke(cli, ["ingest", "-q", "--data-dir", str(data), str(folder)])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_pause_point(point, corpus_data, copy_data, edited_corpus, versions):
    old, new = versions
    data = copy_data(corpus_data)
    kill_at(data, edited_corpus, point)
    held = check_consistent(data, old, new)
    if point in ("embedded", "in-transaction"):  # nothing was committed yet
        assert held == old
    else:  # "stored", "index-written": the transaction had committed
        assert held == new
    text = " ".join(p.text for p in Store(data).passages(UN_ID))
    assert ("cotton cultivation" in text) == (held == new)
    # ingesting again finishes the job: the new version, embedding only what is missing
    out = ingest_in_process(data, edited_corpus)
    if held == old:
        assert f"1 document(s) ingested ({len(new)} passages, 1 embedded), 1 unchanged" in out
    else:
        assert "0 document(s) ingested (0 passages, 0 embedded), 2 unchanged" in out
    assert check_consistent(data, old, new) == new


def kill_after(data: Path, folder: Path, delay: float) -> None:
    proc = start_ingest(data, folder, None)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        pass
    finally:
        kill(proc)


# moments as parts of the time a run takes here to reach its commit (about 1.5 s with the int8
# embedder on 2 cores, 7 s with torch): during start-up, and around parsing and embedding
@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_kill_at_an_arbitrary_moment(fraction, corpus_data, copy_data, edited_corpus, versions):
    old, new = versions
    to_stored = kill_at(copy_data(corpus_data), edited_corpus, "stored")
    data = copy_data(corpus_data)
    kill_after(data, edited_corpus, fraction * to_stored)
    check_consistent(data, old, new)


def test_real_ingest_after_kills_completes(corpus_data, copy_data, edited_corpus, versions):
    """Crashes before the commit, one after another, then a normal run of the real command."""
    old, new = versions
    data = copy_data(corpus_data)
    generation = Store(data).generation
    to_embedded = kill_at(data, edited_corpus, "embedded")
    kill_at(data, edited_corpus, "in-transaction")
    # an arbitrary moment before the commit: part of the way to where the first run had embedded
    # (a fixed delay is not: a whole run can finish in about a second, and a run that committed
    # would leave nothing for the next kill to interrupt)
    kill_after(data, edited_corpus, 0.7 * to_embedded)
    kill_at(data, edited_corpus, "index-written")  # committed, index files left half-built
    assert Store(data).generation == generation + 1  # only the last one committed
    proc = start_ingest(data, edited_corpus, None)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert check_consistent(data, old, new) == new
