"""Provisions: report citations resolved to the articles of the corpus both ways, and the
fact-pattern ranking of `ombuds provisions`, on the real reports and legal texts."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import cli
from eval import run as ev
from index import provisions as pv
from index import search as search_module
from index.anchors import anchors_for, load_descriptions
from index.filters import Filters
from index.search import Index


@pytest.fixture(scope="module")
def index(full_data) -> Index:
    return Index.open(full_data)


@pytest.fixture(scope="module")
def g(index) -> pv.CitationGraph:
    return pv.graph(index)


def passage_with(index: Index, doc_id: str, needle: str):
    return next(p for p in index.passages if p.doc_id == doc_id and needle in p.text)


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_articles_cover_every_provision(index, g):
    provisions = [p for p in index.passages if p.passage_type == "provision"]
    assert provisions and all(p.passage_id in g.article_of for p in provisions)
    art8 = g.article("ICCPR", "8")
    assert art8.doc_id == "un-iccpr-1966"
    assert "No one shall be held in slavery" in art8.text
    assert g.article("KZ-LABOUR-CODE", "7").title == "Prohibition of forced labor"


def test_report_citation_resolves_to_the_article_and_back(index, g):
    """The UN report's "article 128 of the Criminal Code" (a 1997 mention) and FIDH's
    references to the 2014 Code: each resolves to what the corpus holds, or says it cannot."""
    fidh = [p for p in index.passages if p.doc_id == "fidh-2018-kazakhstan"]
    cited = [p for p in fidh for link in g.links(p)
             if link.status == pv.PROVISION and link.ref.instrument == "KZ-CRIMINAL-CODE"
             and link.ref.article == "128"]
    assert cited
    link = next(link for link in g.links(cited[0]) if link.ref.article == "128")
    targets = [index.passage(pid) for pid in link.passage_ids]
    assert all(t.doc_id == "kz-criminal-code-2014" and t.article == "128" for t in targets)
    # ... and back: the article is cited by that passage
    citing = {p.passage_id for p in g.citing("KZ-CRIMINAL-CODE", "128")}
    assert cited[0].passage_id in citing
    assert all(p.passage_type != "provision" for p in g.citing("KZ-CRIMINAL-CODE", "128"))


def test_other_version_of_a_code_is_not_linked(index, g):
    """"Article 128 of the Criminal Code of 1997": the corpus holds the 2014 Code, whose
    numbering may differ, so the reference stays unresolved (shown by name)."""
    p = passage_with(index, "un-a-hrc-27-53-add-2", "Article 128 of the Criminal Code of 1997")
    [link] = [link for link in g.links(p) if link.ref.instrument == "KZ-CRIMINAL-CODE"]
    assert link.status == pv.OTHER_VERSION
    assert link.passage_ids == [] and "1997" in link.label


def test_instrument_not_in_corpus_is_shown_by_name_only(index, g):
    links = [link for p in index.passages if p.passage_type != "provision"
             for link in g.links(p) if link.ref.instrument == "ICRMW"]
    assert links
    for link in links:
        assert link.status == pv.NOT_IN_CORPUS and not link.passage_ids
        assert "Migrant Workers" in link.label
        assert link.to_dict(index)["provisions"] == []


def test_unmentioned_covenant_stays_unidentified(index, g):
    p = passage_with(index, "fidh-2018-kazakhstan", "unmentioned UN International Covenant")
    statuses = {link.status for link in g.links(p) if "unmentioned" in link.ref.raw
                or "Covenant" in link.ref.raw}
    assert pv.UNIDENTIFIED in statuses
    assert all(not link.passage_ids for link in g.links(p) if link.status == pv.UNIDENTIFIED)


def test_paragraph_points_at_the_piece_holding_it(index, g):
    """ICCPR art. 2 is split in two pieces (paras 1-2, 3): art. 2(3) points at the second."""
    art2 = g.article("ICCPR", "2")
    assert len(art2.passages) == 2
    from ingest.model import LegalRef
    link = g.resolve(LegalRef("ICCPR", "2", "3", "article 2 (3)", "ICCPR"))
    assert link.passage_ids == [art2.passages[1].passage_id]
    whole = g.resolve(LegalRef("ICCPR", "2", None, "article 2", "ICCPR"))
    assert whole.passage_ids == [p.passage_id for p in art2.passages]


def test_resolution_rate_by_instrument(g):
    rows = {r["instrument"]: r for r in g.resolution()}
    assert rows["ICESCR"]["resolved"] == rows["ICESCR"]["with_article"] > 10
    assert rows["ICRMW"]["resolved"] == 0 and not rows["ICRMW"]["in_corpus"]
    assert sum(r["resolved"] for r in rows.values()) > 100


def test_fact_pattern_ranks_the_provision_the_report_applies(index):
    """eval situation s07: the dissolved domestic workers' union; FIDH says it breaches the
    freedom of association (ICCPR art. 22, ICESCR art. 8)."""
    [s07] = [s for s in ev.load_situations() if s["id"] == "s07"]
    hits = pv.rank_provisions(index, s07["situation"], k=10)
    top = [(h.article.instrument, h.article.article) for h in hits[:3]]
    assert ("ICCPR", "22") in top
    h = next(h for h in hits if (h.article.instrument, h.article.article) == ("ICCPR", "22"))
    assert h.cited_by and all(c.passage.passage_type != "provision" for c in h.cited_by)
    assert all(("ICCPR", "22") in pv.graph(index).cited(c.passage)[0] for c in h.cited_by)
    assert h.cited_by_total >= 1 and h.article.text.startswith("Article 22")
    groups = pv.group_by_instrument(hits)
    assert len(groups) >= 2 and len({inst for inst, _ in groups}) == len(groups)
    assert sorted(h.rank for _, group in groups for h in group) == list(range(1, 11))


def test_section_vote_is_shared_between_its_citing_passages(index):
    """eval situation s135 (dev): border guards extort a "fee" at the exit. FIDH's analysis of
    exit-point bribes cites ICCPR art. 12; a long section citing many labour articles must not
    outvote it just because its testimonies resemble any story of unpaid money. Each relevant
    passage gives its section SECTION_VOTE in all, shared between the section's citers, so art.
    12 has the most votes. (Where it ranks also depends on plain retrieval, which with the
    tuned model does not find it for this story: see README, Provisions.) Measured with the
    model's own query vectors, the votes alone (without the lay descriptions)."""
    [s135] = [s for s in ev.load_situations() if s["id"] == "s135"]
    with index.searching_with(None):
        hits = pv.rank_provisions(index, s135["situation"], k=50, use_anchors=False)
    h = next(h for h in hits if (h.article.instrument, h.article.article) == ("ICCPR", "12"))
    assert h.cited_by and h.graph > 0
    assert h.graph == max(x.graph for x in hits)
    labour = [x.graph for x in hits if x.article.instrument == "KZ-LABOUR-CODE"]
    assert labour and max(labour) < h.graph / 2


def test_votes_count_where_the_reports_speak_to_the_situation(index):
    """A story the reports tell (passports kept by a farmer) keeps the citation graph's votes
    whole; one only the law speaks to (a second shift straight after a night shift) keeps
    little of them, so the reports' favourite articles do not crowd out the one that applies."""
    told = "The farmer took our passports when we arrived and kept them until the season ended."
    untold = "After my shift ended at midnight they asked me to stay for the next day shift too."
    assert pv.vote_weight(index, told) == 1.0
    assert pv.vote_weight(index, untold) < 0.25
    # no article reaches the untold story's top 5 on votes alone; the told one's are voted for
    # (the votes measured alone, without the lay descriptions)
    assert all(h.retrieval > 0 for h in pv.rank_provisions(index, untold, k=5, use_anchors=False))
    assert any(h.graph > 0.5 for h in pv.rank_provisions(index, told, k=5, use_anchors=False))


def test_background_words_are_the_collections_subject(index, g):
    """The content words a third of the report passages share are the collection's subject;
    function words and the legal matter of a story are not among them."""
    reports = [p.text for p in index.passages if p.passage_type != "provision"]
    assert g.background == pv.background_terms(reports)
    assert {"migrant", "workers", "kazakhstan"} <= g.background
    assert not g.background & {"not", "with", "the", "employer", "wages", "passport", "child"}
    shares = {w: sum(w in pv.WORD.findall(t.lower()) for t in reports) / len(reports)
              for w in g.background}
    assert min(shares.values()) >= pv.BACKGROUND_SHARE
    story = "The employer of a migrant worker did not pay his wages."
    assert pv.without_background(story, g.background) == (
        "The employer of a worker did not pay his wages.")
    assert pv.background_words(index, story) == ["migrant"]
    assert pv.without_background("migrant workers", g.background) == "migrant workers"
    assert pv.background_words(index, "migrant workers") == []


def test_background_needs_enough_report_passages():
    texts = ["migrants not paid", "migrants not fed", "migrants lost passports",
             "no wages for migrants"] * 5
    assert pv.background_terms(texts) == frozenset()  # 20 passages: too few to tell
    assert pv.background_terms(texts * 2) == {"migrants"}  # "not" is a function word


def test_dense_query_is_read_by_the_dense_runs_only(index):
    """`ombuds provisions` searches with the situation for BM25 and without the collection's
    background words for the dense runs."""
    full, reduced = "a migrant worker is paid late", "a worker is paid late"
    ids = lambda hits: [h.passage.passage_id for h in hits]  # noqa: E731
    assert ids(index.search(full, k=10, mode="dense", dense_query=reduced)) == ids(
        index.search(reduced, k=10, mode="dense"))
    assert ids(index.search(full, k=10, mode="bm25", dense_query=reduced)) == ids(
        index.search(full, k=10, mode="bm25"))
    assert ids(index.search(full, k=10, dense_query="  ")) == ids(index.search(full, k=10))


def test_jurisdiction_filter(index):
    hits = pv.rank_provisions(index, "a child works on a tobacco farm", k=10, jurisdiction="KZ")
    assert hits
    assert all(index.docs[h.article.doc_id]["jurisdiction"] == "KZ" for h in hits)
    g = pv.graph(index)
    assert all((h.article.instrument, h.article.article) in g.cited(c.passage, "KZ")[0]
               for h in hits for c in h.cited_by)


def test_lay_descriptions_name_articles_of_the_corpus_in_lay_words(g):
    rows = load_descriptions()
    assert len(rows) >= 1000
    assert all(g.articles[(r["instrument"], r["article"])].doc_id == r["doc_id"] for r in rows)
    assert all(10 <= len(r["text"].split()) <= 60 for r in rows)
    described = {(r["instrument"], r["article"]) for r in rows}
    assert len(described) >= 600 and ("KZ-LABOUR-CODE", "95") in described
    # final clauses engage no one's situation: none is described
    assert ("ICCPR", "49") not in described and ("ILO-C029", "30") not in described
    assert len(g.index.descriptions().keys) == len(rows)  # the corpus holds every one


def test_a_lay_story_finds_the_article_worded_in_the_laws_terms(index):
    """"Yearly holiday", "ordered me back" against "Recall from a paid annual leave": the
    article is first with the lay descriptions and not in the top 5 without them."""
    story = ("I was four days into my yearly holiday in the village when the director phoned "
             "and ordered me back to work. Now he says the rest of my holiday is lost.")
    with_them = [(h.article.instrument, h.article.article, h.anchor)
                 for h in pv.rank_provisions(index, story, k=5)]
    assert with_them[0][:2] == ("KZ-LABOUR-CODE", "95") and with_them[0][2] == 1.0
    without = [(h.article.instrument, h.article.article)
               for h in pv.rank_provisions(index, story, k=5, use_anchors=False)]
    assert ("KZ-LABOUR-CODE", "95") not in without
    treaties = pv.rank_provisions(index, story, k=10, jurisdiction="international")
    assert all(index.docs[h.article.doc_id]["jurisdiction"] == "international"
               for h in treaties)


def test_description_vectors_are_cached_per_model_and_file(index, g, tmp_path, monkeypatch):
    monkeypatch.setenv("OMBUDS_CACHE", str(tmp_path))
    story = index.model_vector("a story")
    held = {key: a.doc_id for key, a in g.articles.items()}
    first = anchors_for(index, held)
    assert len(list((tmp_path / "anchors").glob("*.npy"))) == 1

    def no_embedding(texts):
        raise AssertionError("embedded again")

    monkeypatch.setattr(index.embedder, "encode", no_embedding)
    again = anchors_for(index, held)
    assert again.keys == first.keys and (again.vectors == first.vectors).all()
    some = anchors_for(index, {("KZ-LABOUR-CODE", "95"): "kz-labour-code-2015"})  # those held
    assert set(some.keys) == {("KZ-LABOUR-CODE", "95")}
    # another document of the same code (another version, numbered otherwise) gets none
    assert anchors_for(index, {("KZ-LABOUR-CODE", "95"): "kz-labour-code-2020"}).keys == []
    missing = anchors_for(index, held, paths=[tmp_path / "none.jsonl"])
    assert missing.keys == [] and missing.best(story) == {}


def test_a_collection_adds_descriptions_of_its_own(full_data, copy_data, tmp_path, monkeypatch,
                                                  capsys):
    """article_anchors.jsonl in the data dir adds to the shipped descriptions (LC art. 117, a
    heading only in the corpus, has none shipped, so described articles crowd it out); a line
    that is not a description is named on one line and skipped."""
    monkeypatch.setenv("OMBUDS_CACHE", str(tmp_path / "cache"))
    story = ("Who sets the official professional standards and qualification levels that my "
             "job as a welder is graded by?")
    lc117 = ("KZ-LABOUR-CODE", "117")
    shipped = [(h.article.instrument, h.article.article)
               for h in pv.rank_provisions(Index.open(full_data), story, k=5)]
    assert lc117 not in shipped
    data = copy_data(full_data)
    own = {"instrument": "KZ-LABOUR-CODE", "doc_id": "kz-labour-code-2015", "article": "117",
           "text": "Which official standard says what a welder of each grade must know and "
                   "be able to do, and who approves it?"}
    (data / "article_anchors.jsonl").write_text(
        json.dumps(own) + "\n" + '{"instrument": "CRC", "article": "28"}\n' + "not json\n",
        encoding="utf-8")
    index = Index.open(data)
    hits = pv.rank_provisions(index, story, k=5)
    err = capsys.readouterr().err
    assert "article_anchors.jsonl:2: not an article description (no doc_id, text); skipped" in err
    assert "article_anchors.jsonl:3: not an article description (not JSON); skipped" in err
    assert (hits[0].article.instrument, hits[0].article.article) == lc117
    assert len(index.descriptions().keys) == len(load_descriptions()) + 1


def test_hybrid_search_lifts_a_described_article_for_a_lay_question(index, monkeypatch):
    question = ("My boss phoned me on my holiday and told me to come back to work at once. "
                "Can he do that?")
    lc95 = ("KZ-LABOUR-CODE", "95")

    def articles(hits):
        return [(h.passage.instrument, h.passage.article) for h in hits]

    assert lc95 in articles(index.search(question, k=10))
    assert lc95 not in articles(index.search(question, k=20, descriptions=False))
    monkeypatch.setattr(search_module, "W_DESCRIPTION", 0.0)
    assert lc95 not in articles(index.search(question, k=20))
    monkeypatch.undo()
    # the filters still hold: no provision is lifted into a search of the reports
    reports = index.search(question, k=10, filters=Filters(passage_type=["testimony"]))
    assert reports and all(h.passage.passage_type == "testimony" for h in reports)


def test_situations_set_and_provisions_stay_above_the_floors(index):
    situations = ev.load_situations()
    assert len(situations) >= 25
    in_corpus = {(p.instrument, p.article) for p in index.passages
                 if p.passage_type == "provision"}
    assert all((gold["instrument"], gold["article"]) in in_corpus
               for s in situations for gold in s["gold"])
    results = ev.evaluate_situations(index, situations)
    print(results)
    floors = json.loads(ev.FLOORS.read_text())["provisions"]
    graph_test = results["graph"]["test"]
    for metric, floor in floors.items():  # floors are on the test split
        assert graph_test[metric] >= floor, f"{metric} {graph_test[metric]}"
    for split in ev.SPLITS:  # deeper cut-offs find more; the per-situation ceiling holds both
        for name in ("graph", "no_anchors", "plain"):
            scores = results[name][split]
            assert scores["S@5"] <= scores["S@10"] <= scores["S@20"]
            assert results["either"][split]["S@5"] >= scores["S@5"]


def test_cli_provisions_json(full_data):
    code, out, _ = run("provisions", "employer kept the workers' passports", "-k", "5",
                       "--json", "--data-dir", str(full_data))
    assert code == 0
    data = json.loads(out)
    assert len(data["provisions"]) == 5
    assert data["background_words"] == ["workers"]  # left out of the dense query
    first = data["provisions"][0]
    for key in ("instrument", "instrument_name", "doc_id", "article", "citation", "text",
                "passages", "cited_by", "cited_by_total", "score", "retrieval_score",
                "graph_score", "anchor_score"):
        assert key in first
    assert data["vote_weight"] == 1.0  # the reports tell this story: their citations count
    code, out, _ = run("provisions", "employer kept the workers' passports", "-k", "3",
                       "--data-dir", str(full_data))
    assert code == 0 and "art." in out
    assert "count at" not in out
    code, out, _ = run("provisions", "After my shift ended at midnight they asked me to stay "
                       "for the next day shift too.", "-k", "3", "--data-dir", str(full_data))
    assert code == 0
    assert out.splitlines()[0].startswith("the reports speak to this situation less than the law")


def test_cli_provisions_unknown_jurisdiction(full_data):
    code, _, err = run("provisions", "wages", "--jurisdiction", "XX", "--data-dir",
                       str(full_data))
    assert code == 1 and "XX" in err and len(err.strip().splitlines()) == 1


def test_cli_article_and_cited_by(full_data):
    code, out, _ = run("article", "ICESCR", "7", "--json", "--data-dir", str(full_data))
    assert code == 0
    data = json.loads(out)
    assert data["doc_id"] == "un-icescr-1966" and "just and favourable" in data["text"]
    assert data["cited_by"] and all(c["doc_id"] != "un-icescr-1966" for c in data["cited_by"])
    code, out, _ = run("article", "Forced Labour Convention", "2", "--data-dir", str(full_data))
    assert code == 0 and "forced or compulsory labour" in out
    code, _, err = run("article", "ICCPR", "999", "--data-dir", str(full_data))
    assert code == 1 and "999" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("article", "No Such Treaty", "1", "--data-dir", str(full_data))
    assert code == 1 and "No Such Treaty" in err


def test_cli_refs(full_data):
    code, out, _ = run("refs", "--json", "--data-dir", str(full_data))
    assert code == 0
    rows = json.loads(out)
    assert {"instrument", "name", "references", "with_article", "resolved"} <= set(rows[0])
    code, out, _ = run("refs", "--unresolved", "--data-dir", str(full_data))
    assert code == 0 and "resolve to its text" in out and "instrument not in corpus" in out


def test_search_json_links_both_ways(full_data):
    """A report passage's references carry the cited provision's text; a provision carries
    the report passages citing it."""
    code, out, _ = run("search", "Article 128 of the Criminal Code trafficking", "--doc",
                       "fidh-2018-kazakhstan", "-k", "10", "--json", "--data-dir",
                       str(full_data))
    assert code == 0
    hits = json.loads(out)["hits"]
    resolved = [r for h in hits for r in h["legal_refs"] if r["status"] == "provision"]
    assert resolved and all(r["provisions"] and r["provisions"][0]["text"] for r in resolved)
    code, out, _ = run("search", "just and favourable conditions of work fair wages", "--type",
                       "provision", "--doc", "un-icescr-1966", "-k", "5", "--json",
                       "--data-dir", str(full_data))
    hits = json.loads(out)["hits"]
    assert code == 0 and hits and all("cited_by" in h for h in hits)
    art7 = next(h for h in hits if h["article"] == "7")  # the reports cite it most
    assert len(art7["cited_by"]) >= 3
    assert all(c["doc_id"] in ("fidh-2018-kazakhstan", "un-a-hrc-27-53-add-2") and c["text"]
               for c in art7["cited_by"])
