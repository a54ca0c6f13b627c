"""Kill a real `ombuds ingest` process (SIGKILL) at each of its named pause points and at an
arbitrary moment: the store must hold the old or the new version of the changed document, never
a mix, and the index must open and answer from what the store holds."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, UN

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


def wait_for_pause(proc: subprocess.Popen, point: str) -> None:
    """Read the process's stderr until it announces the pause point (or give up)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def reader() -> None:
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
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
            return
        seen.append(line)


def kill(proc: subprocess.Popen) -> None:
    proc.kill()  # SIGKILL: no cleanup, no rollback by the process itself
    proc.wait(timeout=30)
    if proc.stderr:
        proc.stderr.close()


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
    # the derived index files now match the store, and open again without a rebuild
    again = Index.open(data)
    assert again.ids == index.ids
    store.close()
    return held


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_pause_point(point, corpus_data, copy_data, edited_corpus, versions):
    old, new = versions
    data = copy_data(corpus_data)
    proc = start_ingest(data, edited_corpus, point)
    try:
        wait_for_pause(proc, point)
    finally:
        kill(proc)
    held = check_consistent(data, old, new)
    if point in ("embedded", "in-transaction"):  # nothing was committed yet
        assert held == old
    else:  # "stored", "index-written": the transaction had committed
        assert held == new
    text = " ".join(p.text for p in Store(data).passages(UN_ID))
    assert ("cotton cultivation" in text) == (held == new)


@pytest.mark.parametrize("delay", [2.0, 9.0])
def test_kill_at_an_arbitrary_moment(delay, corpus_data, copy_data, edited_corpus, versions):
    old, new = versions
    data = copy_data(corpus_data)
    proc = start_ingest(data, edited_corpus, None)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        pass
    finally:
        kill(proc)
    check_consistent(data, old, new)


def test_ingest_after_kills_completes(corpus_data, copy_data, edited_corpus, versions):
    old, new = versions
    data = copy_data(corpus_data)
    for point in ("in-transaction", "index-written"):  # a rolled-back and a committed crash
        proc = start_ingest(data, edited_corpus, point)
        try:
            wait_for_pause(proc, point)
        finally:
            kill(proc)
    proc = start_ingest(data, edited_corpus, None)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert check_consistent(data, old, new) == new
    # the files of the killed run's unfinished index build were cleaned up
    folders = [p for p in (data / "index").iterdir() if p.is_dir()]
    assert len(folders) == 1
