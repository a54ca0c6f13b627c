"""The app as a person uses it: `python -m app.web` started as a subprocess on the two shipped
reports, driven in Debian's Chromium (/usr/bin/chromium) through Playwright.

One server and one browser page for the whole module; each test works in its own view and saves
a screenshot to tests/artifacts/. scripts/install-browser.sh installs chromium (apt) and
playwright (pip); Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import copy_store, running_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
UPLOAD = """# Notes from the brick kilns

## Wages withheld at the kilns

The foreman at the Zhezkazgan kilns withheld the wages of seasonal brickmakers for three
months and called it the quokka arrangement <script>window.__ombuds_xss = 1</script>.
Workers could not leave before the season ended.
"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is absent: run scripts/install-browser.sh (apt-get install "
           "chromium, pip install playwright)")


@pytest.fixture(scope="module")
def app_url(full_data, tmp_path_factory):
    """`python -m app.web` on a private copy of the indexed reports and legal texts; yields
    (url, start time, data dir)."""
    data = tmp_path_factory.mktemp("browser") / "data"
    copy_store(full_data, data)
    log = tmp_path_factory.mktemp("browser-log") / "server.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    started = time.perf_counter()
    with running_app(data, log, env) as url:
        yield url, started, data


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright  # installed by scripts/install-browser.sh

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                      accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app_url[0])
        page.wait_for_selector("#ask-question textarea")
        yield page
        context.close()
        browser.close()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def add(page, button: str, items: int) -> None:
    """Click an "add to collection" button and wait until the collection holds `items`."""
    page.click(button)
    toast = page.get_by_text(f"Added to the collection ({items} item")
    toast.first.wait_for(state="attached", timeout=60_000)


def shot(page, name: str) -> None:
    """A full-page screenshot of the view, without the passing "Added to the collection" toasts."""
    page.add_style_tag(content=".toast-wrap { display: none !important; }")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_script_ran(page) -> bool:
    return page.evaluate("typeof window.__ombuds_xss") == "undefined"


def test_ask_shows_the_answer_and_its_citations(page, app_url):
    page.fill("#ask-question textarea", "Do employers confiscate the passports of migrant workers?")
    page.click("#ask-button")
    answer = page.wait_for_selector("#ask-output .ob-banner.ob-ok")
    first = time.perf_counter() - app_url[1]
    (ARTIFACTS / "timing.txt").write_text(
        f"from `python -m app.web` to the first answered question in the browser: {first:.1f} s\n")
    print(f"\nstart to first answered question: {first:.1f} s")
    assert "[1]" in answer.inner_text()
    cited = page.locator("#ask-output article.ob-card")
    assert cited.count() >= 1
    assert "FIDH 2018" in cited.first.locator(".ob-cite").inner_text()
    assert cited.first.locator("mark").count() >= 1  # the supporting sentence
    cited.first.locator("details.ob-context summary").click()
    assert cited.first.locator("details.ob-context .ob-focus").is_visible()
    cited.first.locator("button.ob-copy").click()
    page.wait_for_function("document.querySelector('#ask-output button.ob-copy')"
                           ".textContent === 'Copied'")
    page.locator("#ask-pick label").first.click()
    add(page, "#ask-add", 1)
    add(page, "#ask-add-answer", 2)
    shot(page, "ask")

    page.fill("#ask-question textarea", "What is the boiling point of mercury in Fahrenheit?")
    page.click("#ask-button")
    refusal = page.wait_for_selector("#ask-output .ob-banner.ob-no")
    assert "does not answer" in refusal.inner_text()
    assert page.locator("#ask-output article.ob-card").count() >= 1
    shot(page, "ask-unanswered")


def test_filtered_search_opens_the_section_scrolled_to_the_result(page):
    open_tab(page, "Search")
    page.fill("#search-query textarea", "wages withheld by the employer")
    page.get_by_text("Filters").nth(1).click()  # the Search tab's filters (Ask's come first)
    page.locator("#search-type label", has_text="testimony").click()
    page.fill("#search-from textarea, #search-from input", "2017-11")
    page.click("#search-button")
    page.wait_for_selector("#search-results article.ob-card")
    results = page.locator("#search-results article.ob-card")
    assert results.count() >= 1
    for i in range(results.count()):
        assert results.nth(i).locator(".ob-badge").inner_text() == "testimony"
    page.locator("#search-pick label").nth(results.count() - 1).click()
    focus = page.wait_for_selector("#search-section mark.ob-focus")
    page.wait_for_timeout(300)
    visible = page.evaluate("""() => {
        const box = document.querySelector('#search-section .ob-section-text');
        const mark = box.querySelector('mark.ob-focus');
        return mark.offsetTop + 10 >= box.scrollTop
            && mark.offsetTop < box.scrollTop + box.clientHeight;
    }""")
    assert visible and focus.is_visible()
    add(page, "#search-add", 3)
    shot(page, "search")


def test_provisions_view_opens_a_cited_article(page):
    open_tab(page, "Provisions")
    page.fill("#provisions-situation textarea",
              "the farmer kept the passports of a family of tobacco pickers and paid them "
              "nothing until the end of the harvest")
    page.fill("#provisions-k input[type=number]", "5")
    page.press("#provisions-k input[type=number]", "Enter")
    page.click("#provisions-button")
    page.wait_for_selector("#provisions-results section.ob-instrument")
    results = page.locator("#provisions-results")
    assert results.locator("h3.ob-inst-h").count() >= 2  # grouped by instrument
    assert results.locator("article.ob-art").count() == 5
    first = results.locator("article.ob-art").first
    assert first.locator(".ob-article-text").is_visible()  # the article's text, open
    assert "Cited by" in first.inner_text()
    law = results.locator("details.ob-law").first  # a cited report passage's reference
    text = law.locator(".ob-law-text").first
    assert not text.is_visible()
    law.locator("summary").click()
    text.wait_for(state="visible")
    assert text.inner_text().strip().startswith("Article")
    assert law.locator(".ob-law-cite").first.is_visible()
    shot(page, "provisions")


def test_testimonies_view(page):
    open_tab(page, "Testimonies")
    summary = "document.querySelector('#testimony-output .ob-summary')?.textContent"
    page.wait_for_function(summary)  # all testimonies, shown when the page loads
    everything = page.evaluate(summary)
    page.fill("#testimony-place textarea, #testimony-place input", "Astana")
    page.click("#testimony-button")
    page.wait_for_function(f"({summary}) !== {everything!r}")
    cards = page.locator("#testimony-output article.ob-card")
    assert cards.count() >= 1
    assert "Astana" in cards.first.locator(".ob-attr").inner_text()
    assert cards.first.locator(".ob-notes li").count() >= 1  # the source footnote
    shot(page, "testimonies")


def test_upload_a_file_and_find_it(page, app_url, tmp_path):
    open_tab(page, "Library")
    path = tmp_path / "Kiln notes.md"
    path.write_text(UPLOAD, encoding="utf-8")
    page.set_input_files("#library-upload input[type=file]", str(path))
    # the file's name, as Gradio labels it (it shows the stem and the extension in two spans)
    page.wait_for_selector("#library-upload [aria-label='Kiln notes.md'], "
                           "#library-upload a[download='Kiln notes.md']")
    page.click("#library-ingest")
    page.wait_for_function("document.querySelector('#library-log textarea')"
                           "?.value.includes('ingested: Kiln notes.md')")
    assert page.locator("#library-table", has_text="kiln-notes").count() == 1
    assert (app_url[2] / "uploads" / "kiln-notes.md").is_file()
    shot(page, "library")

    open_tab(page, "Search")
    page.locator("#search-type label", has_text="testimony").click()  # clear the filters
    page.fill("#search-from textarea, #search-from input", "")
    page.fill("#search-query textarea", "quokka arrangement at the brick kilns")
    page.click("#search-button")
    page.wait_for_selector("#search-results article.ob-card >> text=Zhezkazgan")
    card = page.locator("#search-results article.ob-card").first
    assert "Notes from the brick kilns" in card.inner_text()
    assert "<script>window.__ombuds_xss = 1</script>" in card.inner_text()  # shown, as text
    assert no_script_ran(page)


def test_collection_export_to_word(page, tmp_path):
    import docx

    open_tab(page, "Collection")
    view = page.locator("#collection-view")
    page.wait_for_selector("#collection-view article.ob-card")
    assert view.locator("article.ob-card").count() >= 3  # a passage, an answer, a testimony
    page.fill("#collection-title textarea, #collection-title input", "Passports: training pack")
    page.click("#collection-docx")
    link = page.wait_for_selector("#collection-file a[download], #collection-file a")
    with page.expect_download() as download:
        link.click()
    path = ARTIFACTS / "collection.docx"
    download.value.save_as(str(path))
    shot(page, "collection")
    document = docx.Document(str(path))
    text = [p.text for p in document.paragraphs]
    assert text[0] == "Passports: training pack"
    assert any(t.startswith("1. ") and "FIDH 2018" in t for t in text)
    assert any(t.startswith("Source: FIDH and ADC") for t in text)
    assert "Sources" in text
    assert no_script_ran(page)
