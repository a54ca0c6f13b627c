"""Russian-language documents: the Kyrgyz mediation law of ../shared/pdfs as article-level
provisions, a Russian code's structure, language detection, Russian BM25 and the language
filter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, PDFS, copy_store

from app.cli import cli
from index.lexical import tokenize
from ingest.language import detect_language, is_cyrillic
from ingest.pipeline import load
from ingest.russian import act_header

LAW = PDFS / "kg-law-2025-257-mediation-russian.pdf"
INSTRUMENT = "KG-LAW-2025-257"
# A made-up law in the layout of the region's codes (groups, article titles on their line or
# the next, numbered parts with points), to check the structure; not a real act.
SAMPLE_CODE = """ЗАКОН РЕСПУБЛИКИ КАЗАХСТАН

от 2 марта 2020 года № 999-T

О защите трудящихся-мигрантов (образец для тестов)

РАЗДЕЛ 1. ОБЩИЕ ПОЛОЖЕНИЯ

Глава 1. Основные положения

Статья 1. Основные понятия

1. В настоящем Законе используются следующие понятия:

1) трудящийся-мигрант – физическое лицо, прибывшее для осуществления трудовой деятельности;

2) работодатель – лицо, с которым трудящийся-мигрант состоит в трудовых отношениях.

2. Иные понятия используются в значениях, определенных трудовым законодательством.

Статья 2.
Запрещение изъятия паспорта

1. Работодатель не вправе изымать или удерживать паспорт трудящегося-мигранта.

2. Изъятие паспорта влечет ответственность, установленную законом.

Глава 2. Трудовой договор

Статья 3. Форма трудового договора

Трудовой договор с трудящимся-мигрантом заключается в письменной форме на русском языке и на
языке, понятном трудящемуся-мигранту.
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def law():
    return load(LAW)


@pytest.fixture(scope="module")
def russian_data(corpus_data, tmp_path_factory) -> Path:
    """The two English reports, the Kyrgyz law and the sample law, indexed."""
    data = tmp_path_factory.mktemp("russian") / "data"
    copy_store(corpus_data, data)
    sample = tmp_path_factory.mktemp("sample") / "kz-sample-migrant-law.txt"
    sample.write_text(SAMPLE_CODE, encoding="utf-8")
    code, out, err = run("ingest", "-q", "--data-dir", str(data), str(CORPUS), str(LAW),
                         str(sample))
    assert code == 0, out + err
    return data


def test_the_law_becomes_its_articles(law) -> None:
    doc, passages = law
    assert doc.language == "ru"
    assert doc.kind == "law" and doc.jurisdiction == "KG" and doc.date == "2025-11-14"
    assert doc.title == ("Закон Кыргызской Республики «О внесении изменений в некоторые "
                         "законодательные акты Кыргызской Республики в сфере медиации»")
    provisions = [p for p in passages if p.passage_type == "provision"]
    assert {p.article for p in provisions} == {str(n) for n in range(1, 9)}
    assert all(p.instrument == INSTRUMENT for p in provisions)
    first = next(p for p in provisions if p.article == "1")
    assert first.text.startswith("Статья 1\nВнести в Гражданский процессуальный кодекс")
    assert first.page == 1 and first.paragraph.startswith("1")
    seventh = next(p for p in provisions if p.article == "7")
    assert seventh.page == 4 and "Трудовой кодекс" in seventh.text
    # the points "1)" ... "10)" of article 1 are its numbered paragraphs, across pages 1-2
    numbers = [p.paragraph for p in provisions if p.article == "1"]
    assert numbers[0].startswith("1") and numbers[-1].endswith("10")
    # the act's heading is kept as text, not lost
    assert any("от 14 ноября 2025 года № 257" in p.text for p in passages)


def test_each_article_is_found_with_ombuds_article(russian_data: Path) -> None:
    for n in range(1, 9):
        code, out, err = run("article", INSTRUMENT, str(n), "--json", "--data-dir",
                             str(russian_data))
        assert code == 0, err
        found = json.loads(out)
        assert found["article"] == str(n) and found["instrument"] == INSTRUMENT
        assert found["text"].startswith(f"Статья {n}")
    code, out, _ = run("article", "kg-law-2025-257-mediation-russian", "8", "--data-dir",
                       str(russian_data))  # by document id too
    assert code == 0 and "Настоящий Закон вступает в силу с 1 января 2027 года" in out
    code, _, err = run("article", INSTRUMENT, "9", "--data-dir", str(russian_data))
    assert code != 0 and "article 9" in err


def test_structure_of_a_russian_code(russian_data: Path, tmp_path: Path) -> None:
    sample = tmp_path / "sample.txt"
    sample.write_text(SAMPLE_CODE, encoding="utf-8")
    doc, passages = load(sample)
    assert doc.language == "ru" and doc.jurisdiction == "KZ" and doc.date == "2020-03-02"
    assert doc.short_title == "Закон РК № 999-T (2020)"
    by_article = {p.article: p for p in passages if p.passage_type == "provision"}
    assert set(by_article) == {"1", "2", "3"}
    one, two, three = by_article["1"], by_article["2"], by_article["3"]
    assert one.section == ["РАЗДЕЛ 1. ОБЩИЕ ПОЛОЖЕНИЯ", "Глава 1. Основные положения",
                           "Статья 1. Основные понятия"]
    assert one.paragraph == "1-2"  # parts 1 and 2; the points 1) 2) stay inside part 1
    assert "1) трудящийся-мигрант" in one.text
    assert two.section[-1] == "Статья 2. Запрещение изъятия паспорта"  # title on the next line
    assert three.section[:2] == ["РАЗДЕЛ 1. ОБЩИЕ ПОЛОЖЕНИЯ", "Глава 2. Трудовой договор"]
    code, out, _ = run("article", "KZ-LAW-2020-999-T", "2", "--data-dir", str(russian_data))
    assert code == 0 and "не вправе изымать или удерживать паспорт" in out


def test_language_detection(fidh, un, law) -> None:
    assert fidh[0].language == "en" and un[0].language == "en"
    assert law[0].language == "ru"
    assert detect_language("Қазақстан Республикасының Еңбек кодексі жұмыс берушінің міндеттерін "
                           "белгілейді. Жұмыс беруші еңбекші көшіп-қонушының жеке басын "
                           "куәландыратын құжаттарын ұстауға құқылы емес.") == "kk"
    assert detect_language("") == "en"
    assert detect_language("pdf encryption test password: asdfzxcv") == "en"  # too short
    assert is_cyrillic("медиатор") and not is_cyrillic("mediator") and not is_cyrillic("")


def test_tokenizer_stems_russian_and_keeps_english() -> None:
    assert tokenize("медиатора медиатором медиаторов") == ["медиатор"] * 3
    assert tokenize("в силу и с") == ["сил"]  # Russian stop words dropped
    assert tokenize("They took our passports, Convention No. 29 (C029)") == [
        "took", "our", "passport", "convent", "29", "29"]
    assert tokenize("Қазақстан Республикасының") == ["қазақстан", "республикасының"]


def test_a_russian_query_reaches_russian_passages(russian_data: Path) -> None:
    code, out, _ = run("search", "медиатор", "-k", "5", "--json", "--data-dir",
                       str(russian_data))
    assert code == 0
    result = json.loads(out)
    hits = result["hits"]
    assert hits and all(h["doc_id"] == "kg-law-2025-257-mediation-russian" for h in hits)
    assert "медиатор" in hits[0]["text"].lower()
    assert not hits[0]["text"].startswith("Настоящий Закон вступает в силу")
    assert "English-only" in result["note"]
    # an English question is answered from the English reports, with no note
    code, out, _ = run("search", "confiscation of passports", "-k", "5", "--json",
                       "--language", "en", "--data-dir", str(russian_data))
    english = json.loads(out)
    assert english["note"] is None and english["hits"]
    # the language filter
    code, out, _ = run("search", "паспорт трудящегося-мигранта", "-k", "5", "--json",
                       "--language", "ru", "--data-dir", str(russian_data))
    hits = json.loads(out)["hits"]
    assert hits[0]["doc_id"] == "kz-sample-migrant-law" and hits[0]["article"] == "2"
    code, out, _ = run("search", "паспорт", "--language", "fr", "--data-dir", str(russian_data))
    assert code == 0 and "no passage matches" in out


def test_act_header_of_a_code() -> None:
    head = act_header("ТРУДОВОЙ КОДЕКС РЕСПУБЛИКИ КАЗАХСТАН\n\nот 23 ноября 2015 года № 414-V\n\n"
                      "Статья 1. Основные понятия")
    assert head.title == "Трудовой кодекс Республики Казахстан" and head.kind == "code"
    assert head.date == "2015-11-23" and head.number == "414-V" and head.jurisdiction == "KZ"
    assert head.instrument == "KZ-CODE-2015-414-V"
