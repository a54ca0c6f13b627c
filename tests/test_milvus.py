"""The Milvus backend against Milvus Lite (a local file, and its engine served over TCP as a
server is): migrating the corpus store, the same answers as the embedded backend, a real ingest
killed at each pause point, several processes on one Milvus, and one clear line for a Milvus
that cannot be used."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason="the milvus extra is not installed: "
                    "pip install 'ombuds[milvus]'")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed: "
                    "pip install 'ombuds[milvus]'")

from click.testing import CliRunner  # noqa: E402
from conftest import CORPUS, ROOT, UN  # noqa: E402
from test_crash import QUERY, UN_ID, kill, wait_for_pause  # noqa: E402
from test_russian import SAMPLE_CODE  # noqa: E402

from app.cli import cli  # noqa: E402
from eval.run import load_questions  # noqa: E402
from index.embed import DEFAULT_MODEL  # noqa: E402
from index.filters import Filters  # noqa: E402
from index.live import LiveIndex  # noqa: E402
from index.milvus import PASSAGES, TEXTS, UNITS, WINDOWS, MilvusStore  # noqa: E402
from index.milvus_index import MilvusIndex  # noqa: E402
from index.search import Index  # noqa: E402
from index.store import Store  # noqa: E402
from index.update import stored_document  # noqa: E402
from ingest.pipeline import load  # noqa: E402

# before the rows, after the first batch, before the documents row, after it, after the write;
# the three around the documents row are Milvus' own, the outer two slow (as embedded)
PAUSES = [pytest.param("embedded", marks=pytest.mark.slow), "milvus-rows", "in-transaction",
          "milvus-visible", pytest.param("stored", marks=pytest.mark.slow)]
COMMITTED = {"milvus-visible", "stored"}  # the documents row naming the new version is written


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def same(a, b) -> bool:
    """Equal JSON, floats within 1e-4 (Milvus computes in float32, sums in its own order)."""
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-4, abs=1e-4)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def copy_lite(src: Path, dst: Path) -> None:
    """Copy a closed Milvus Lite store: one SQLite file (its lock file beside it stays)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, corpus_data) -> Path:
    """The corpus store migrated into Milvus Lite once, kept unopened for copies."""
    uri = tmp_path_factory.mktemp("milvus") / "corpus.db"
    result = run("migrate", "--to", str(uri), "--data-dir", str(corpus_data))
    assert result.exit_code == 0, result.output
    assert "2 document(s) copied (267 passages), 0 unchanged" in result.output
    return uri


@pytest.fixture
def lite(pristine, tmp_path) -> Path:
    """A private copy of the migrated Milvus Lite file."""
    uri = tmp_path / "milvus" / "corpus.db"
    copy_lite(pristine, uri)
    return uri


@pytest.fixture(scope="module")
def both(pristine, corpus_data, tmp_path_factory):
    """The embedded index and the Milvus one over the same passages."""
    uri = tmp_path_factory.mktemp("read") / "corpus.db"
    copy_lite(pristine, uri)
    milvus = MilvusIndex.open(str(uri), data_dir=corpus_data)
    yield Index.open(corpus_data), milvus
    milvus.store.close()


def test_migrate_copies_documents_passages_and_vectors(corpus_data, lite):
    store, copy = Store(corpus_data), MilvusStore(str(lite), data_dir=corpus_data)
    try:
        assert copy.documents() == store.documents()
        assert [p.to_dict() for p in copy.passages()] == [p.to_dict() for p in store.passages()]
        assert copy.document(UN_ID) == store.document(UN_ID)
        assert copy.counts_by_type() == store.counts_by_type()
        ours, theirs = store.vectors(UN_ID), copy.vectors(UN_ID)
        assert ours.keys() == theirs.keys()
        assert all(ours[p].shape == theirs[p].shape and (ours[p] == theirs[p]).all()
                   for p in ours)
        units, copied = store.unit_vectors(UN_ID), copy.unit_vectors(UN_ID)
        assert {p: u.units for p, u in units.items()} == {p: u.units for p, u in copied.items()}
        assert all((units[p].vectors == copied[p].vectors).all() for p in units)
    finally:
        copy.close()
    again = run("migrate", "--to", str(lite), "--data-dir", str(corpus_data))
    assert again.exit_code == 0, again.output
    assert "0 document(s) copied (0 passages), 2 unchanged" in again.output


@pytest.mark.parametrize("sample", [pytest.param(None, marks=pytest.mark.slow), 40])
def test_same_top5_for_the_eval_questions(both, sample):
    """Every dev question (slow), or the first 40 in the default run."""
    embedded, milvus = both
    questions = [q["question"] for q in load_questions() if q.get("split") == "dev"][:sample]
    same = sum([h.passage.passage_id for h in embedded.search(q, k=5)]
               == [h.passage.passage_id for h in milvus.search(q, k=5)] for q in questions)
    assert same >= 0.9 * len(questions), f"{same} of {len(questions)} have the same top 5"


def test_a_long_query_pools_its_windows_as_embedded(both):
    embedded, milvus = both
    query = ("Migrant workers picked tobacco on a farm near Almaty and the farmer kept their "
             "passports until the harvest ended. ") * 12 + (
        "Children of school age were working in the fields instead of attending school. ") * 6
    assert len(embedded.query_vectors(query)) == len(milvus.query_vectors(query)) == 3
    for mode in ("dense", "hybrid"):
        ours = [h.passage.passage_id for h in embedded.search(query, k=5, mode=mode)]
        theirs = [h.passage.passage_id for h in milvus.search(query, k=5, mode=mode)]
        assert len(set(ours) & set(theirs)) >= 4, mode


@pytest.mark.parametrize("filters", [
    Filters(doc=["fidh-2018-kazakhstan"]),
    Filters(kind=["report"], passage_type=["testimony"]),
    Filters(jurisdiction=["KZ"], passage_type=["recommendation", "narrative"]),
    Filters(date_from="2017-11", date_to="2018"),
    Filters(date_to="2014"),
    Filters(doc=["un-a-hrc-27-53-add-2"], kind=["treaty"]),  # nothing matches
])
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_filters_run_inside_milvus_with_the_same_results(both, filters, mode):
    embedded, milvus = both
    for query in (QUERY, "they took our passports", "registration within five days"):
        ours = embedded.search(query, k=10, mode=mode, filters=filters)
        theirs = milvus.search(query, k=10, mode=mode, filters=filters)
        assert [h.passage.passage_id for h in theirs] == [h.passage.passage_id for h in ours]
        # Milvus computes in float32
        assert [h.score for h in theirs] == pytest.approx([h.score for h in ours], rel=1e-4)


def test_cli_search_and_ask_json_are_the_same(corpus_data, lite):
    milvus = ("--backend", "milvus", "--milvus-uri", str(lite))
    for args in (["search", "they took our passports", "-k", "5", "--json"],
                 ["search", "child labour", "--type", "recommendation", "--json"],
                 ["ask", "Do employers take migrants' passports away?", "--json"],
                 ["ask", "What is the penalty for tax evasion in Uzbekistan?", "--json"]):
        ours = run(*args, "--data-dir", str(corpus_data))
        theirs = run(*args, "--data-dir", str(corpus_data), *milvus)
        assert ours.exit_code == 0 and theirs.exit_code == 0, theirs.output
        assert same(json.loads(theirs.stdout), json.loads(ours.stdout)), args
    docs = run("documents", "--json", "--data-dir", str(corpus_data), *milvus)
    assert docs.stdout == run("documents", "--json", "--data-dir", str(corpus_data)).stdout


@pytest.mark.slow  # migrates the full corpus (1,400 passages): about 25 s
def test_provisions_are_the_same(full_data, tmp_path):
    uri = str(tmp_path / "full.db")
    result = run("migrate", "--to", uri, "--data-dir", str(full_data))
    assert result.exit_code == 0, result.output
    milvus = ("--backend", "milvus", "--milvus-uri", uri)
    for args in (["provisions", "the farmer kept the passports of tobacco pickers", "--json"],
                 ["provisions", "a 14-year-old works in the fields", "--jurisdiction", "KZ",
                  "--json"],
                 ["article", "ICCPR", "8", "--json"]):
        ours = run(*args, "--data-dir", str(full_data))
        theirs = run(*args, "--data-dir", str(full_data), *milvus)
        assert ours.exit_code == 0 and theirs.exit_code == 0, theirs.output
        assert same(json.loads(theirs.stdout), json.loads(ours.stdout)), args


# --- a real ingest killed ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def edited(tmp_path_factory) -> Path:
    """The corpus with one UN paragraph changed ("tobacco" -> "cotton")."""
    folder = tmp_path_factory.mktemp("edited") / "corpus"
    shutil.copytree(CORPUS, folder)
    un = folder / UN.name
    text = un.read_text(encoding="utf-8")
    un.write_text(text.replace("a common practice in tobacco cultivation",
                               "a common practice in cotton cultivation"), encoding="utf-8")
    return folder


def ingest(data: Path, uri: Path, folder: Path, pause_at: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "OMBUDS_PAUSE_AT"}
    if pause_at:
        env["OMBUDS_PAUSE_AT"] = pause_at
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest", "-q", "--data-dir", str(data),
         "--backend", "milvus", "--milvus-uri", str(uri), str(folder)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def held(data: Path, uri: Path, old: frozenset, new: frozenset) -> frozenset:
    """What Milvus shows of the UN report: one whole version, with its vectors, units and
    document row; the index opens and searches within it."""
    index = MilvusIndex.open(str(uri), data_dir=data)
    store = index.store
    try:
        ids = frozenset(p.passage_id for p in store.passages(UN_ID))
        assert ids in (old, new), f"mixed: {len(ids & old)} old, {len(ids & new)} new"
        assert store.vectors(UN_ID).keys() == ids
        assert store.unit_vectors(UN_ID).keys() == ids
        assert store.document(UN_ID)["n_passages"] == len(ids)
        assert ("cotton cultivation" in store.document(UN_ID)["text"]) == (ids == new)
        hits = index.search(QUERY, k=50)
        assert hits and all(h.passage.passage_id in ids for h in hits
                            if h.passage.doc_id == UN_ID)
        return ids
    finally:
        store.close()


@pytest.fixture(scope="module")
def versions(corpus_data, edited) -> tuple[frozenset, frozenset]:
    old = frozenset(p.passage_id for p in Store(corpus_data).passages(UN_ID))
    new = frozenset(p.passage_id for p in load(edited / UN.name)[1])
    assert len(new - old) == 1
    return old, new


@pytest.mark.parametrize("point", PAUSES)
def test_killed_ingest_leaves_one_whole_version(point, corpus_data, copy_data, lite, edited,
                                                versions):
    old, new = versions
    data = copy_data(corpus_data)
    proc = ingest(data, lite, edited, point)
    reader = None
    try:
        reader = wait_for_pause(proc, point)
    finally:
        kill(proc, reader)
        proc.stdout.close()
    assert held(data, lite, old, new) == (new if point in COMMITTED else old)
    # a normal run finishes the job, embedding only the changed passage
    proc = ingest(data, lite, edited, None)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    if point in COMMITTED:
        assert "0 document(s) ingested (0 passages, 0 embedded), 2 unchanged" in out
    else:
        assert f"1 document(s) ingested ({len(new)} passages, 1 embedded), 1 unchanged" in out
    assert held(data, lite, old, new) == new


def test_a_new_version_deletes_the_old_rows(corpus_data, lite, edited):
    result = run("ingest", "-q", "--data-dir", str(corpus_data), "--backend", "milvus",
                 "--milvus-uri", str(lite), str(edited))
    assert result.exit_code == 0, result.output
    store = MilvusStore(str(lite), data_dir=corpus_data)
    try:
        version = store._rows()[UN_ID]["version"]
        for name in (PASSAGES, UNITS):
            stale = list(store._query(name, f'doc_id == "{UN_ID}" and version != {version}',
                                      ["key"]))
            assert stale == [], name
    finally:
        store.close()
    index_files = sorted((corpus_data / "index").rglob("*"))
    removed = run("remove", UN_ID, "--data-dir", str(corpus_data), "--backend", "milvus",
                  "--milvus-uri", str(lite))
    assert removed.exit_code == 0, removed.output
    assert removed.output.startswith(f"removed {UN_ID}: 34 passages with their embeddings")
    # the embedded index files in the same data dir are the embedded store's, not touched
    assert sorted((corpus_data / "index").rglob("*")) == index_files
    store = MilvusStore(str(lite), data_dir=corpus_data)
    try:
        assert [d["doc_id"] for d in store.documents()] == ["fidh-2018-kazakhstan"]
        for name in (PASSAGES, WINDOWS, UNITS, TEXTS):
            assert list(store._query(name, f'doc_id == "{UN_ID}"', ["key"])) == [], name
    finally:
        store.close()
    again = run("remove", UN_ID, "--data-dir", str(corpus_data), "--backend", "milvus",
                "--milvus-uri", str(lite))
    assert again.exit_code == 1 and f"no document '{UN_ID}' in {lite.resolve()}" in again.output


# --- following the store: LiveIndex on Milvus ----------------------------------------------------


def test_live_index_follows_the_milvus_generation(corpus_data, lite):
    """A removal and a put through another connection bump the generation (a reserved row of
    the documents collection); LiveIndex reloads incrementally and equals a fresh open. Its
    searches run at the Eventually level on Milvus Lite, and still see the other connection's
    write at once (Lite applies a write before it returns)."""
    index = MilvusIndex.open(str(lite), data_dir=corpus_data)
    live = LiveIndex(index)
    assert live.current() is index and index.generation == live.generation()
    writer = MilvusStore(str(lite), data_dir=corpus_data)
    try:
        doc = stored_document(writer, UN_ID)
        passages = list(writer.passages(UN_ID))
        vectors, units = writer.vectors(UN_ID), writer.unit_vectors(UN_ID)
        assert writer.remove(UN_ID)["n_passages"] == len(passages)
        after_removal = live.current()
        assert after_removal is not index and UN_ID not in after_removal.docs
        assert all(h.passage.doc_id != UN_ID for h in after_removal.search(QUERY, k=20))
        assert live.current() is after_removal  # nothing changed since: no reload
        writer.put(doc, passages, vectors, units)
    finally:
        writer.close()
    back = live.current()
    assert back is not after_removal and UN_ID in back.docs
    assert back.store.search_consistency == "Eventually"
    fresh = MilvusIndex.open(str(lite), data_dir=corpus_data)
    try:
        assert back.ids == fresh.ids and back.generation == fresh.generation
        ours = [(h.passage.passage_id, h.score) for h in back.search(QUERY, k=10)]
        assert ours == [(h.passage.passage_id, h.score) for h in fresh.search(QUERY, k=10)]
        assert any(h.passage.doc_id == UN_ID for h in back.search(QUERY, k=10))
    finally:
        fresh.store.close()


# --- Russian -------------------------------------------------------------------------------------


def test_russian_bm25_and_language_filter_as_embedded(corpus_data, copy_data, lite, tmp_path):
    """Milvus' BM25 field holds index/lexical.tokenize's terms, so Russian is stemmed with the
    Russian stemmer as in the embedded index: the same hits in the same order, the language
    filter too, and a Cyrillic query runs on BM25 alone on both. (Scores differ a little:
    Milvus Lite keeps BM25 statistics per segment, and the new document is a segment of its
    own; README: Backends.)"""
    sample = tmp_path / "kz-sample-migrant-law.txt"
    sample.write_text(SAMPLE_CODE, encoding="utf-8")
    data = copy_data(corpus_data)
    milvus = ("--backend", "milvus", "--milvus-uri", str(lite))
    for backend in ((), milvus):
        result = run("ingest", "-q", "--data-dir", str(data), str(sample), *backend)
        assert result.exit_code == 0, result.output
    for args in (["search", "изъятие паспортов", "--mode", "bm25", "--json"],
                 ["search", "трудовым договором", "--json"],
                 ["search", "passport", "--language", "ru", "--json"],
                 ["search", "passport", "--language", "en", "-k", "5", "--json"]):
        ours = run(*args, "--data-dir", str(data))
        theirs = run(*args, "--data-dir", str(data), *milvus)
        assert ours.exit_code == 0 and theirs.exit_code == 0, theirs.output
        ours, theirs = json.loads(ours.stdout), json.loads(theirs.stdout)
        assert ours["hits"] and ours["note"] == theirs["note"], args
        assert [h["passage_id"] for h in theirs["hits"]] == [h["passage_id"]
                                                            for h in ours["hits"]], args


# --- a Milvus that cannot be used --------------------------------------------------------------


def test_unreachable_milvus_is_one_line(corpus_data):
    from conftest import free_port

    uri = f"http://127.0.0.1:{free_port()}"
    for args in (["search", "passports"], ["ingest", str(CORPUS)]):
        result = run(*args, "--data-dir", str(corpus_data), "--backend", "milvus",
                     "--milvus-uri", uri)
        assert result.exit_code == 1
        line, = result.output.strip().splitlines()
        assert line.startswith(f"Error: cannot reach Milvus at {uri}: ")
    result = run("migrate", "--to", uri, "--data-dir", str(corpus_data))
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1


def test_lite_waits_for_its_server_to_start_a_server_uri_does_not(tmp_path, monkeypatch):
    """Milvus Lite starts its own server process, which a cold disk can keep from answering
    for several seconds (CI once timed out at 5 s); a server that does not answer at once is
    not there."""
    import pymilvus

    from index import milvus

    asked = []

    class Client:
        def __init__(self, uri, token, timeout):
            asked.append((uri, timeout))

        def list_collections(self):
            return []

    monkeypatch.setattr(pymilvus, "MilvusClient", Client)
    monkeypatch.setattr(milvus, "_lite_users", {})  # no store is really opened
    milvus.connect(str(tmp_path / "lite.db"))
    milvus.connect("http://127.0.0.1:19530")
    assert asked == [(str((tmp_path / "lite.db").resolve()), milvus.LITE_START_TIMEOUT_S),
                     ("http://127.0.0.1:19530", milvus.CONNECT_TIMEOUT_S)]
    assert milvus.LITE_START_TIMEOUT_S >= 30 > milvus.CONNECT_TIMEOUT_S


def test_another_model_or_schema_is_refused_and_nothing_written(corpus_data, lite, tmp_path):
    def written() -> bytes:
        return lite.read_bytes()  # a Milvus Lite store is one SQLite file

    before = written()
    milvus = ("--data-dir", str(corpus_data), "--backend", "milvus", "--milvus-uri", str(lite))
    result = run("ingest", str(CORPUS), "--model", "other-model", *milvus)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: the Milvus store at {lite.resolve()} holds vectors of the model "
        f"'{DEFAULT_MODEL}@onnx-int8', not 'other-model@onnx-int8'; use --model "
        f"{DEFAULT_MODEL}@onnx-int8, or migrate or ingest into another --milvus-uri")
    assert run("search", "passports", "--model", "other-model", *milvus).exit_code == 1
    assert written() == before

    from pymilvus import DataType, MilvusClient

    other = tmp_path / "other.db"
    client = MilvusClient(str(other))
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection(PASSAGES, schema=schema)
    client.close()
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(other))
    result = run("migrate", "--to", str(other), "--data-dir", str(corpus_data))
    assert result.exit_code == 1
    line, = result.output.strip().splitlines()
    assert line.startswith(f"Error: the collection {PASSAGES} at {other.resolve()} has another "
                           "schema")


def test_ingest_shards_split_the_files(corpus_data, lite):
    """Two shards together take every file once (here all unchanged, so nothing is embedded)."""
    unchanged = []
    for shard in ("1/2", "2/2"):
        result = run("ingest", "-q", str(CORPUS), "--shard", shard, "--data-dir",
                     str(corpus_data), "--backend", "milvus", "--milvus-uri", str(lite))
        assert result.exit_code == 0, result.output
        unchanged.append(int(result.output.split(" unchanged")[0].rsplit(" ", 1)[1]))
    assert sum(unchanged) == 2


# --- many processes, one Milvus ------------------------------------------------------------------

READER = """
import json, sys
from pathlib import Path
from index.live import LiveIndex
from index.milvus_index import MilvusIndex
live = LiveIndex(MilvusIndex.open(sys.argv[1], data_dir=Path(sys.argv[2])))
def show():
    index = live.current()
    hits = index.search(sys.argv[3], k=10)
    print(json.dumps({"docs": sorted(index.docs), "hits": [h.passage.passage_id for h in hits],
                      "consistency": index.store.search_consistency}), flush=True)
show()
sys.stdin.readline()  # the test has changed the collection from another process
show()
"""


@pytest.fixture
def served(pristine, tmp_path):
    """The migrated store served over TCP by Milvus Lite's engine, as a Milvus server serves
    one: every process connects to http://127.0.0.1:PORT, none opens the file."""
    import socket
    import time

    from milvus_lite.server import Server

    db = tmp_path / "served.db"
    copy_lite(pristine, db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Server(str(db), address=f"127.0.0.1:{port}")
    assert server.init() and server.start(), "Milvus Lite's engine did not start"
    uri = f"http://127.0.0.1:{port}"
    for _ in range(50):  # the engine listens within a second or two
        try:
            MilvusStore(uri).close()
            break
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.2)
    yield uri
    server.stop()


def test_two_serving_processes_share_one_milvus_and_follow_a_removal(corpus_data, served,
                                                                      tmp_path):
    """Two reader processes (as two `ombuds serve` would) open the same Milvus over its URI at
    once and give the embedded index's top 10; a removal run by a third process (`ombuds
    remove`) is seen by both at their next request, through the store's generation."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    data = tmp_path / "app-data"  # each server's own data dir (uploads, exports), not the store
    data.mkdir()
    readers = [subprocess.Popen([sys.executable, "-c", READER, served, str(data), QUERY],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                cwd=ROOT, env=env) for _ in range(2)]
    try:
        first = [json.loads(r.stdout.readline()) for r in readers]
        embedded = [h.passage.passage_id for h in Index.open(corpus_data).search(QUERY, k=10)]
        assert all(f["hits"] == embedded and UN_ID in f["docs"] for f in first)
        assert all(f["consistency"] == "Strong" for f in first)  # a server: Strong reads
        removed = subprocess.run([sys.executable, "-m", "app.cli", "remove", UN_ID, "--backend",
                                  "milvus", "--milvus-uri", served, "--data-dir",
                                  str(data)], capture_output=True, text=True, cwd=ROOT,
                                 env=env, timeout=120)
        assert removed.returncode == 0, removed.stderr
        after = []
        for r in readers:
            r.stdin.write("\n")
            r.stdin.flush()
            after.append(json.loads(r.stdout.readline()))
        assert all(UN_ID not in a["docs"] for a in after)
        assert after[0]["hits"] == after[1]["hits"] != embedded
    finally:
        for r in readers:
            r.kill()
            r.wait()


def test_synthetic_benchmark_on_milvus_lite_measures_a_small_collection(corpus_data):
    """`ombuds bench --milvus D --sizes N`'s Milvus side: N generated passages with windows and
    units at the corpus's ratios, searched as MilvusIndex searches; the numbers are real."""
    from eval.bench import render_milvus
    from eval.bench_scale import synthetic_milvus

    out = synthetic_milvus(300, corpus_data, [QUERY, "wages withheld by the employer"])
    assert out["passages"] == 300 and out["windows"] >= 300 and out["units"] > 300
    assert out["insert_passages_per_s"] > 0 and out["engine_rss_mb"] > 0
    assert all(0 < out[mode][0] <= out[mode][1] for mode in ("bm25", "dense", "hybrid"))
    embedded = {"n": 300, "vector_build_s": 0.1, "unit_build_s": 0.1, "lexical_build_s": 0.1,
                "rss_mb": 1.0, **{m: out[m] for m in ("bm25", "dense", "hybrid")}}
    text = render_milvus({"date": "d", "machine": "m", "passages": 1, "queries": 1,
                          "migrate": {"passages_per_s": 1, "passages": 1, "seconds": 1,
                                      "unchanged_s": 0}, "embedded": out, "milvus": out,
                          "same_top5": 1.0, "dev_questions": 0, "fusion_dev": {},
                          "synthetic": {"embedded": [embedded], "milvus": [out]}})
    assert "| 300 | Milvus Lite |" in text


def test_two_ingest_workers_fill_one_milvus_at_once(served, tmp_path):
    """`ombuds ingest --shard 1/2` and `--shard 2/2` run at the same time, as workers on two
    machines would, into one Milvus; together they take each file once, and a reader then sees
    both documents searchable."""
    from conftest import LEGAL

    folder = tmp_path / "legal"
    folder.mkdir()
    for name in ("ilo-c105-abolition-forced-labour-1957.md",  # shard 1 of 2 (by file name)
                 "ilo-c098-right-to-organise-collective-bargaining-1949.md"):  # shard 2
        shutil.copy2(LEGAL / name, folder / name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-m", "app.cli", "ingest", "-q", str(folder),
                                 "--shard", shard, "--backend", "milvus", "--milvus-uri", served,
                                 "--data-dir", str(tmp_path / f"worker{i}")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=ROOT, env=env)
               for i, shard in enumerate(("1/2", "2/2"))]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    assert all("1 document(s) ingested" in out for out, _ in outputs), outputs
    index = MilvusIndex.open(served, data_dir=tmp_path)
    try:
        assert {"ilo-c105-abolition-forced-labour-1957",
                "ilo-c098-right-to-organise-collective-bargaining-1949"} <= set(index.docs)
        hits = index.search("right to organise collective bargaining", k=3)
        assert hits[0].passage.doc_id == "ilo-c098-right-to-organise-collective-bargaining-1949"
    finally:
        index.store.close()
