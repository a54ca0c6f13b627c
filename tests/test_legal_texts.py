"""Conventions, treaties and codes from ../shared/corpus become article-level provisions."""

from __future__ import annotations

import pytest
from conftest import LEGAL

from ingest.instruments import instrument_for_document
from ingest.model import DOCUMENT_KINDS
from ingest.pipeline import load

FILES = sorted(p for p in LEGAL.glob("*.md") if p.name != "README.md")


@pytest.fixture(scope="module")
def legal():
    return {path.stem: load(path) for path in FILES}


def test_every_legal_text_becomes_provisions(legal):
    assert len(legal) == 25
    for doc_id, (doc, passages) in legal.items():
        assert passages, doc_id
        assert all(p.passage_type == "provision" for p in passages), doc_id
        assert all(
            p.instrument == instrument_for_document(doc.title, doc.short_title) for p in passages
        ), doc_id
        assert all(p.article for p in passages), doc_id
        assert all(p.words <= 350 + 15 for p in passages), doc_id  # + carried heading
        assert doc.kind in set(DOCUMENT_KINDS) - {"report"}
        # the front matter's adoption date and issuing body are the document's date and publisher
        assert doc.date and doc.publisher, doc_id
    assert legal["ilo-c189-domestic-workers-2011"][0].publisher.startswith(
        "International Labour Organization")
    assert legal["un-cat-1984"][0].date == "1984-12-10"


def test_iccpr_article_8_whole_with_its_paragraphs(legal):
    _, passages = legal["un-iccpr-1966"]
    art8 = [p for p in passages if p.article == "8"]
    assert len(art8) == 1 and art8[0].instrument == "ICCPR"
    assert art8[0].text.startswith("Article 8")
    assert "No one shall be held in slavery" in art8[0].text
    assert "(a) No one shall be required to perform forced or compulsory labour" in art8[0].text
    assert art8[0].section[0] == "PART III"


def test_amendment_notes_are_notes_not_text(legal):
    _, passages = legal["kz-labour-code-2015"]
    art7 = [p for p in passages if p.article == "7"][0]
    assert art7.instrument == "KZ-LABOUR-CODE"
    assert "Forced labor is prohibited" in art7.text
    assert "as amended by" not in art7.text
    assert art7.footnotes and "as amended by" in art7.footnotes[0].text
    _, crim = legal["kz-criminal-code-2014"]
    assert not any("Footnote." in p.text for p in crim)


def test_long_article_split_by_paragraph_with_heading_carried(legal):
    _, passages = legal["kz-labour-code-2015"]
    pieces = [p for p in passages if p.article == "1"]
    assert len(pieces) > 3
    assert all(
        p.text.startswith("Article 1. The basic definitions used in this Code") for p in pieces
    )
    # sub-items "1)" "2)" inside paragraph 1 are not taken for paragraphs
    assert pieces[0].paragraph == "1"


def test_article_titles_given_as_subheadings(legal):
    _, passages = legal["un-palermo-trafficking-protocol-2000"]
    art3 = [p for p in passages if p.article == "3"]
    assert art3[0].text.startswith("Article 3. Use of terms")
    assert "Trafficking in persons" in art3[0].text


def test_numbered_paragraphs_of_a_split_article(legal):
    _, passages = legal["ilo-c097-migration-for-employment-1949"]
    body = [p for p in passages if p.article == "6" and not any("ANNEX" in s for s in p.section)]
    assert body and body[0].paragraph.startswith("1")


def test_a_plain_text_chapter_heading_is_not_the_article_before_it(legal):
    """The Kazakh texts write chapters as plain lines ("CHAPTER 2. STATE REGULATION ...") right
    before the next article's heading; they used to end the previous article's text."""
    _, passages = legal["kz-labour-code-2015"]
    text = {a: "\n".join(p.text for p in passages if p.article == a) for a in ("14", "185")}
    assert text["14"].rstrip().endswith("with the laws of the Republic of Kazakhstan.")
    assert "CHAPTER" not in text["14"] and "CHAPTER 20" not in text["185"]
    assert "WORK ACTIVITY" not in text["185"]  # the heading's second line goes with it
    _, constitution = legal["kz-constitution-1995"]
    assert not any("Section II" in p.text or "Person and Citizen" in p.text for p in constitution)
    # every chapter line of the Labour Code goes (article 23 keeps a garbled line of the source,
    # "LABOR RELATIONS CHAPTER 4. EMPLOYMENT CONTRACT", and articles cite "Chapter 9" in text)
    assert not [p.article for p in passages
                if any(line.upper().startswith("CHAPTER ") for line in p.text.splitlines())]


def test_a_line_that_ends_a_sentence_is_text_not_a_heading(tmp_path):
    f = tmp_path / "code.md"
    f.write_text("---\ntitle: A Code\nkind: code\njurisdiction: KZ\n---\n# A Code\n\n"
                 "## Article 1. Scope\n\n1. This Code applies to all employers.\n"
                 "Part 2 of this article does not apply to civil servants.\n\n"
                 "CHAPTER 2. WORKING TIME\n\n## Article 2. Working hours\n\nForty hours.\n",
                 encoding="utf-8")
    _, passages = load(f)
    first = "\n".join(p.text for p in passages if p.article == "1")
    assert first.rstrip().endswith("Part 2 of this article does not apply to civil servants.")
    assert "WORKING TIME" not in first
