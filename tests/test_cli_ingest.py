"""`ombuds ingest` / `passages` end to end: idempotence, replacement, bad input, PDF pages."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIDH, PDFS, UN, blank_scan

from app.cli import cli
from index.store import Store


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """The shipped corpus (two reports and their manifest) in a scratch folder."""
    folder = tmp_path / "corpus"
    shutil.copytree(FIDH.parent, folder)
    return folder


def test_ingest_is_idempotent_and_replaces_changed_documents(
    corpus_copy: Path, corpus_data, copy_data, monkeypatch
):
    monkeypatch.setenv("OMBUDS_DATA_DIR", str(copy_data(corpus_data)))
    store = Store()
    assert len(store.documents()) == 2
    before = {p.passage_id for p in store.passages("un-a-hrc-27-53-add-2")}

    code, out, _ = run("ingest", "-q", str(corpus_copy))
    assert code == 0 and "0 document(s) ingested" in out and "2 unchanged" in out

    un = corpus_copy / UN.name
    un.write_text(un.read_text(encoding="utf-8").replace("tobacco", "cotton"), encoding="utf-8")
    code, out, _ = run("ingest", "-q", str(corpus_copy))
    assert code == 0 and "1 document(s) ingested" in out and "1 unchanged" in out
    after = {p.passage_id for p in store.passages("un-a-hrc-27-53-add-2")}
    assert after != before
    assert not any("tobacco" in p.text for p in store.passages("un-a-hrc-27-53-add-2"))
    assert len(store.documents()) == 2


def test_passages_json_lists_all_metadata(corpus_data, monkeypatch):
    monkeypatch.setenv("OMBUDS_DATA_DIR", str(corpus_data))
    code, out, _ = run("passages", "--doc", "fidh-2018-kazakhstan", "--type", "testimony", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) >= 20
    for key in (
        "passage_id",
        "doc_id",
        "section",
        "page",
        "paragraph",
        "start",
        "end",
        "footnotes",
        "passage_type",
        "speaker",
        "place",
        "date",
        "legal_refs",
    ):
        assert key in rows[0]
    assert all(r["passage_type"] == "testimony" for r in rows)
    code, out, _ = run("passages", "--doc", "un-a-hrc-27-53-add-2")
    assert code == 0 and "para. 13" in out
    for n in (1, 13, 42, 68):  # each numbered paragraph is found by its number, whole
        code, out, _ = run("passages", "--doc", "un-a-hrc-27-53-add-2", "--paragraph", str(n),
                           "--json")
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == 1 and f"{n}. " in rows[0]["text"]
    code, _, err = run("passages", "--doc", "no-such-doc")
    assert code != 0


BAD_FILES = {
    "empty.txt": (b"", "empty file"),
    "latin1.txt": (
        "Résumé of the mission\n\nThe délégation met migrants.".encode("latin-1"),
        "not UTF-8",
    ),
    "slides.pptx": (b"PK\x03\x04 not really a presentation", "unsupported file type"),
    "fake.pdf": (b"this is not a pdf at all", "not a PDF"),
    "truncated.pdf": ((PDFS / "un-ahrc-upr-truncated-half.pdf").read_bytes(), "corrupt"),
    "locked.pdf": ((PDFS / "encrypted-aes256-user-password.pdf").read_bytes(), "password"),
    "scan.pdf": (blank_scan(), "no extractable text; OCR found no readable text on 1 page(s)"),
    "mojibake.pdf": (
        (PDFS / "jp-official-gazette-cjk-encrypted-empty-password.pdf").read_bytes(),
        "unreadable text layer (broken font encoding); OCR found no readable text",
    ),
    "broken.docx": (b"PK\x03\x04 a truncated Word file", "not a readable Word document"),
    "old.docx": (b"\xd0\xcf\x11\xe0 a Word 97 file renamed", "not a Word document"),
    "menu.html": (
        b"<html><body><nav><a href='/'>Home</a> <a href='/about'>About</a></nav></body></html>",
        "no main text found in the web page",
    ),
}


def test_bad_input_gets_one_line_error_and_loses_nothing(
    tmp_path: Path, corpus_data, copy_data, monkeypatch
):
    monkeypatch.setenv("OMBUDS_DATA_DIR", str(copy_data(corpus_data)))
    store = Store()
    stored = {d["doc_id"]: d["content_hash"] for d in store.documents()}

    bad = tmp_path / "bad"
    bad.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (bad / name).write_bytes(data)
    good = bad / "note.md"
    good.write_text(
        "# A field note\n\n" + "Migrant workers told the mission about unpaid "
        "wages and withheld passports on a construction site in Astana. " * 12,
        encoding="utf-8",
    )
    big = bad / "big.txt"
    big.write_text("word " * 700_000, encoding="utf-8")  # 3.5 MB

    paths = [str(bad / n) for n in BAD_FILES] + [str(good), str(big)]
    code, out, err = run("ingest", "-q", "--max-mb", "3", *paths)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == len(BAD_FILES) + 1
    for name, (_, reason) in BAD_FILES.items():
        line = next(e for e in errors if f"{name}:" in e)
        assert reason in line, line
    assert any("big.txt" in e and "over the 3 MB limit" in e for e in errors)
    assert "1 document(s) ingested" in out and f"{len(BAD_FILES) + 1} failed" in out
    # nothing already stored is lost, and the good file of the batch went in
    now = {d["doc_id"]: d["content_hash"] for d in store.documents()}
    assert {k: now[k] for k in stored} == stored
    assert "note" in now


def test_unsupported_file_inside_folder_is_ignored(tmp_path: Path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "README.md").write_text("# About this folder\n\nNot a document.", encoding="utf-8")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "report.md").write_text("# Report\n\n" + "Testimony text. " * 80, encoding="utf-8")
    code, out, _ = run("ingest", "-q", str(folder))
    assert code == 0 and "1 document(s) ingested" in out
    assert [d["doc_id"] for d in Store().documents()] == ["report"]


def test_remove_document(corpus_data, copy_data, monkeypatch):
    monkeypatch.setenv("OMBUDS_DATA_DIR", str(copy_data(corpus_data)))
    code, out, _ = run("remove", "un-a-hrc-27-53-add-2")
    assert code == 0
    assert [d["doc_id"] for d in Store().documents()] == ["fidh-2018-kazakhstan"]
    assert not list(Store().passages("un-a-hrc-27-53-add-2"))
    code, _, _ = run("remove", "un-a-hrc-27-53-add-2")
    assert code != 0


def test_pdf_made_from_seed_text_keeps_page_numbers(tmp_path: Path):
    from fpdf import FPDF

    raw = UN.read_text(encoding="utf-8")
    paragraphs = [
        line.replace("\u00a0", " ").strip()
        for line in raw.splitlines()
        if line.startswith("\u00a0")
        and re.match(r"^\d{1,2}\. ", line.replace("\u00a0", " ").strip())
    ]
    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_font("Helvetica", size=11)
    pages_of: dict[int, int] = {}
    for i, para in enumerate(paragraphs[:9]):
        if i % 3 == 0:
            pdf.add_page()
        number = int(para.split(".", 1)[0])
        pages_of[number] = pdf.page_no()
        safe = para.replace("’", "'").replace("“", '"').replace("”", '"').replace("–", "-")
        pdf.multi_cell(0, 6, safe.encode("latin-1", "replace").decode("latin-1"))
        pdf.ln(4)
    path = tmp_path / "un-extract.pdf"
    pdf.output(str(path))

    code, out, err = run("ingest", "-q", str(path))
    assert code == 0, err
    passages = list(Store().passages("un-extract"))
    for n, page in pages_of.items():
        holder = next(
            p
            for p in passages
            if p.paragraph
            and int(p.paragraph.split("-")[0]) <= n <= int(p.paragraph.split("-")[-1])
        )
        assert holder.page <= page <= (holder.page_end or holder.page), (n, holder.page)
