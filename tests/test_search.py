"""Hybrid retrieval: fusion and tokenising units, then searches over the real corpus with the
real model (all-MiniLM-L6-v2), filters applied inside retrieval, the `search` command, the model
identity check and incremental ingestion."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, UN

from app.cli import cli
from index.citation import citation
from index.filters import Filters, date_span
from index.fusion import collapse_near_duplicates, minmax_fusion, reciprocal_rank_fusion
from index.lexical import tokenize
from index.search import MODES, Index, IndexError_
from index.store import Store
from ingest.model import Footnote, Passage

FIDH_ID = "fidh-2018-kazakhstan"
UN_ID = "un-a-hrc-27-53-add-2"
HIT_FIELDS = {"rank", "score", "passage_id", "doc_id", "doc_title", "citation", "section", "page",
              "paragraph", "passage_type", "text", "footnotes"}


def run(*args: str) -> tuple[int, str, str, BaseException | None]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr, result.exception


def passage(**kw) -> Passage:
    base = {"passage_id": "p", "doc_id": "d", "seq": 0, "text": "text", "passage_type": "narrative",
            "section": [], "start": 0, "end": 4}
    return Passage(**{**base, **kw})


# --- units: fusion, near duplicates, tokens, dates, citations (no model) --------------------


def test_rrf_scores_are_sums_of_reciprocal_ranks():
    run_a = [("x", 9.0), ("y", 8.0), ("z", 7.0)]
    run_b = [("q", 0.9), ("w", 0.8), ("x", 0.7)]
    fused = dict(reciprocal_rank_fusion([run_a, run_b]))
    assert fused["x"] == pytest.approx(1 / 61 + 1 / 63)
    assert fused["y"] == pytest.approx(1 / 62)
    assert fused["z"] == pytest.approx(1 / 63)
    assert fused["q"] == pytest.approx(1 / 61)
    assert fused["w"] == pytest.approx(1 / 62)
    ranked = [pid for pid, _ in reciprocal_rank_fusion([run_a, run_b])]
    assert ranked[0] == "x"  # in both runs beats first in one
    # the original scores play no part, only ranks; k changes the constant
    assert dict(reciprocal_rank_fusion([run_a], k=10))["y"] == pytest.approx(1 / 12)


def test_rrf_breaks_ties_deterministically_by_id():
    a = [("beta", 1.0), ("alpha", 0.5)]
    b = [("alpha", 1.0), ("beta", 0.5)]
    one = reciprocal_rank_fusion([a, b])
    two = reciprocal_rank_fusion([b, a])
    assert one == two
    assert [pid for pid, _ in one] == ["alpha", "beta"]
    assert one[0][1] == one[1][1] == pytest.approx(1 / 61 + 1 / 62)
    assert reciprocal_rank_fusion([]) == []


def test_minmax_fusion_sums_normalised_scores():
    # the default hybrid fusion: each run's scores scaled to [0, 1], then summed
    dense = [("x", 0.9), ("y", 0.6), ("z", 0.3)]
    bm25 = [("y", 12.0), ("x", 4.0), ("w", 2.0)]
    fused = minmax_fusion([dense, bm25])
    assert fused == [("y", pytest.approx(0.5 + 1.0)), ("x", pytest.approx(1.0 + 0.2)),
                     ("w", pytest.approx(0.0)), ("z", pytest.approx(0.0))]  # tie: by id
    weighted = dict(minmax_fusion([dense, bm25], weights=[2.0, 1.0]))
    assert weighted["x"] == pytest.approx(2.2) and weighted["y"] == pytest.approx(2.0)
    assert minmax_fusion([[("only", 3.0)], []]) == [("only", 1.0)]


def test_collapse_near_duplicates_drops_a_near_copy_and_keeps_distinct_texts():
    base = ("The migration police conduct at least one raid per quarter and take the passports of "
            "the workers they find at the market, who then have to pay to get them back again")
    near = base.replace("get them back again", "get them back later")  # one word changed
    other = ("Women migrant workers rarely have access to prenatal care because they have no "
             "compulsory medical insurance in Kazakhstan and cannot afford private clinics")
    texts = {"a": base, "b": near, "c": other}
    assert collapse_near_duplicates(["a", "b", "c"], texts) == ["a", "c"]
    assert collapse_near_duplicates(["b", "c", "a"], texts) == ["b", "c"]  # the better rank stays
    assert collapse_near_duplicates(["a", "c"], texts) == ["a", "c"]
    # a passage that quotes another one whole is a duplicate of it
    texts["d"] = "As the report says: " + base
    assert collapse_near_duplicates(["a", "d", "c"], texts) == ["a", "c"]


@pytest.mark.parametrize("text", ["C029", "ILO Convention No. 29", "Convention N°29",
                                  "Convention № 29", "Convention 29"])
def test_tokenize_keeps_convention_numbers(text):
    assert "29" in tokenize(text)


def test_tokenize_articles_stems_and_stop_words():
    assert "128" in tokenize("Article 128 of the Criminal Code")
    assert tokenize("passports") == tokenize("passport") == tokenize("Passport")
    assert tokenize("they took our passports")[-1] == tokenize("passport")[0]
    assert "the" not in tokenize("the passport of the worker")


@pytest.mark.parametrize("text, lo, hi", [
    ("2014-08-26", 20140826, 20140826),
    ("2018", 20180101, 20181231),
    ("2017-11", 20171101, None),
    ("3 November 2017", 20171103, 20171103),
    ("4 November, 2017", 20171104, 20171104),
    ("November 2017", 20171101, None),
])
def test_date_span(text, lo, hi):
    span = date_span(text)
    assert span is not None and span[0] == lo
    if hi is not None:
        assert span[1] == hi
    else:  # a month: ends on its last day (an upper bound within the month)
        assert 20171130 <= span[1] < 20171201


def test_date_span_unreadable():
    assert date_span("yesterday") is None
    assert date_span("") is None
    assert date_span(None) is None


@pytest.mark.parametrize("text", ["2017/11/03", "2017-13", "20171"])
def test_date_span_rejects_malformed_iso_dates(text):
    assert date_span(text) is None


def test_date_span_reads_every_date_format_classify_extracts():
    assert date_span("November 3, 2017") == (20171103, 20171103)


def test_citation_of_a_provision():
    p = passage(doc_id="un-iccpr-1966", passage_type="provision", article="8", paragraph="1-3",
                instrument="ICCPR", section=["Part III"])
    assert citation(p, "ICCPR") == "ICCPR, art. 8(1)-(3)"
    p.paragraph = "2"
    assert citation(p, "ICCPR") == "ICCPR, art. 8(2)"
    p.paragraph = None
    assert citation(p, "ICCPR") == "ICCPR, art. 8"


def test_citation_of_a_un_paragraph():
    p = passage(doc_id=UN_ID, paragraph="13",
                section=["III. Status of anti-slavery action", "A. Forced and bonded labour"])
    assert citation(p, "A/HRC/27/53/Add.2") == "A/HRC/27/53/Add.2, para. 13"
    p.paragraph = "13-15"
    assert citation(p, "A/HRC/27/53/Add.2") == "A/HRC/27/53/Add.2, paras. 13-15"


def test_citation_of_a_testimony_and_of_pages():
    p = passage(doc_id=FIDH_ID, passage_type="testimony",
                section=["I. Human rights violations of Kyrgyz migrant workers in Kazakhstan",
                         "1. Problems arising due to a lack of registration at the place of stay"],
                footnotes=[Footnote("57", "Interview with a migrant worker. Big Shanghai market.")])
    assert citation(p, "FIDH 2018") == "FIDH 2018, §I.1, n. 57"
    q = passage(section=["2. Findings"], page=22)
    assert citation(q, "Report X") == "Report X, §2, p. 22"
    q.page_end = 23
    assert citation(q, "Report X") == "Report X, §2, pp. 22-23"
    r = passage(section=["Introduction"])  # an unnumbered heading is cited by its title
    assert citation(r, "FIDH 2018") == "FIDH 2018, Introduction"


# --- searches over the two reports -------------------------------------------------------


@pytest.fixture(scope="module")
def index(corpus_data) -> Index:
    return Index.open(corpus_data)


@pytest.fixture(scope="module")
def stored(corpus_data) -> dict[str, Passage]:
    return {p.passage_id: p for p in Store(corpus_data).passages()}


def mentions_big_shanghai(p: Passage) -> bool:
    return "big shanghai" in ((p.place or "") + " " + " ".join(f.text for f in p.footnotes)).lower()


@pytest.mark.parametrize("mode", MODES)
def test_hits_carry_every_field(index, stored, mode):
    hits = index.search("migrant workers deported from Kazakhstan", k=8, mode=mode)
    assert len(hits) == 8
    assert [h.rank for h in hits] == list(range(1, 9))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.passage.passage_id for h in hits}) == 8
    for h in hits:
        d = h.to_dict()
        assert HIT_FIELDS <= d.keys()
        json.dumps(d)  # serialisable as it is
        p = stored[d["passage_id"]]
        assert d["doc_id"] == p.doc_id and d["text"] == p.text and d["section"] == p.section
        assert d["passage_type"] == p.passage_type and d["paragraph"] == p.paragraph
        assert d["doc_title"] == index.docs[p.doc_id]["title"]
        assert d["citation"] == citation(p, index.docs[p.doc_id]["short_title"])
        assert d["citation"].startswith(("FIDH 2018", "A/HRC/27/53/Add.2"))
        assert isinstance(d["footnotes"], list)


def test_passport_testimony_in_top_5(index):
    hits = index.search("they took our passports", k=5)
    assert any(h.passage.passage_type == "testimony" and "passport" in h.passage.text.lower()
               for h in hits), [h.citation for h in hits]


def test_paraphrase_finds_un_paragraph_13(index):
    # no word of the paragraph's "confiscation of identity documents ... delays in payment"
    hits = index.search("seizure of passports and late payment of wages on tobacco farms", k=5)
    para13 = [h for h in hits if h.passage.doc_id == UN_ID and h.passage.paragraph
              and h.passage.paragraph.split("-")[0] == "13"]
    assert para13, [h.citation for h in hits]
    h = para13[0]
    assert "13. The confiscation of identity documents" in h.passage.text
    # the passage holds paragraphs 13 to 15 and is cited as such
    assert h.passage.paragraph == "13-15"
    assert h.citation == "A/HRC/27/53/Add.2, paras. 13-15"


def test_big_shanghai_testimonies(index):
    """Six testimonies name the market (in their text, attribution or source note): they lead,
    with at most one other among them (the tuned model puts a truckers' testimony fifth)."""
    hits = index.search("Big Shanghai market", k=7, filters=Filters(passage_type=["testimony"]))
    assert len(hits) == 7 and all(h.passage.passage_type == "testimony" for h in hits)
    naming = [mentions_big_shanghai(h.passage) for h in hits]
    assert all(naming[:4]) and sum(naming) == 6, [h.citation for h in hits]
    # one names the market only in its attribution or source note
    named = [h for h, n in zip(hits, naming, strict=True) if n]
    assert any("shanghai" not in h.passage.text.lower() for h in named)


def test_real_testimony_citation(index):
    hits = index.search("residence permit work illegally Big Shanghai", k=10,
                        filters=Filters(passage_type=["testimony"]))
    assert "FIDH 2018, §I.1, n. 57" in [h.citation for h in hits]


# --- filters are applied inside retrieval -------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_type_filter_is_not_a_top_k_cut(index, stored, mode):
    testimonies = {pid for pid, p in stored.items() if p.passage_type == "testimony"}
    assert len(testimonies) > 50
    # "FIDH" is in the indexed context of every testimony, so BM25 can score all of them
    query = "FIDH migrant"
    unfiltered = index.search(query, k=100, mode=mode)
    in_top_100 = sum(h.passage.passage_id in testimonies for h in unfiltered)
    hits = index.search(query, k=50, mode=mode, filters=Filters(passage_type=["testimony"]))
    assert len(hits) == min(50, len(testimonies))
    assert {h.passage.passage_id for h in hits} <= testimonies
    if mode == "bm25":  # filtering the top 100 afterwards could not have found 50
        assert in_top_100 < 50


@pytest.mark.parametrize("mode", MODES)
def test_doc_filter(index, stored, mode):
    n_un = sum(p.doc_id == UN_ID for p in stored.values())
    hits = index.search("migrant workers", k=200, mode=mode, filters=Filters(doc=[UN_ID]))
    assert hits and {h.passage.doc_id for h in hits} == {UN_ID}
    if mode == "dense":  # every passage has a dense score
        assert len(hits) == n_un
    assert index.search("migrant workers", mode=mode, filters=Filters(doc=["no-such-doc"])) == []


@pytest.mark.parametrize("mode", MODES)
def test_date_filter_november_2017(index, stored, mode):
    def in_november_2017(p: Passage) -> bool:
        return bool(p.date and re.search(r"\bNovember\b,?\s+2017", p.date))

    expected = {pid for pid, p in stored.items() if in_november_2017(p)}
    assert len(expected) > 20
    f = Filters(date_from="2017-11-01", date_to="2017-11-30")
    hits = index.search("FIDH migrant", k=300, mode=mode, filters=f)
    # no document is dated in November 2017, so only passages dated in it qualify
    assert {h.passage.passage_id for h in hits} == expected
    assert all(h.passage.passage_type == "testimony" for h in hits)
    same = index.search("FIDH migrant", k=300, mode=mode,
                        filters=Filters(date_from="2017-11", date_to="November 2017"))
    assert [h.passage.passage_id for h in same] == [h.passage.passage_id for h in hits]


def test_date_filter_falls_back_to_the_document_date(index, stored):
    # the UN report (26 August 2014) has no dated passages: its date stands for all of them
    n_un = sum(p.doc_id == UN_ID for p in stored.values())
    hits = index.search("migrant workers", k=300, mode="dense",
                        filters=Filters(date_from="2014-01", date_to="2014-12-31"))
    assert len(hits) == n_un and {h.passage.doc_id for h in hits} == {UN_ID}
    assert index.search("migrant workers", mode="dense",
                        filters=Filters(date_from="2014-08-27", date_to="2014-12-31")) == []


def test_combined_filters_matching_nothing_return_nothing(index):
    f = Filters(doc=[UN_ID], passage_type=["testimony"])
    for mode in MODES:
        assert index.search("passports", mode=mode, filters=f) == []
    assert index.search("passports", filters=Filters(date_from="1990", date_to="1991")) == []
    assert index.search("   ") == []


def test_bad_date_and_mode_raise_index_error(index):
    with pytest.raises(IndexError_, match=r"cannot read the date 'yesterday'.*YYYY-MM-DD"):
        index.search("passports", filters=Filters(date_from="yesterday"))
    with pytest.raises(IndexError_, match="unknown mode"):
        index.search("passports", mode="sparse")


# --- the legal texts ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_index(full_data) -> Index:
    return Index.open(full_data)


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_article_128_criminal_code(full_index, mode):
    hits = full_index.search("article 128 criminal code human trafficking", k=3, mode=mode)
    assert any(h.passage.doc_id == "kz-criminal-code-2014" and h.passage.article == "128"
               and h.passage.passage_type == "provision" for h in hits), \
        [h.citation for h in hits]
    h = next(h for h in hits if h.passage.doc_id == "kz-criminal-code-2014")
    assert h.citation.startswith("KZ Criminal Code 2014, art. 128")


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_iccpr_article_8(full_index, mode):
    hits = full_index.search("ICCPR slavery servitude", k=3, mode=mode)
    found = [h for h in hits if h.passage.doc_id == "un-iccpr-1966" and h.passage.article == "8"]
    assert found, [h.citation for h in hits]
    assert found[0].citation.startswith("ICCPR, art. 8")
    assert "slavery" in found[0].passage.text.lower()


@pytest.mark.parametrize("mode", MODES)
def test_jurisdiction_and_kind_filters(full_index, mode):
    docs = full_index.docs
    kz = {d for d, v in docs.items() if v["jurisdiction"] == "KZ"}
    assert {"kz-criminal-code-2014", "kz-labour-code-2015", FIDH_ID, UN_ID} <= kz
    hits = full_index.search("forced labour of migrant workers", k=50, mode=mode,
                             filters=Filters(jurisdiction=["KZ"]))
    assert len(hits) == 50
    assert {h.passage.doc_id for h in hits} <= kz
    hits = full_index.search("forced labour of migrant workers", k=50, mode=mode,
                             filters=Filters(kind=["convention"]))
    assert len(hits) == 50
    assert {docs[h.passage.doc_id]["kind"] for h in hits} == {"convention"}
    assert "ilo-c029-forced-labour-1930" in {h.passage.doc_id for h in hits}
    hits = full_index.search("forced labour", k=20, mode=mode,
                             filters=Filters(kind=["code"], jurisdiction=["KZ"],
                                             passage_type=["provision"]))
    assert hits and all(docs[h.passage.doc_id]["kind"] == "code"
                        and h.passage.passage_type == "provision" for h in hits)


# --- the search command --------------------------------------------------------------------


def test_cli_search_json(corpus_data):
    code, out, _, _ = run("search", "they took our passports", "--json", "-k", "4",
                          "--data-dir", str(corpus_data))
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert set(obj) == {"query", "note", "hits"} and obj["query"] == "they took our passports"
    assert obj["note"] is None  # English query, English passages: no note on the model
    assert len(obj["hits"]) == 4
    assert all(HIT_FIELDS <= h.keys() for h in obj["hits"])
    assert [h["rank"] for h in obj["hits"]] == [1, 2, 3, 4]


def test_cli_search_batch(corpus_data, tmp_path):
    queries = ["they took our passports", "", "tobacco farms child labour",
               "maternity leave for women migrants"]
    path = tmp_path / "queries.txt"
    path.write_text("\n".join(queries) + "\n")
    code, out, _, _ = run("search", "--queries", str(path), "--json", "-k", "3", "--type",
                          "testimony", "--data-dir", str(corpus_data))
    assert code == 0
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["query"] for r in rows] == [q for q in queries if q]
    for r in rows:
        assert len(r["hits"]) == 3
        assert all(h["passage_type"] == "testimony" for h in r["hits"])
    # a batch gives the same hits as the single query
    code, single, _, _ = run("search", queries[2], "--json", "-k", "3", "--type", "testimony",
                             "--data-dir", str(corpus_data))
    assert json.loads(single)["hits"] == rows[1]["hits"]


def test_cli_search_human_output(corpus_data):
    code, out, _, _ = run("search", "Big Shanghai market", "--type", "testimony", "-k", "3",
                          "--data-dir", str(corpus_data))
    assert code == 0
    heads = [line for line in out.splitlines() if re.match(r"^\d+\. ", line)]
    assert len(heads) == 3
    for line in heads:
        assert re.match(r"^\d+\. FIDH 2018, §[IV.\d]+, n\. \d+  \[testimony \(.+\)\]  \d+\.\d{4}$",
                        line), line
    assert "Big Shanghai market, Astana" in out
    code, out, _, _ = run("search", "migrant", "--doc", "nothing-here", "--data-dir",
                          str(corpus_data))
    assert code == 0 and "no passage matches" in out


def test_cli_search_bad_arguments(corpus_data, tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("passports\n")
    code, _, err, _ = run("search", "passports", "--queries", str(path), "--data-dir",
                          str(corpus_data))
    assert code != 0 and "not both" in err
    code, _, err, _ = run("search", "--data-dir", str(corpus_data))
    assert code != 0 and "QUERY or --queries" in err
    code, _, err, _ = run("search", "passports", "--date-from", "last week", "--data-dir",
                          str(corpus_data))
    assert code == 1 and "cannot read the date 'last week'" in err


def test_cli_search_on_empty_data_dir(tmp_path):
    code, _, err, exc = run("search", "passports", "--data-dir", str(tmp_path / "empty"))
    assert code != 0
    assert isinstance(exc, SystemExit), repr(exc)
    assert "ombuds ingest" in err


def test_open_empty_index(tmp_path):
    index = Index.open(tmp_path / "empty")
    assert index.ids == [] and index.search("passports") == []


# --- the model an index was built with -------------------------------------------------------


def test_index_refuses_another_model(corpus_data, copy_data):
    data = copy_data(corpus_data)
    Store(data).set_meta("model", "some-other-model")
    with pytest.raises(IndexError_) as e:
        Index.open(data)
    message = str(e.value)
    assert "some-other-model" in message and "all-MiniLM-L6-v2" in message
    assert "ombuds reindex" in message
    code, _, err, exc = run("search", "passports", "--data-dir", str(data))
    assert code == 1 and isinstance(exc, SystemExit)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "some-other-model" in lines[0] and "ombuds reindex" in lines[0]
    assert "Traceback" not in err


# --- incremental ingestion and removal ---------------------------------------------------------

SUMMARY = re.compile(r"(\d+) document\(s\) ingested \((\d+) passages, (\d+) embedded\), "
                     r"(\d+) unchanged, (\d+) failed")


def ingest(data: Path, folder: Path) -> tuple[int, ...]:
    code, out, err, _ = run("ingest", "-q", "--data-dir", str(data), str(folder))
    assert code == 0, out + err
    m = SUMMARY.search(out)
    assert m, out
    return tuple(int(x) for x in m.groups())


def test_incremental_ingest_and_remove(corpus_data, copy_data, tmp_path):
    data = copy_data(corpus_data)
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    un = folder / UN.name
    text = un.read_text(encoding="utf-8")
    old = "13. The confiscation of identity documents, though prohibited by Kazakh law,"
    assert text.count(old) == 1
    new = "13. The pawning of passports with employers, though prohibited by Kazakh law,"
    un.write_text(text.replace(old, new), encoding="utf-8")
    store = Store(data)
    before = {p.passage_id for p in store.passages(UN_ID)}

    done, n_passages, embedded, unchanged, failed = ingest(data, folder)
    assert (done, unchanged, failed) == (1, 1, 0)
    after = {p.passage_id for p in store.passages(UN_ID)}
    assert n_passages == len(after)
    assert 1 <= embedded <= 3 and embedded == len(after - before)
    assert store.vectors_count() == sum(1 for _ in store.passages())  # old vectors went too
    index = Index.open(data)
    [edited] = [p for p in store.passages(UN_ID) if new in p.text]
    assert edited.passage_id in after - before
    assert [h.passage.passage_id for h in index.search("pawning", k=1, mode="bm25")] == \
        [edited.passage_id]
    # its vector is the embedding of the new text: the text finds itself first
    top = index.search(edited.text, k=1, mode="dense")[0]
    assert top.passage.passage_id == edited.passage_id and top.score > 0.8

    assert ingest(data, folder) == (0, 0, 0, 2, 0)

    generation = store.generation
    code, out, _, _ = run("remove", UN_ID, "--data-dir", str(data))
    assert code == 0 and f"removed {UN_ID}" in out
    assert store.generation > generation
    assert list(store.passages(UN_ID)) == []
    n_fidh = sum(1 for _ in store.passages(FIDH_ID))
    assert store.vectors_count() == n_fidh  # embeddings removed with their passages
    index = Index.open(data)  # the generation changed: rebuilt from the store
    assert len(index.ids) == n_fidh
    current = json.loads((data / "index" / "CURRENT").read_text())
    assert current["generation"] == store.generation and current["ids"] == n_fidh
    for mode in MODES:
        hits = index.search("tobacco plantations Philip Morris child labour", k=20, mode=mode)
        assert hits and all(h.passage.doc_id == FIDH_ID for h in hits)
    code, out, _, _ = run("search", "tobacco", "--doc", UN_ID, "--json", "--data-dir", str(data))
    assert code == 0 and json.loads(out)["hits"] == []
    code, _, err, _ = run("remove", UN_ID, "--data-dir", str(data))
    assert code == 1 and f"no document '{UN_ID}'" in err
