"""The web app's functions, driven through gradio_client against a server started in-process on
the two shipped reports and the legal texts; and the collection export, checked by opening the
files."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import docx
import pytest
from conftest import copy_store, free_port
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from app import export, render, tabs, web
from ingest.model import IngestError, Passage

NO_FILTERS = ([], [], [], [], "", "")  # documents, kinds, jurisdictions, types, from, to
REPORTS = ["fidh-2018-kazakhstan", "un-a-hrc-27-53-add-2"]  # the two shipped reports
MARKUP_DOC = """# Field notes on brick kilns

## Wages at the kilns

The foreman at the Zhezkazgan kilns withheld the wages of seasonal brickmakers for three
months <script>window.__ombuds_xss = 1</script> and called it the quokka arrangement.
<img src=x onerror="window.__ombuds_xss = 2"> Workers could not leave before the season ended.
"""
SITUATION = ("the farmer kept the passports of a family of tobacco pickers and paid them nothing "
             "until the end of the harvest")


@pytest.fixture(scope="session")
def web_data(full_data, tmp_path_factory) -> Path:
    """A private copy of the indexed reports and legal texts: the upload test changes it."""
    data = tmp_path_factory.mktemp("web") / "data"
    copy_store(full_data, data)
    return data


@pytest.fixture(scope="session")
def server(web_data):
    demo, url = web.serve(web_data, port=free_port(), block=False)
    yield url
    demo.close()


@pytest.fixture
def client(server) -> Client:
    return Client(server, verbose=False)


def cards(html: str) -> list[str]:
    return re.findall(r"<article .*?</article>", html, re.DOTALL)


# --- through gradio_client -------------------------------------------------------------------


def test_ask_gives_a_cited_answer_and_collects_it(client):
    html, pick = client.predict("Do employers confiscate the passports of migrant workers?",
                                *NO_FILTERS, api_name="/ask")
    assert 'class="ob-banner ob-ok"' in html
    assert re.search(r'class="ob-confidence">confidence: (0\.\d\d|1\.00)<', html)
    assert 'href="#ob-cite-1"' in html and 'id="ob-cite-1"' in html
    assert "<mark>" in html  # the supporting sentence, highlighted
    assert "Context in the document" in html and 'class="ob-focus"' in html
    assert 'data-copy="FIDH and ADC &quot;Memorial&quot;' in html  # copy citation, full
    assert pick["choices"] and pick["choices"][0][0].startswith("[1] ")
    items = client.predict(pick["choices"][0][1], [], api_name="/add_passage")
    items = client.predict(items, api_name="/add_answer")
    assert [i["kind"] for i in items] == ["passage", "answer"]
    assert items[1]["excerpts"][0]["n"] == 1 and items[1]["excerpts"][0]["support"]


def test_ask_says_when_the_corpus_does_not_answer(client):
    html, pick = client.predict("What is the boiling point of mercury in Fahrenheit?",
                                *NO_FILTERS, api_name="/ask")
    assert "The corpus does not answer this question." in html
    assert "confidence: 0." in html  # how unsure, beside why
    assert "Nearest passages" in html and len(cards(html)) >= 1
    assert pick["choices"]  # the nearest passages can still be collected
    assert client.predict([], api_name="/add_answer") == []


def test_search_with_filters_and_open_the_section(client):
    html, pick, section = client.predict("passport", "hybrid", 10, [], [], [], ["testimony"],
                                         "2017-11", "2017-11-30", api_name="/search")
    found = cards(html)
    assert found and all("ob-badge ob-testimony" in c for c in found)
    assert "<mark>passport" in html.lower() or "<mark>Passport" in html
    assert section == ""
    passage_id = pick["choices"][0][1]
    section = client.predict(passage_id, api_name="/open_passage")
    assert section.count('class="ob-focus"') == 1
    assert "FIDH 2018" in section

    html, _, _ = client.predict("labour inspection", "bm25", 5, ["un-a-hrc-27-53-add-2"],
                                *NO_FILTERS[1:], api_name="/search")
    assert cards(html) and all("A/HRC/27/53/Add.2" in c for c in cards(html))
    with pytest.raises(AppError, match="cannot read the date"):
        client.predict("wages", "hybrid", 10, [], [], [], [], "last spring", "",
                       api_name="/search")


def test_provisions_for_a_situation_grouped_by_instrument(client):
    html = client.predict(SITUATION, "any", 10, api_name="/provisions")
    headings = re.findall(r'<h3 class="ob-inst-h">(.*?)</h3>', html)
    assert len(headings) >= 2 and len(headings) == len(set(headings))  # one group each
    assert all(h.strip() and "<" not in h for h in headings)
    articles = re.findall(r'<article class="ob-art".*?<span class="ob-cite">(.*?)</span>',
                          html)
    assert len(articles) == 10 and all(re.search(r", art\. \w[\w.-]*$", a) for a in articles)
    assert html.count('<h4 class="ob-citedby-h">Cited by</h4>') == 10
    # a story the reports analyse: an article they cite comes with the citing passage
    union = client.predict("the union of domestic workers was dissolved by a court", "any", 10,
                           api_name="/provisions")
    assert re.search(r'Cited by</h4><article class="ob-card"[^>]*><header><span class="ob-n">1\.'
                     r'</span> <span class="ob-cite">(FIDH 2018|A/HRC/27/53/Add\.2)', union)
    assert re.search(r"cited by [1-9]\d* report passages? in all", union)
    assert re.search(r"lay description \d\.\d\d\)", html)
    assert '<div class="ob-article-text">' in html  # the article's text, in full

    kz = client.predict(SITUATION, "KZ", 5, api_name="/provisions")
    groups = re.findall(r'<section class="ob-instrument" data-instrument="([^"]+)"', kz)
    assert groups and all(g.startswith("KZ-") for g in groups)
    assert kz.count('class="ob-art"') == 5
    assert "Describe a situation" in client.predict("  ", "any", 10, api_name="/provisions")
    assert "ob-vote-weight" not in html  # the reports tell this story: no caveat
    untold = client.predict("After my shift ended at midnight they asked me to stay for the next "
                            "day shift too.", "any", 5, api_name="/provisions")
    assert re.search(r'class="ob-note ob-vote-weight">The reports speak to this situation less '
                     r"than the law does, so the articles they cite count at \d+% ", untold)


def test_legal_references_open_the_provision_or_say_it_is_not_there(client):
    html, _, _ = client.predict("article 128 of the Criminal Code trafficking", "hybrid", 10,
                                ["fidh-2018-kazakhstan"], *NO_FILTERS[1:], api_name="/search")
    found = cards(html)
    assert found and all("FIDH 2018" in c for c in found)
    opens = [c for c in found if re.search(
        r'<details class="ob-law"><summary[^>]*>Criminal Code of the Republic of Kazakhstan, '
        r"art\. 128</summary>", c)]
    assert opens
    law = re.search(r"art\. 128</summary>(.*?)</details>", opens[0], re.DOTALL).group(1)
    assert "KZ Criminal Code 2014, art. 128(1)" in law  # the provision's pinpoint citation
    assert "Article 128. Human trafficking" in law and "shall be punished" in law  # its text
    unresolved = re.findall(r'<span class="ob-unresolved"[^>]*>(.*?)</span>', html)
    assert any(u.startswith("Code of the Republic of Kazakhstan on Administrative Offences, art")
               and u.endswith("— not in the corpus") for u in unresolved)
    assert not re.search(r"<summary[^>]*>Code of the Republic of Kazakhstan on Admin", html)

    # the Migrant Workers Convention is not in the corpus: named, never given text
    html, _, _ = client.predict("Convention on the Rights of All Migrant Workers ratify", "hybrid",
                                10, *NO_FILTERS, api_name="/search")
    unresolved = re.findall(r'<span class="ob-unresolved"[^>]*>(.*?)</span>', html)
    assert any("Rights of All Migrant Workers and Members of Their Families" in u
               and "not in the corpus" in u for u in unresolved)
    assert not re.search(r"<summary[^>]*>International Convention on the Protection", html)

    # the same row under the cited passages of an answer
    html, _ = client.predict("Which article of the Criminal Code punishes human trafficking?",
                             ["fidh-2018-kazakhstan"], *NO_FILTERS[1:], api_name="/ask")
    assert "Legal references:" not in html
    assert re.search(r'<div class="ob-refs"><span class="ob-refs-h">Cites:</span>', html)
    assert re.search(r'<details class="ob-law"><summary[^>]*>[^<]+, art\. \d+</summary>'
                     r'<div class="ob-law-body"><div class="ob-law-cite">', html)


def test_testimonies_by_place_speaker_and_date(client):
    html, pick = client.predict("", "Astana", [], "", "", api_name="/testimonies")
    assert cards(html) and all("Astana" in c for c in cards(html))
    html, _ = client.predict("", "", ["official"], "", "", api_name="/testimonies")
    assert cards(html) and all("Speaker: official" in c for c in cards(html))
    html, _ = client.predict("", "", [], "2017-11-18", "2017-11-18", api_name="/testimonies")
    assert cards(html) and all("18 November 2017" in c for c in cards(html))
    html, pick = client.predict("passport taken by the employer", "", ["migrant worker"], "", "",
                                api_name="/testimonies")
    assert "most relevant" in html and 0 < len(cards(html)) <= tabs.TOPIC_LIMIT
    assert all(re.search(r'<ul class="ob-notes"><li><b>\[\d+\]', c) for c in cards(html)[:3])
    items = client.predict(pick["choices"][0][1], [], api_name="/add_testimony")
    assert items[0]["excerpts"][0]["attribution"]


def test_upload_checks_escapes_and_removes(client, web_data, tmp_path):
    good = tmp_path / "Field notes (kilns).md"
    good.write_text(MARKUP_DOC, encoding="utf-8")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\xe9 workers".encode("latin-1"))
    fake = tmp_path / "report.pdf"
    fake.write_text("not really a PDF", encoding="utf-8")
    log, table, *_ = client.predict([handle_file(good), handle_file(latin1), handle_file(fake)],
                                    api_name="/upload")
    assert "ingested: Field notes (kilns).md as field-notes-kilns" in log
    assert "error: latin1.txt: not UTF-8 text" in log
    assert "error: report.pdf: not a PDF" in log
    uploads = web_data / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == ["field-notes-kilns.md"]
    assert "field-notes-kilns" in [row[0] for row in table["data"]]

    html, pick, _ = client.predict("quokka arrangement brickmakers", "hybrid", 5,
                                   ["field-notes-kilns"], *NO_FILTERS[1:], api_name="/search")
    assert "Zhezkazgan" in html
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;window.__ombuds_xss = 1&lt;/script&gt;" in html
    section = client.predict(pick["choices"][0][1], api_name="/open_passage")
    assert "<script" not in section and "&lt;script&gt;" in section

    def staged() -> list[Path]:  # Gradio's copies of the upload, in the app's cache
        return [f for f in (web_data / "web-cache").rglob("*")
                if f.is_file() and f.read_bytes() == good.read_bytes()]

    assert staged()
    log, table, *_ = client.predict("field-notes-kilns", api_name="/remove")
    assert log.startswith("removed field-notes-kilns: ")
    assert log.endswith("; deleted its uploaded file field-notes-kilns.md")
    assert "field-notes-kilns" not in [row[0] for row in table["data"]]
    assert list(uploads.iterdir()) == []  # its uploaded file went with it
    assert staged() == []  # and the copies Gradio staged


def test_collection_reorder_drop_and_export(client, tmp_path):
    _, pick, _ = client.predict("maternity leave", "hybrid", 5, REPORTS, *NO_FILTERS[1:],
                                api_name="/search")
    items = []
    for _, passage_id in pick["choices"][:3]:
        items = client.predict(passage_id, items, api_name="/add_search_passage")
    assert len(items) == 3
    assert len(client.predict(pick["choices"][0][1], items, api_name="/add_search_passage")) == 3
    first, second = items[0], items[1]
    client.predict(items, api_name="/show_collection")
    items, view, chosen = client.predict(items, 0, api_name="/move_down")
    assert items[:2] == [second, first] and chosen["value"] == 1
    items, view, _ = client.predict(items, 2, api_name="/drop")
    assert len(items) == 2 and view.count("<article") == 2

    md = Path(client.predict(items, "Maternity: training pack", api_name="/export_markdown"))
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Maternity: training pack")
    assert "## Sources" in text and second["excerpts"][0]["citation"] in text
    path = Path(client.predict(items, "Maternity: training pack", api_name="/export_docx"))
    assert path.suffix == ".docx"
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "Maternity: training pack"
    assert "Sources" in paragraphs
    assert any(p.startswith("Source: ") and "FIDH" in p or "A/HRC" in p for p in paragraphs)
    with pytest.raises(AppError, match="empty"):
        client.predict([], "x", api_name="/export_docx")


def test_login_when_configured(web_data):
    demo, url = web.serve(web_data, port=free_port(), user="trainer", password="s3cret",
                          block=False)
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "config")
        assert refused.value.code == 401
        client = Client(url, auth=("trainer", "s3cret"), verbose=False)
        html, *_ = client.predict("passport", "bm25", 5, *NO_FILTERS, api_name="/search")
        assert cards(html)
    finally:
        demo.close()


# --- plain functions -------------------------------------------------------------------------


def _passage(text: str, **kw) -> Passage:
    return Passage(passage_id="p1", doc_id="d1", seq=0, text=text, passage_type="narrative",
                   section=["I. Findings"], start=0, end=len(text), **kw)


DOC = {"doc_id": "d1", "title": "A <b>report</b>", "short_title": "R 2020", "publisher": "NGO",
       "date": "2020", "symbol": ""}


def test_document_text_is_always_escaped():
    text = 'Hello <script>alert(1)</script> <img src=x onerror="alert(2)"> & "quotes"'
    ex = export.excerpt(_passage(text), DOC, "R 2020, §I")
    html = render.card(ex, render.marked(text, render.term_spans(text, "hello quotes")))
    assert "<script" not in html and "<img" not in html and "<b>report" not in html
    assert "&lt;script&gt;" in html and "A &lt;b&gt;report&lt;/b&gt;" in html
    assert "<mark>Hello</mark>" in html
    assert render.snippet(text, "alert").count("<mark>") == 2


def test_uploads_are_checked_by_content_and_named_safely(tmp_path):
    pdf = tmp_path / "Report (final) ÉTÉ.PDF"
    pdf.write_bytes(b"%PDF-1.7\n" + b"x" * 100)
    assert web.check_upload(pdf, 1) == "report-final-ete.pdf"
    sneaky = tmp_path / "..%2F..%2Fetc.md"
    sneaky.write_text("# notes\n\ntext", encoding="utf-8")
    assert web.check_upload(sneaky, 1) == "2f-2fetc.md"
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x00\x00")
    with pytest.raises(IngestError, match="unsupported file type"):
        web.check_upload(exe, 1)
    binary = tmp_path / "notes.md"
    binary.write_bytes(b"abc\x00def")
    with pytest.raises(IngestError, match="binary"):
        web.check_upload(binary, 1)
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000, encoding="utf-8")
    with pytest.raises(IngestError, match="over the 1 MB limit"):
        web.check_upload(big, 1)
    uploads = tmp_path / "uploads"
    saved = web.save_upload(pdf, uploads, "report-final-ete.pdf")
    assert saved.parent == uploads.resolve() and saved.read_bytes().startswith(b"%PDF")
    for bad in ("../escape.pdf", ".hidden.pdf"):
        with pytest.raises(IngestError, match="unsafe"):
            web.save_upload(pdf, uploads, bad)
    assert not (tmp_path / "escape.pdf").exists()


def test_warning_when_bound_beyond_localhost_without_login():
    assert web.exposure_warning("127.0.0.1", 7860, login=False) is None
    assert web.exposure_warning("0.0.0.0", 7860, login=True) is None
    warning = web.exposure_warning("0.0.0.0", 7860, login=False)
    assert "without a login" in warning and "OMBUDS_USER" in warning


def test_speaker_roles():
    assert render.speaker_role("Aziz M., a migrant worker from Kyrgyzstan") == "migrant worker"
    assert render.speaker_role("Tolegen Ospankulov, Deputy Chair of the Committee for Labour") \
        == "official"
    assert render.speaker_role("Employers' Alliance of the Republic of Kazakhstan") == "employer"
    assert render.speaker_role("a feminist initiative group") == "NGO, union or expert"
    assert render.speaker_role(None) == "not stated"


def test_export_gives_full_citations_and_a_source_list(tmp_path):
    text = "Employers kept the passports.\x0c Workers could not leave."
    item = export.passage_item(_passage(text), DOC, "R 2020, §I")
    item["excerpts"][0]["footnotes"] = [{"number": "12", "text": "Interview, Osh, 2017."}]
    other = dict(DOC, doc_id="d2", short_title="A/HRC/1", title="UN report", symbol="A/HRC/1",
                 publisher="UN", date="2014-08-26")
    answer = {"kind": "answer", "question": "Passports?", "answer": "Employers kept them. [1]",
              "excerpts": [dict(export.excerpt(_passage("Employers kept them."), other,
                                               "A/HRC/1, para. 3", ["Employers kept them."], 1))]}
    items = [item, answer]
    md = export.to_markdown(items, "Pack")
    assert "Source: NGO, A <b>report</b>, 2020, §I." in md
    assert "- [12] Interview, Osh, 2017." in md
    assert "- **A/HRC/1**: UN, UN report, A/HRC/1, 2014-08-26." in md
    assert md.index("- **A/HRC/1**") < md.index("- **R 2020**")
    path = export.to_docx(items, tmp_path / "pack.docx", "Pack")
    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    assert "1. R 2020, §I (narrative)" in paragraphs
    assert "Employers kept the passports. Workers could not leave." in paragraphs  # \x0c dropped
    assert "2. Question: Passports?" in paragraphs
    assert "Source: UN, UN report, A/HRC/1, 2014-08-26, para. 3." in paragraphs
    assert "R 2020: NGO, A <b>report</b>, 2020." in paragraphs
