"""The index follows the store: the app (a real `python -m app.web` process) and the search
batch stop returning a document once another process's removal has committed, and find one
another process ingested; removal deletes every copy ombuds made; the collection and its exports
mark what was removed. Unit tests: an incremental reload equals a fresh Index.open."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from conftest import ROOT, copy_store, running_app
from gradio_client import Client

from app import export, render, web
from app.cli import cli
from index.filters import Filters
from index.live import LiveIndex
from index.search import MODES, Index
from index.store import Store
from index.update import ingest_file, stored_document

FIDH_ID, UN_ID = "fidh-2018-kazakhstan", "un-a-hrc-27-53-add-2"
FIDH_CITE, UN_CITE = "FIDH 2018", "A/HRC/27/53/Add.2"
NO_FILTERS = ([], [], [], [], "", "")
QUERIES = ["passports taken by the employer", "labour inspection recommendations",
           "tobacco plantations child labour", "article 128 trafficking"]
NOTE = """# Field notes on the quokka kilns

## Wages at the kilns

The foreman at the Zhezkazgan kilns withheld the wages of seasonal brickmakers for three months
and called it the quokka arrangement. Workers could not leave before the season ended.
"""
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def cli_process(*args: str, **kw) -> subprocess.Popen:
    """`ombuds ARGS` in a process of its own, as someone at another terminal runs it."""
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=ENV,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def results(index: Index, query: str, mode: str, filters: Filters | None = None) -> list:
    return [(h.passage.passage_id, round(h.score, 5), h.citation)
            for h in index.search(query, k=10, mode=mode, filters=filters)]


# --- LiveIndex ---------------------------------------------------------------------------------


def assert_same_index(live: Index, fresh: Index) -> None:
    assert live.generation == fresh.generation
    assert live.ids == fresh.ids and list(live.docs) == list(fresh.docs)
    assert [list(c) for c in (live.col_doc, live.col_type, live.col_date_lo)] == \
        [list(c) for c in (fresh.col_doc, fresh.col_type, fresh.col_date_lo)]
    for q in QUERIES:
        for mode in MODES:
            assert results(live, q, mode) == results(fresh, q, mode), (q, mode)
        testimonies = Filters(passage_type=["testimony"], date_from="2017")
        assert results(live, q, "hybrid", testimonies) == results(fresh, q, "hybrid",
                                                                   testimonies)


def test_incremental_reload_equals_a_fresh_open(corpus_data, copy_data):
    data = copy_data(corpus_data)
    reloads = []
    live = LiveIndex(Index.open(data), on_reload=lambda old, new, info: reloads.append(info))
    first = live.current()
    assert live.current() is first and reloads == []  # nothing changed: no reload
    writer = Store(data)
    doc = stored_document(writer, FIDH_ID)
    passages, vectors = list(writer.passages(FIDH_ID)), writer.vectors(FIDH_ID)
    units = writer.unit_vectors(FIDH_ID)

    writer.remove(FIDH_ID)
    removed = live.current()
    assert reloads[-1].removed == [FIDH_ID] and reloads[-1].seconds < 5
    assert {p.doc_id for p in removed.passages} == {UN_ID}
    assert_same_index(removed, Index.open(data))

    writer.put(doc, passages, vectors, units)  # the same document back, as `ombuds ingest` would
    again = live.current()
    assert reloads[-1].added == [FIDH_ID]
    assert_same_index(again, Index.open(data))
    assert again.embedder is first.embedder  # the model stays loaded across reloads
    kept = again.passage_vectors()  # the UN passages' data came from the previous index
    assert all((kept[p.passage_id] == removed.passage_vectors()[p.passage_id]).all()
               for p in again.passages if p.doc_id == UN_ID)


def test_concurrent_callers_wait_for_one_reload(corpus_data, copy_data):
    data = copy_data(corpus_data)
    reloads = []
    live = LiveIndex(Index.open(data), on_reload=lambda old, new, info: reloads.append(info))
    Store(data).remove(UN_ID)
    got, start = [], threading.Barrier(8)

    def request() -> None:
        start.wait()
        got.append(live.current())

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reloads) == 1 and len({id(i) for i in got}) == 1
    assert UN_ID not in got[0].docs


# --- what a removal deletes --------------------------------------------------------------------


def test_remove_deletes_every_copy_but_never_a_users_own_file(corpus_data, copy_data, tmp_path):
    data = copy_data(corpus_data)
    store = Store(data)
    upload = web.save_upload(_write(tmp_path / "in" / "notes.md", NOTE), data / "uploads",
                             "field-notes.md")
    ingest_file(store, upload, None)
    staged = data / "web-cache" / "0a1b2c" / "Field notes.md"  # Gradio's copy of the upload
    _write(staged, NOTE)
    exported = _write(data / "web-cache" / "exports" / "tmpx" / "pack.md", "> quokka arrangement")
    mine = _write(tmp_path / "mine" / "own-notes.md", NOTE.replace("quokka", "wombat"))
    ingest_file(store, mine, None)
    Index.open(data)  # index files holding both
    stale = [p for p in (data / "index").iterdir() if p.is_dir()]

    result = CliRunner().invoke(cli, ["remove", "field-notes", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("removed field-notes: ")
    assert "deleted its uploaded file field-notes.md" in result.output
    assert not upload.exists() and not staged.exists() and not staged.parent.exists()
    assert not exported.exists()
    assert not any(p.exists() for p in stale)  # the index files built with it
    for path in [*data.glob("ombuds.sqlite3*"), *(data / "index").rglob("*")]:
        if path.is_file():  # no copy of its words left in the store or the index files
            assert b"quokka" not in path.read_bytes(), path
    assert "field-notes" not in Index.open(data).docs

    result = CliRunner().invoke(cli, ["remove", "own-notes", "--data-dir", str(data)])
    assert result.exit_code == 0 and "uploaded file" not in result.output
    assert mine.exists()  # ingested from elsewhere: the user's own file stays
    result = CliRunner().invoke(cli, ["remove", "own-notes", "--data-dir", str(data)])
    assert result.exit_code == 1 and "no document 'own-notes'" in result.output


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the collection and its exports ------------------------------------------------------------


def _item(pid: str, text: str, n: int | None = None) -> dict:
    return {"passage_id": pid, "n": n, "citation": f"R 2020, para. {pid}",
            "passage_type": "testimony", "text": text, "support": [text] if n else [],
            "attribution": "a witness, Osh, 2017", "footnotes": [{"number": "3",
                                                                  "text": "Interview, Osh."}],
            "source": {"doc_id": "r", "short_title": "R 2020", "title": "Report",
                       "publisher": "NGO", "date": "2020", "symbol": ""}}


def test_collection_and_exports_mark_removed_items(tmp_path):
    items = [{"kind": "passage", "question": "", "answer": "",
              "excerpts": [_item("1", "The witness named the farmer.")]},
             {"kind": "passage", "question": "", "answer": "",
              "excerpts": [_item("2", "Wages were paid in full.")]},
             {"kind": "answer", "question": "Who kept the passports?",
              "answer": "The witness named the farmer. [1]",
              "excerpts": [_item("1", "The witness named the farmer.", 1)]}]
    marked = export.withdraw(items, lambda pid: pid != "1")
    assert [it.get("removed", False) for it in marked] == [True, False, True]
    assert marked[1] == items[1]
    gone = json.dumps([marked[0], marked[2]])
    assert "named the farmer" not in gone and "a witness" not in gone and "Interview" not in gone
    assert export.label(marked[0]) == "R 2020, para. 1 (removed from the library)"

    html = render.collection_html(marked)
    assert html.count('class="ob-badge">removed from the library<') == 2
    assert "named the farmer" not in html and "Osh" not in html.split("<article")[1]
    assert "Question: Who kept the passports?" in html and "Wages were paid in full." in html

    md = export.to_markdown(marked, "Pack")
    assert "Exported from ombuds on" in md and ": 1 item(s)." in md
    assert "2 items left out: removed from the library since collected." in md
    assert "named the farmer" not in md and "## 1. R 2020, para. 2" in md
    paragraphs = [p.text for p in docx.Document(str(export.to_docx(
        marked, tmp_path / "pack.docx", "Pack"))).paragraphs]
    assert "2 items left out: removed from the library since collected." in paragraphs
    assert not any("named the farmer" in p for p in paragraphs)


# --- real processes: the app, `ombuds remove`, `ombuds ingest`, a search batch ----------------


@pytest.fixture(scope="module")
def served(corpus_data, tmp_path_factory):
    """`python -m app.web` on a private copy of the two reports; yields (url, data dir)."""
    data = tmp_path_factory.mktemp("live") / "data"
    copy_store(corpus_data, data)
    log = tmp_path_factory.mktemp("live-log") / "server.log"
    with running_app(data, log, ENV) as url:
        yield url, data, log


def search(client: Client, query: str, doc: list[str] | None = None) -> str:
    html, _, _ = client.predict(query, "hybrid", 10, doc or [], *NO_FILTERS[1:],
                                api_name="/search")
    return html


def test_removal_by_another_process_is_seen_by_the_next_request(served):
    url, data, log = served
    client = Client(url, verbose=False)
    query = "passports confiscated by employers in Kazakhstan"
    assert FIDH_CITE in search(client, query)
    _, pick, _ = client.predict(query, "hybrid", 5, [FIDH_ID], *NO_FILTERS[1:],
                                api_name="/search")
    items = client.predict(pick["choices"][0][1], [], api_name="/add_search_passage")
    text = items[0]["excerpts"][0]["text"]

    remover = cli_process("remove", FIDH_ID, "--data-dir", str(data))
    out, err = remover.communicate(timeout=120)
    committed = time.perf_counter()  # the removing process has exited: its commit is done
    assert remover.returncode == 0, err
    t0 = time.perf_counter()
    html = search(client, query)
    first = time.perf_counter() - t0
    assert t0 > committed and FIDH_CITE not in html and UN_CITE in html
    print(f"\nfirst search after the removal (with the reload): {first * 1000:.0f} ms")
    assert "removed fidh-2018-kazakhstan" in log.read_text()
    for api, args in (("/testimonies", ("passport", "", [], "", "")),
                      ("/provisions", (query, "any", 5))):
        result = client.predict(*args, api_name=api)
        assert FIDH_CITE not in (result[0] if isinstance(result, tuple | list) else result)
    html, _ = client.predict("Do employers confiscate the passports of migrant workers?",
                             *NO_FILTERS, api_name="/ask")
    assert FIDH_CITE not in html

    # the collection: the removed passage is marked, and the browser keeps no copy of its text
    items, view, _ = client.predict(items, api_name="/show_collection")
    assert items[0]["removed"] and "removed from the library" in view
    assert text not in json.dumps(items) and text not in view
    md = Path(client.predict(items, "Pack", api_name="/export_markdown")).read_text()
    assert "1 item left out" in md and text not in md


def test_a_document_ingested_by_another_process_is_found(served, tmp_path):
    url, data, _ = served
    client = Client(url, verbose=False)
    assert "Zhezkazgan" not in search(client, "quokka arrangement brickmakers")
    note = _write(tmp_path / "quokka-notes.md", NOTE)
    ingester = cli_process("ingest", "-q", "--data-dir", str(data), str(note))
    _, err = ingester.communicate(timeout=300)
    assert ingester.returncode == 0, err
    html = search(client, "quokka arrangement brickmakers")
    assert "Zhezkazgan" in html.split('<article class="ob-card"')[1]  # the first hit


def test_parallel_requests_during_a_removal(served):
    """20 requests in flight while `ombuds remove` runs: none fails, and none that started
    after the removal committed returns a passage of the removed document."""
    url, data, _ = served
    client = Client(url, verbose=False)
    query = "Special Rapporteur recommendations labour inspection Kazakhstan"
    assert UN_CITE in search(client, query)
    remover = cli_process("remove", UN_ID, "--data-dir", str(data))
    said: list[float] = []

    def watch() -> None:  # the line is printed right after the commit, before index files
        for line in remover.stdout:
            if line.startswith(f"removed {UN_ID}"):
                said.append(time.perf_counter())

    watcher = threading.Thread(target=watch)
    watcher.start()
    jobs = []
    for i in range(20):
        if i == 10:  # half before the commit, half once it is known to be done
            while not said and remover.poll() is None:
                time.sleep(0.02)
        asked = (query, "hybrid", 10, *NO_FILTERS) if i % 4 else (query, *NO_FILTERS)
        jobs.append((time.perf_counter(), i % 4 != 0, client.submit(
            *asked, api_name="/search" if i % 4 else "/ask")))
        time.sleep(0.1 if i < 10 else 0)
    remover.wait(timeout=120)
    watcher.join(timeout=10)
    exited = time.perf_counter()
    assert remover.returncode == 0 and said, remover.stderr.read()
    after = 0
    for started, _is_search, job in jobs:
        html = job.result(timeout=120)[0]  # raises on any error in the app
        assert "ob-card" in html or "does not answer" in html or "No passage" in html
        if started > said[0]:
            after += 1
            assert UN_CITE not in html, "a removed passage served after the commit"
    assert after >= 10
    assert UN_CITE not in search(client, query) and exited > said[0]


def test_a_search_batch_follows_the_store(corpus_data, copy_data):
    data = copy_data(corpus_data)
    batch = cli_process("search", "--queries", "-", "--json", "-k", "20", "--data-dir",
                        str(data), stdin=subprocess.PIPE)
    try:
        query = "tobacco plantations child labour\n"
        batch.stdin.write(query)
        batch.stdin.flush()
        before = json.loads(batch.stdout.readline())
        assert any(h["doc_id"] == FIDH_ID for h in before["hits"])
        Store(data).remove(FIDH_ID)  # another process's removal, between two queries
        batch.stdin.write(query)
        batch.stdin.flush()
        after = json.loads(batch.stdout.readline())
        assert after["hits"] and all(h["doc_id"] == UN_ID for h in after["hits"])
        batch.stdin.close()
        batch.wait(timeout=60)
        err = batch.stderr.read()
        assert batch.returncode == 0, err
        assert re.search(r"note: the library changed \(generation \d+\): removed "
                         r"fidh-2018-kazakhstan; index reloaded in [\d.]+ s", err)
    finally:
        batch.kill()
