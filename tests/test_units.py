"""Sentence units (index/units.py): every sentence and footnote of a passage has its own stored
vector, retrieval scores a passage by its best unit, and long queries are read whole."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from index.embed import get_embedder
from index.fusion import pool_windows
from index.lexical import LONG_QUERY_TERMS, Lexical, tokenize
from index.search import Index
from index.units import UNITS_VERSION, document_units, passage_units, sentence_spans
from ingest.model import Footnote, Passage


def _passage(text: str, **kw) -> Passage:
    return Passage(passage_id="p1", doc_id="d", seq=0, passage_type=kw.pop("passage_type",
                   "narrative"), section=kw.pop("section", ("I. Wages", "1. Delays")),
                   text=text, start=0, end=len(text), **kw)


def test_units_are_sentences_and_footnotes_with_a_context_line():
    p = _passage("Wages were paid late. Art. 3 was cited by no one at all. Ibid. The farmer "
                 "kept the passports of all workers.",
                 footnotes=[Footnote("12", "Interview with a migrant, Almaty, 2017.")])
    units = passage_units(p, {"title": "A report", "short_title": "FIDH 2018"})
    sentences = [u for u in units if u.kind == "sentence"]
    assert [p.text[u.start:u.end] for u in sentences] == [
        "Wages were paid late.", "Art. 3 was cited by no one at all.",
        "Ibid. The farmer kept the passports of all workers."]  # "Ibid." is too short alone
    assert all(u.text.startswith("FIDH 2018 | 1. Delays\n") for u in units)
    note = units[-1]
    assert note.kind == "footnote" and note.note == "12" and note.start == -1
    assert note.text.endswith("Interview with a migrant, Almaty, 2017.")


def test_a_provision_unit_carries_its_article_heading():
    text = "Article 113. Terms of wage payment\n1. Wages are paid at least once a month."
    p = _passage(text, passage_type="provision", section=("Chapter 9", "Article 113"))
    units = passage_units(p, {"title": "Labour Code", "short_title": "Labour Code"})
    assert units[-1].text.startswith("Labour Code | Article 113. Terms of wage payment\n")


def test_a_list_item_unit_carries_its_lead_in_and_quotes_the_item_alone():
    text = ("Article 94. Postponing the annual leave\n1. The annual paid leave shall be postponed "
            "in the following cases:\ntemporary disability of the employee;\nat the time of "
            "maternity leave.\n2. The postponed leave is added to the next year's leave.")
    p = _passage(text, passage_type="provision", section=("Chapter 10", "Article 94"))
    units = passage_units(p, {"title": "Labour Code", "short_title": "Labour Code"})
    by_sentence = {text[u.start:u.end]: u.text for u in units}
    lead = "1. The annual paid leave shall be postponed in the following cases:"
    item = by_sentence["temporary disability of the employee;"]
    assert item.endswith(f"\n{lead}\ntemporary disability of the employee;")
    assert lead in by_sentence["at the time of maternity leave."]
    # a numbered paragraph after the list is no item of it
    assert lead not in by_sentence["2. The postponed leave is added to the next year's leave."]


def test_a_list_continued_in_the_next_passage_of_the_article_keeps_its_lead_in():
    first = "Article 23. Obligations of the employer\n2. The employer is obliged:\n1) to pay wages;"
    second = ("Article 23. Obligations of the employer (continued)\n10) to provide the employees "
              "with equipment and tools;")
    other = "Article 24. Rights of the employee\n11) an item of another list;"
    ps = [Passage(passage_id=f"p{i}", doc_id="d", seq=i, text=t, passage_type="provision",
                  section=["Article"], start=0, end=len(t), article=a)
          for i, (t, a) in enumerate([(first, "23"), (second, "23"), (other, "24")])]
    units = document_units(ps, {"title": "Labour Code", "short_title": "Labour Code"})
    tools = next(u for u in units["p1"] if "tools" in u.text)
    assert "\n2. The employer is obliged:\n10) to provide" in tools.text
    assert not any("obliged" in u.text for u in units["p2"])  # another article: no lead-in


def test_a_store_with_units_of_an_earlier_version_embeds_them_again(corpus_data, copy_data):
    data = copy_data(corpus_data)
    db = sqlite3.connect(data / "ombuds.sqlite3")
    db.execute("UPDATE meta SET value='1' WHERE key='units_version'")
    db.execute("UPDATE units SET vector=?", (np.zeros(384, dtype=np.float16).tobytes(),))
    db.commit()
    db.close()
    index = Index.open(data)
    assert index.store.get_meta("units_version") == UNITS_VERSION
    p = index.passages[3]
    spans, vecs = index.passage_units(p.passage_id)
    fresh = index.embedder.encode([u.text for u in passage_units(p, index.docs[p.doc_id])])
    assert len(spans) == len(fresh) and float(np.min((fresh * vecs).sum(axis=1))) > 0.99
    reopened = Index.open(data)  # current now: nothing embedded again, the same vectors
    assert np.array_equal(reopened.passage_units(p.passage_id)[1], vecs)


def test_sentence_spans_cover_a_passage_of_one_short_line():
    assert sentence_spans("Article 7") == [(0, 9)]


def test_long_query_keeps_its_most_specific_terms_once():
    letters = "bcdfghjklmnpqrstvwxz"
    fillers = [f"{a}o{b}an" for a in letters for b in letters][:45]  # made-up words
    texts = ["court court court court", "habeas corpus"]
    texts += [f"court {w}" for w in fillers] + [f"{w} fine" for w in fillers]  # each twice
    lexical = Lexical.build(texts)
    query = "court " * 30 + " ".join(fillers[: LONG_QUERY_TERMS + 1]) + " habeas corpus"
    assert len(set(tokenize(query))) > LONG_QUERY_TERMS
    hits = [row for row, _ in lexical.search(query, k=3)]
    assert hits[0] == 1  # the rare terms, not the passage repeating the common one
    assert 0 not in hits
    assert lexical.idf(tokenize("habeas")[0]) > lexical.idf(tokenize("court")[0])


def test_long_query_is_embedded_whole():
    embedder = get_embedder()
    start = "Migrant workers picked tobacco on a farm near Almaty. " * 3
    tail = "The employer kept their passports and paid nothing until the harvest ended. " * 30
    whole = embedder.encode_query(start + tail)
    first_part = embedder.encode([start + tail])[0]  # the model alone reads only the start
    about_tail = embedder.encode(["The employer kept their passports and paid nothing."])[0]
    assert abs(float(np.linalg.norm(whole)) - 1.0) < 1e-4
    assert float(whole @ about_tail) > float(first_part @ about_tail)


def test_pooled_windows_favour_a_passage_one_part_of_a_long_query_matches():
    one_part = [("a", 0.8), ("b", 0.5)]  # window 1: a matches it well
    rest = [("b", 0.5), ("c", 0.25)]  # windows 2 and 3: a is not returned at all
    pooled = dict(pool_windows([one_part, rest, rest], depth=3))
    assert pooled["a"] > pooled["b"]  # the mean (0.8 + 0.25 + 0.25) / 3 would put b first
    assert pooled["b"] == pytest.approx(0.5)  # the same score in every window: that score
    assert 0.25 < pooled["c"] < 0.5
    assert pool_windows([one_part], depth=1) == [("a", 0.8)]  # one window: its own run


def test_a_long_querys_later_topic_is_searched_too(index):
    farm = ("Migrant workers picked tobacco on a farm near Almaty and the farmer kept their "
            "passports until the harvest ended. ") * 12
    school = "Children of school age were working in the fields instead of attending school. "
    query = farm + school * 6  # three windows, the last about children alone
    assert len(index.embedder.query_windows(query)) == 3

    def about_children(hits: list[tuple[str, float]]) -> int:
        return sum("child" in index.passage(pid).text.lower() for pid, _ in hits[:5])

    pooled = index._dense(query, 20, None)
    mean = index.query_vector(query)  # the windows averaged, as the query was once read
    found = {}
    for r, score in index.vectors.search(mean, 60, None):
        found.setdefault(index.ids[index.window_row[r]], score)
    averaged = sorted(found.items(), key=lambda item: -item[1])
    assert about_children(pooled) >= 2
    assert about_children(pooled) > about_children(averaged)


@pytest.fixture(scope="module")
def index(corpus_data):
    return Index.open(corpus_data)


def test_every_passage_has_stored_units_and_vectors(index, corpus_data):
    db = sqlite3.connect(corpus_data / "ombuds.sqlite3")
    with_units = {r[0] for r in db.execute("SELECT DISTINCT passage_id FROM units")}
    assert with_units == set(index.ids)
    assert len(index.unit_row) == index.units.size == len(index.unit_span)
    spans, vecs = index.passage_units(index.ids[0])
    assert len(spans) == len(vecs) > 0 and vecs.shape[1] == 384


def test_unit_vectors_match_their_sentences(index):
    """The stored vector of a unit is the embedding of its context line and sentence."""
    p = index.passages[5]
    spans, vecs = index.passage_units(p.passage_id)
    units = passage_units(p, index.docs[p.doc_id])
    fresh = index.embedder.encode([units[0].text])[0]
    assert (spans[0][0], spans[0][1]) == (units[0].start, units[0].end)
    # stored as float16; the int8 ONNX backend quantises activations per batch, so a sentence
    # embedded alone differs slightly from the same sentence embedded in a batch
    assert float(fresh @ vecs[0]) > 0.99


def test_a_clause_deep_in_a_passage_is_found_by_its_sentence(index):
    """The best unit of a passage can be one sentence among many: searching with a sentence's
    own words finds its passage first in the units run."""
    long = max(index.passages, key=lambda p: len(p.text))
    spans, _ = index.passage_units(long.passage_id)
    s, e = spans[len(spans) // 2]
    run = index._dense_units(long.text[s:e], 5, None)
    assert run[0][0] == long.passage_id


def test_reingest_reuses_stored_unit_vectors(corpus_data, copy_data):
    from conftest import UN

    from index.store import Store
    from index.update import put_document
    from ingest.pipeline import load

    data = copy_data(corpus_data)
    store = Store(data)
    doc, passages = load(UN)
    before = store.unit_vectors(doc.doc_id)

    class NoEmbedding:  # an unchanged document must not be embedded again
        name, dim = get_embedder().name, get_embedder().dim

        def encode_passages(self, texts):
            assert not texts
            return []

        def encode(self, texts):
            assert not texts
            return np.zeros((0, self.dim), dtype=np.float32)

    put_document(store, NoEmbedding(), doc, passages)
    after = store.unit_vectors(doc.doc_id)
    assert before.keys() == after.keys()
    pid = next(iter(before))
    assert np.array_equal(before[pid].vectors, after[pid].vectors)
