"""Structured ingestion of the two seed reports, checked against their real text."""

from __future__ import annotations

import re

from conftest import FIDH, UN

from ingest.pipeline import load


def test_fidh_footnote_markers_resolve(fidh):
    doc, _ = fidh
    stats = doc.stats
    rate = stats["markers_resolved"] / stats["markers_found"]
    print(
        f"FIDH markers: {stats['markers_resolved']}/{stats['markers_found']} resolved ({rate:.1%})"
    )
    assert stats["markers_found"] >= 220
    assert rate >= 0.95


def test_fidh_footnotes_attached_not_inlined(fidh):
    doc, passages = fidh
    raw = FIDH.read_text(encoding="utf-8")
    note_lines = [m.group(1).strip() for m in re.finditer(r"^<sup>\d+\.</sup>(.+)$", raw, re.M)]
    for p in passages:
        assert "<sup>" not in p.text
        assert "$^" not in p.text
        for line in note_lines:
            if len(line) > 40:
                assert line not in p.text, f"footnote text inside passage {p.passage_id}"
    # the Criminal Code sentence carries note 23, whose text names the article
    p = next(p for p in passages if "stipulates punishment for human trafficking" in p.text)
    note = next(f for f in p.footnotes if f.number == "23")
    assert note.text.startswith("Article 128 of the Criminal Code of the Republic of Kazakhstan")
    # an HTML entity cut by the conversion ("<sup>29. &</sup>quot;Justice"") is rejoined
    assert doc.footnotes["29"] == '"Justice"'
    assert not any("&quot" in t or "& quot" in t for t in doc.footnotes.values())
    # a garbled marker ("<sup>668</sup>" where 68 is due) is repaired from the sequence
    p = next(p for p in passages if "my 22-year-old brother was deported" in p.text)
    assert "68" in [f.number for f in p.footnotes]


def test_fidh_contents_captions_and_back_matter_are_not_passages(fidh):
    _, passages = fidh
    text = "\n".join(p.text for p in passages)
    assert "TABLE OF CONTENTS" not in text
    assert "Infringement of the right of children to education</li>" not in text
    assert "©" not in text
    assert "Cover photo" not in text
    assert "Keep your eyes open" not in text
    assert "CONTACT US" not in text


def test_un_numbered_paragraphs_whole_and_findable(un):
    doc, passages = un
    raw = UN.read_text(encoding="utf-8")
    paragraphs = {
        int(m.group(1)): m.group(2).strip()
        for m in re.finditer(r"^\u00a0[\u00a0 ]*(\d{1,2})\. (.+)$", raw, re.M)
    }
    assert sorted(paragraphs) == list(range(1, 69))
    for n, body in paragraphs.items():
        holders = [p for p in passages if p.paragraph and _covers(p.paragraph, n)]
        assert len(holders) == 1, f"paragraph {n} is in {len(holders)} passages"
        text = holders[0].text
        words = body.split()
        # whole: its first and last words are in the same passage, in order
        head = " ".join(words[:8])
        tail = re.sub(r"\d+$", "", " ".join(words[-6:]))  # a glued note marker is removed
        assert f"{n}. {head}" in text, f"start of paragraph {n} missing"
        assert text.index(head) < text.rindex(tail.rstrip(".")), f"paragraph {n} cut"
    assert all(p.words <= 350 for p in passages)


def _covers(paragraph: str, n: int) -> bool:
    lo, _, hi = paragraph.partition("-")
    return int(lo) <= n <= int(hi or lo)


def test_un_notes_after_separator(un):
    doc, passages = un
    assert doc.footnotes["1"] == "See A/HRC/24/43/Add.1."
    p = next(p for p in passages if p.paragraph and _covers(p.paragraph, 1))
    assert [f.number for f in p.footnotes] == ["1"]
    assert "conducted in 2012, to assess" in p.text  # the glued marker "2012,1" is removed
    section = next(p for p in passages if p.paragraph == "67").section
    assert section == [
        "IV. Conclusions and recommendations",
        "B. Recommendations for the business community",
    ]


def test_fidh_testimonies(fidh):
    _, passages = fidh
    testimonies = [p for p in passages if p.passage_type == "testimony"]
    with_place_date = [p for p in testimonies if p.place and p.date]
    print(f"FIDH testimonies: {len(testimonies)}, with place and date: {len(with_place_date)}")
    assert len(testimonies) >= 20
    assert len(with_place_date) >= 0.6 * len(testimonies)
    babaraim = next(p for p in testimonies if "I was at the market in Osh" in p.text)
    assert babaraim.speaker == "Babaraim Akimov, a male Kyrgyz migrant"
    assert babaraim.place == "the village of Andarak, Kyrgyzstan"
    assert babaraim.date == "3 November 2017"
    shanghai = next(p for p in testimonies if "Many of us work illegally" in p.text)
    assert shanghai.speaker == "a migrant worker from Kyrgyzstan"
    assert shanghai.place == "Big Shanghai market, Astana"
    assert shanghai.date == "18 November 2017"
    assert shanghai.footnotes[0].number == "57"


def test_fidh_recommendations_have_addressees(fidh):
    _, passages = fidh
    recs = [p for p in passages if p.passage_type == "recommendation"]
    addressees = {p.addressee for p in recs}
    assert "the Kazakh authorities" in addressees
    assert "the ILO" in addressees
    assert "the Kyrgyz authorities" in addressees
    labour = next(p for p in recs if p.section[-1] == "On labour inspection")
    assert labour.section[:2] == ["Recommendations", "To the Kazakh authorities"]


def test_passage_sizes_offsets_and_ids(fidh, un):
    for doc, passages in (fidh, un):
        sizes = [p.words for p in passages]
        assert max(sizes) <= 350
        in_range = sum(40 <= s <= 350 for s in sizes) / len(sizes)
        assert in_range >= 0.85, f"{doc.doc_id}: only {in_range:.0%} of passages 40-350 words"
        for p in passages:
            assert doc.text[p.start : p.end] in p.text
            assert p.text.endswith(doc.text[p.start : p.end])
    # stable ids: same document and text give the same ids
    again = load(UN)[1]
    assert [p.passage_id for p in again] == [p.passage_id for p in un[1]]
    assert len({p.passage_id for p in fidh[1]}) == len(fidh[1])


def test_tables_keep_their_header(fidh):
    _, passages = fidh
    tables = [p for p in passages if p.passage_type == "table"]
    assert tables, "the ILO ratification table is a passage"
    assert any("Convention No. 97 on Migration for Employment" in p.text for p in tables)
    header = tables[0].text.split("\n", 1)[0]
    assert all(p.text.split("\n", 1)[0] == header for p in tables)


def test_legal_references_on_report_passages(fidh, un):
    _, passages = fidh
    p = next(p for p in passages if "stipulates punishment for human trafficking" in p.text)
    refs = {(r.instrument, r.article) for r in p.legal_refs}
    assert ("KZ-CRIMINAL-CODE", "128") in refs  # from footnote 23
    assert ("ICCPR", "8") in refs  # from the text
    p = next(p for p in un[1] if p.paragraph and _covers(p.paragraph, 42))
    assert ("KZ-CRIMINAL-CODE", "128") in {(r.instrument, r.article) for r in p.legal_refs}
