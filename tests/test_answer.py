"""`ombuds ask`: extractive answers whose sentences are verbatim from the cited passages, plain
refusals, and the optional generative mode checked over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from click.testing import CliRunner

from app import answerability
from app.answer import answer_question, sentences
from app.cli import cli
from app.llm import LLMConfig, check, llm_answer
from index.search import Filters, Index


@pytest.fixture(scope="module")
def index(corpus_data):
    return Index.open(corpus_data)


def test_sentence_splitting_keeps_abbreviations_and_initials():
    text = ("Article 2 of ILO Convention No. 29 defines it. Interview with Aziz M. in Batken. "
            "He said: \"We were not paid.\" Then we left.\nArticle 8\nNo one shall be held.")
    parts = [text[s:e] for s, e in sentences(text)]
    assert parts == ["Article 2 of ILO Convention No. 29 defines it.",
                     "Interview with Aziz M. in Batken.", 'He said: "We were not paid."',
                     "Then we left.", "Article 8", "No one shall be held."]


QUESTIONS = [
    "Do border guards take bribes from migrant workers?",
    "Are children of migrants able to go to school in Kazakhstan?",
    "What should the Government do about labour inspections according to the Special "
    "Rapporteur?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_answer_sentence_is_verbatim_from_a_cited_passage(index, question):
    a = answer_question(index, question)
    assert a.answered and a.mode == "extractive"
    by_n = {c.n: c for c in a.citations}
    assert a.sentences
    for s in a.sentences:
        assert s.citations and all(n in by_n for n in s.citations)
        assert any(s.text in by_n[n].text for n in s.citations), s.text
        assert f"{s.text} [{s.citations[0]}]" in a.answer
    for c in a.citations:
        assert c.citation and c.doc_title
        assert all(sup in c.text for sup in c.support)


def test_answer_sentences_lead_with_the_best_and_carry_confidence(index):
    m = answerability.models()
    a = answer_question(index, QUESTIONS[2])
    assert a.answered and m.threshold <= a.confidence <= 1
    assert a.citations[0].n == 1 and a.sentences[0].citations == [1]


def test_model_file_loads_and_gives_probabilities():
    m = answerability.load()
    assert 0 < m.threshold < 1 and 0 <= m.keep <= 1
    assert m.answerable.features == list(answerability.ANSWER_FEATURES)
    assert m.sentence.features == list(answerability.SENTENCE_FEATURES)
    rng = np.random.default_rng(0)
    for model in (m.answerable, m.sentence):
        x = rng.normal(model.mean, model.scale * 3, size=(50, len(model.features)))
        p = model.probability(x)
        assert p.shape == (50,) and np.all((p >= 0) & (p <= 1))
    assert m.raw["fit"]["split"] == "dev" and "auc" in m.raw["dev_cv"]


def test_question_analysis_is_general():
    idf = lambda t: 5.0  # noqa: E731 - every term equally rare
    idf.max = 10.0
    q = answerability.analyse("How many Uzbek migrants died in Russia in 2019?", idf)
    assert q.asks == "quantity"
    assert {(c.kind, c.text) for c in q.constraints} == {
        ("country", "Uzbek"), ("country", "Russia"), ("year", "2019")}
    assert answerability.asks_for("Within how many days must a migrant register?") == "duration"
    assert answerability.asks_for("What happened to the workers who demanded pay?") is None
    assert answerability.asks_for("When a family works a farm, who signs the contract?") == \
        "person"
    assert answerability.states("duration", "within five working days")
    assert not answerability.states("quantity", "under Article 128 of the Code, in 2017")
    assert answerability.states("quantity", "more than 1 million migrant workers")
    assert "^ilo" in answerability.initialisms("the International Labour Organization said")


def test_testimony_citation_carries_its_source(index):
    a = answer_question(index, QUESTIONS[0], filters=Filters(passage_type=["testimony"]))
    assert a.answered
    t = a.citations[0].testimony
    assert t is not None and t["source"] and (t["speaker"] or t["place"])
    assert ", n. " in a.citations[0].citation


def test_off_topic_question_is_declined_with_nearest_passages(index):
    a = answer_question(index, "What is the boiling point of mercury at sea level?")
    assert not a.answered
    assert "does not answer" in a.answer
    assert a.reason and a.reason in a.answer  # a human sentence saying why
    assert 0 <= a.confidence < answerability.models().threshold
    assert a.nearest and all("citation" in h for h in a.nearest)
    assert not a.citations and not a.sentences


def test_ask_cli_json_and_batch(corpus_data, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["ask", QUESTIONS[0], "--json", "--data-dir", str(corpus_data)])
    assert result.exit_code == 0, result.output
    a = json.loads(result.stdout)
    assert set(a) >= {"question", "answered", "mode", "answer", "sentences", "citations",
                      "reason", "confidence"}
    assert 0 <= a["confidence"] <= 1
    c = a["citations"][0]
    assert set(c) >= {"n", "passage_id", "doc_id", "doc_title", "citation", "section", "page",
                      "paragraph", "passage_type", "text", "support", "footnotes", "testimony",
                      "legal_refs"}
    path = tmp_path / "q.txt"
    path.write_text(f"{QUESTIONS[0]}\n\n{QUESTIONS[1]}\n", encoding="utf-8")
    result = runner.invoke(cli, ["ask", "--questions", str(path), "--data-dir", str(corpus_data)])
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [x["question"] for x in lines] == QUESTIONS[:2]
    result = runner.invoke(cli, ["ask", QUESTIONS[0], "--data-dir", str(corpus_data)])
    assert "[1] " in result.stdout and "> " in result.stdout and "confidence: " in result.stdout


def test_calibrate_end_to_end_on_a_sample(corpus_data, tmp_path):
    """`ombuds calibrate` refits both models on a few dev questions and writes a file that
    loads; the committed app/answerability.json is left alone."""
    committed = answerability.MODEL_PATH.read_bytes()
    out = tmp_path / "answerability.json"
    result = CliRunner().invoke(cli, ["calibrate", "--data-dir", str(corpus_data), "--output",
                                      str(out), "--repeats", "1", "--sample", "60"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "dev CV: " in result.output and "wrote " in result.output
    m = answerability.load(out)
    assert m.raw["fit"]["split"] == "dev" and 0 < m.threshold < 1
    assert answerability.MODEL_PATH.read_bytes() == committed


# --- the generative mode, against a local server speaking the OpenAI chat protocol -----------


class FakeModel(BaseHTTPRequestHandler):
    reply = ""
    delay = 0.0
    status = 200
    requests: list = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeModel.requests.append({"path": self.path, "body": body,
                                   "auth": self.headers.get("Authorization")})
        time.sleep(FakeModel.delay)
        if FakeModel.status != 200:
            self.send_response(FakeModel.status)
            self.end_headers()
            return
        payload = {"choices": [{"message": {"role": "assistant", "content": FakeModel.reply}}]}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the timeout test hangs up on purpose; the late reply's broken pipe is expected


@pytest.fixture(scope="module")
def server():
    httpd = QuietServer(("127.0.0.1", 0), FakeModel)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _ask_llm(index, server, reply, delay=0.0, status=200, timeout=5.0):
    FakeModel.reply, FakeModel.delay, FakeModel.status = reply, delay, status
    question = QUESTIONS[0]
    hits = index.search(question, k=5)
    fallback = answer_question(index, question, hits=hits)
    config = LLMConfig(server, "test-model", api_key="secret", timeout=timeout)
    return llm_answer(index, question, hits, fallback, config), hits


def test_llm_answer_that_passes_the_check_is_used(index, server):
    hits = index.search(QUESTIONS[0], k=5)
    words = hits[0].passage.text.split()
    quote = " ".join(words[3:12])
    reply = f'Migrants report that their documents were kept: "{quote}" [1]. See also [2].'
    a, _ = _ask_llm(index, server, reply)
    assert a.mode == "llm" and a.answered and a.notice is None
    assert [s.citations for s in a.sentences] == [[1], [2]]
    assert a.citations[0].passage_id == hits[0].passage.passage_id
    sent = FakeModel.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer secret"
    assert "[1]" in sent["body"]["messages"][1]["content"]


@pytest.mark.parametrize("reply, reason", [
    ("Employers keep passports. They also withhold wages [1].", "cites no passage"),
    ("Employers keep passports [9].", "does not exist"),
    ('The report says "employers always return passports on time" [1].', "not in the passage"),
])
def test_llm_answer_failing_the_check_falls_back(index, server, reply, reason):
    a, _ = _ask_llm(index, server, reply)
    assert a.mode == "extractive"
    assert reason in a.notice and "showing the extractive answer" in a.notice


def test_llm_errors_and_timeouts_fall_back(index, server):
    a, _ = _ask_llm(index, server, "Too late [1].", delay=1.5, timeout=0.5)
    assert a.mode == "extractive" and "could not be used" in a.notice
    a, _ = _ask_llm(index, server, "", status=500)
    assert a.mode == "extractive" and "could not be used" in a.notice
    config = LLMConfig("http://127.0.0.1:9/v1", "m", timeout=1)  # nothing listens there
    hits = index.search(QUESTIONS[0], k=3)
    fallback = answer_question(index, QUESTIONS[0], hits=hits)
    assert "could not be used" in llm_answer(index, QUESTIONS[0], hits, fallback, config).notice


def test_check_accepts_curly_quotes_and_multiple_citations(index):
    hits = index.search(QUESTIONS[0], k=3)
    quote = " ".join(hits[1].passage.text.split()[:10])
    checked, problem = check(f"As the report puts it, “{quote}” [1, 2].", hits)
    assert problem is None and checked[0].citations == [1, 2]


def test_ask_cli_uses_configured_endpoint(corpus_data, server, monkeypatch):
    monkeypatch.setenv("OMBUDS_LLM_BASE_URL", server)
    monkeypatch.setenv("OMBUDS_LLM_MODEL", "test-model")
    FakeModel.reply, FakeModel.delay, FakeModel.status = "Passports are withheld [1].", 0, 200
    result = CliRunner().invoke(cli, ["ask", QUESTIONS[0], "--json", "--data-dir",
                                      str(corpus_data)])
    a = json.loads(result.stdout)
    assert a["mode"] == "llm" and a["sentences"][0]["citations"] == [1]
    result = CliRunner().invoke(cli, ["ask", QUESTIONS[0], "--json", "--no-llm", "--data-dir",
                                      str(corpus_data)])
    assert json.loads(result.stdout)["mode"] == "extractive"
