"""Word (.docx) and saved web pages (.html) written here from the FIDH seed report, with its
footnotes: headings, numbered paragraphs, tables and notes survive ingestion."""

from __future__ import annotations

import json
import re
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from conftest import FIDH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from app.cli import cli
from ingest.docx import read_docx
from ingest.html import read_html
from ingest.model import IngestError
from ingest.pipeline import load

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
TABLE = [["Sector", "Migrant workers interviewed", "Main violation reported"],
         ["Construction sites in Astana", "45", "Passports withheld by employers"],
         ["Agricultural farms in Almaty region", "30", "Wages unpaid until the season ends"]]
STEPS = ["Interviews with migrant workers at markets and construction sites in Almaty.",
         "Meetings with the Labour Inspection Agency and the Migration Police in Astana.",
         "Meetings with the Human Rights Ombudsman and with trade unions in both countries."]


def seed_section() -> tuple[str, list[list[str | int]], dict[int, str]]:
    """The Methodology section of the FIDH report: its title, its paragraphs as runs of text
    and footnote numbers, and the notes they cite."""
    lines = FIDH.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#### Methodology"))
    end = next(i for i, line in enumerate(lines) if line.startswith("#### Acknowledgements"))
    paragraphs, notes = [], {}
    for line in lines[start + 1 : end]:
        note = re.match(r"^<sup>(\d+)\.</sup>\s*(.*)$", line)
        if note:
            notes[int(note.group(1))] = note.group(2).replace("\\_", "_")
        elif line.strip():
            parts = re.split(r"<sup>(\d+)</sup>", line.replace("*", ""))
            paragraphs.append([int(p) if k % 2 else p for k, p in enumerate(parts) if p])
    return "Methodology", paragraphs, notes


def write_docx(path: Path) -> dict[int, str]:
    """A Word file from the seed section: Title, Heading 1, body paragraphs with real
    footnotes (a footnotes part built here: python-docx cannot add one), a numbered list and
    a table. Returns the notes."""
    heading, paragraphs, notes = seed_section()
    document = docx.Document()
    document.add_paragraph("Invisible and exploited in Kazakhstan", style="Title")
    document.add_paragraph(heading, style="Heading 1")
    for runs in paragraphs:
        p = document.add_paragraph()
        for run in runs:
            if isinstance(run, int):
                ref = OxmlElement("w:footnoteReference")
                ref.set(qn("w:id"), str(run))
                p.add_run()._r.append(ref)
            else:
                p.add_run(run)
    document.add_paragraph("Mission programme", style="Heading 1")
    for step in STEPS:
        document.add_paragraph(step, style="List Number")
    table = document.add_table(rows=len(TABLE), cols=3)
    for r, row in enumerate(TABLE):
        for c, cell in enumerate(row):
            table.cell(r, c).text = cell
    body = "".join(
        f'<w:footnote w:id="{n}"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve">'
        f' {text.replace("&", "&amp;").replace("<", "&lt;")}</w:t></w:r></w:p></w:footnote>'
        for n, text in notes.items())
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{W}">'
           '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
           f"</w:footnote>{body}</w:footnotes>").encode()
    part = Part(PackURI("/word/footnotes.xml"), FOOTNOTES, xml, document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES)
    document.save(path)
    return notes


def write_html(path: Path, word_style: bool = False) -> dict[int, str]:
    """A saved web page from the seed section, with navigation, a cookie banner and a footer
    around the article, and its notes as a linked list (pandoc style) or as Word's HTML export
    writes them."""
    heading, paragraphs, notes = seed_section()

    def marker(n: int) -> str:
        if word_style:
            return f'<a href="#_ftn{n}" name="_ftnref{n}" title=""><span>[{n}]</span></a>'
        return f'<sup><a href="#fn{n}" id="fnref{n}">{n}</a></sup>'

    body = "".join("<p>" + "".join(marker(r) if isinstance(r, int) else r for r in runs)
                   + "</p>\n" for runs in paragraphs)
    steps = "".join(f"<li>{s}</li>" for s in STEPS)
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in TABLE)
    if word_style:
        listing = "".join(f'<div id="ftn{n}"><p><a href="#_ftnref{n}" name="_ftn{n}">[{n}]</a> '
                          f"{t}</p></div>" for n, t in notes.items())
    else:
        listing = ('<section class="footnotes"><hr><ol>' + "".join(
            f'<li id="fn{n}">{t} <a href="#fnref{n}">↩</a></li>' for n, t in notes.items())
            + "</ol></section>")
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Invisible and exploited in Kazakhstan | FIDH</title></head><body>
<div id="cookie">We use cookies to improve your experience. Accept all cookies</div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/countries">Countries</a></li>
<li><a href="/donate">Donate now</a></li></ul></nav>
<main><article><h1>Invisible and exploited in Kazakhstan</h1><h2>{heading}</h2>
{body}<h2>Mission programme</h2><ol>{steps}</ol><table>{rows}</table></article>
{listing}</main>
<footer><p>Subscribe to our newsletter</p><p>© FIDH 2018 · Legal notice · Privacy</p></footer>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return notes


def _passage_with(passages, text: str):
    return next(p for p in passages if text in p.text)


def _check(doc, passages, notes: dict[int, str]) -> None:
    assert doc.title == "Invisible and exploited in Kazakhstan"
    assert doc.language == "en"
    assert all("<sup>" not in p.text and "fn" not in p.text.split() for p in passages)
    ratified = _passage_with(passages, "Kazakhstan has ratified 24 of these ILO conventions")
    assert ratified.section == ["Methodology"]
    cited = {f.number: f.text for f in ratified.footnotes}
    assert {"3", "4", "5"} <= set(cited)
    assert cited["5"] == notes[5]
    assert cited["3"].startswith("See the list of ILO Conventions ratified by Kazakhstan")
    # the numbered list keeps its numbers, the table its cells
    steps = _passage_with(passages, "Interviews with migrant workers at markets")
    assert steps.section == ["Mission programme"]
    assert "1. Interviews" in steps.text and "3. Meetings with the Human Rights" in steps.text
    table = next(p for p in passages if p.passage_type == "table")
    assert "Passports withheld by employers" in table.text and "|" in table.text


def test_word_document_with_footnotes(tmp_path: Path) -> None:
    path = tmp_path / "fidh-methodology.docx"
    notes = write_docx(path)
    doc, passages = load(path)
    _check(doc, passages, notes)


@pytest.mark.parametrize("word_style", [False, True], ids=["pandoc-notes", "word-notes"])
def test_web_page_with_notes_without_navigation(tmp_path: Path, word_style: bool) -> None:
    path = tmp_path / "fidh-methodology.html"
    notes = write_html(path, word_style)
    doc, passages = load(path)
    _check(doc, passages, notes)
    text = " ".join(p.text for p in passages)
    for boilerplate in ("cookies", "Donate now", "newsletter", "Privacy", "↩"):
        assert boilerplate not in text


def test_word_and_web_page_are_searchable(tmp_path: Path) -> None:
    write_docx(tmp_path / "fidh-methodology.docx")
    write_html(tmp_path / "fidh-web.htm")
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", "-q", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "2 document(s) ingested" in result.stdout
    for doc_id in ("fidh-methodology", "fidh-web"):  # the same text: one would hide the other
        result = runner.invoke(cli, ["search", "ILO conventions ratified by Kazakhstan", "-k",
                                     "3", "--doc", doc_id, "--json"], catch_exceptions=False)
        top = json.loads(result.stdout)["hits"][0]
        assert "Kazakhstan has ratified 24" in top["text"] and top["ocr"] is False
        assert [f["number"] for f in top["footnotes"]][:3] == ["3", "4", "5"]


def test_bad_word_and_web_files(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.docx"
    good = tmp_path / "good.docx"
    write_docx(good)
    corrupt.write_bytes(good.read_bytes()[:3000])  # a download cut short
    with pytest.raises(IngestError) as err:
        read_docx(corrupt)
    message = str(err.value)
    assert message.startswith("not a readable Word document (") and "\n" not in message
    empty = tmp_path / "empty.docx"
    docx.Document().save(empty)
    with pytest.raises(IngestError, match="^no text in the Word document$"):
        read_docx(empty)
    with pytest.raises(IngestError, match="^no main text found in the web page$"):
        read_html(b"<html><body><nav><a href='/'>Home</a></nav><footer>(c) 2024</footer>"
                  b"</body></html>")
    with pytest.raises(IngestError, match="^no main text found in the web page$"):
        read_html(b"\xff\xfe not html at all")
