"""Optional generative answers through any OpenAI-compatible chat endpoint (a local Ollama,
llama.cpp or vLLM server), used only when configured, and checked before they are shown:
every sentence must cite an existing passage, and any quoted text must occur verbatim in a
passage that sentence cites. A reply that fails, an error or a timeout falls back to the
extractive answer with a notice.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from index.search import Hit, Index

from .answer import _citation, sentences
from .answer_types import Answer, AnswerSentence

CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
QUOTE = re.compile(r"[\"“]([^\"”]{12,}?)[\"”]")
SYSTEM = (
    "You answer questions about human-rights reports and legal texts using ONLY the numbered "
    "passages given. Write at most four short sentences. End every sentence with the numbers of "
    "the passages that support it, like [1] or [2, 3]. Quote words from a passage only exactly "
    "as they are written there. If the passages do not answer the question, reply exactly: "
    "NOT ANSWERED."
)


@dataclass
class LLMConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0

    @classmethod
    def from_env(cls) -> LLMConfig | None:
        base, model = os.environ.get("OMBUDS_LLM_BASE_URL"), os.environ.get("OMBUDS_LLM_MODEL")
        if not base or not model:
            return None
        return cls(base.rstrip("/"), model, os.environ.get("OMBUDS_LLM_API_KEY"),
                   float(os.environ.get("OMBUDS_LLM_TIMEOUT", "60")))


def prompt(question: str, hits: list[Hit]) -> str:
    blocks = [f"[{i}] ({h.citation})\n{h.passage.text}" for i, h in enumerate(hits, start=1)]
    return "Passages:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"


def chat(config: LLMConfig, messages: list[dict]) -> str:
    body = json.dumps({"model": config.model, "messages": messages, "temperature": 0}).encode()
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    request = urllib.request.Request(f"{config.base_url}/chat/completions", data=body,
                                     headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=config.timeout) as response:
        reply = json.loads(response.read().decode("utf-8"))
    return reply["choices"][0]["message"]["content"]


def _norm(text: str) -> str:
    text = text.translate(str.maketrans({"“": '"', "”": '"', "’": "'", "‘": "'"}))
    return " ".join(text.split())


def check(reply: str, hits: list[Hit]) -> tuple[list[AnswerSentence], str | None]:
    """The reply's sentences with their citations, or the reason it cannot be shown."""
    out = []
    for s, e in sentences(reply.strip()):
        sentence = reply.strip()[s:e].strip()
        numbers = [int(n) for group in CITE.findall(sentence) for n in group.split(",")]
        text = CITE.sub("", sentence).strip()
        text = re.sub(r"\s+([.,;:])", r"\1", text)
        if not numbers:
            return [], f"a sentence cites no passage: \"{text[:80]}\""
        if any(not 1 <= n <= len(hits) for n in numbers):
            return [], f"a sentence cites a passage that does not exist: {numbers}"
        cited = " ".join(_norm(hits[n - 1].passage.text) for n in numbers)
        for quoted in QUOTE.findall(sentence):
            if _norm(quoted).strip(" .,") not in cited:
                return [], f"a quotation is not in the passage it cites: \"{quoted[:80]}\""
        out.append(AnswerSentence(text=text, citations=sorted(set(numbers))))
    if not out:
        return [], "the reply was empty"
    return out, None


def llm_answer(index: Index, question: str, hits: list[Hit], fallback: Answer,
               config: LLMConfig) -> Answer:
    """The generated answer when it passes the check, else the extractive one with a notice.
    When the extractive answerer declines (the corpus does not answer), the model is not asked:
    its fluent answer would still lack evidence."""
    if not hits or not fallback.answered:
        return fallback
    try:
        reply = chat(config, [{"role": "system", "content": SYSTEM},
                              {"role": "user", "content": prompt(question, hits)}])
    except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError) as e:
        reason = getattr(e, "reason", None) or str(e) or type(e).__name__
        return _fallback(fallback, f"the language model could not be used ({reason})")
    if reply.strip().upper().startswith("NOT ANSWERED"):
        if not fallback.answered:
            return fallback
        return _fallback(fallback, "the language model found no answer in the passages")
    checked, problem = check(reply, hits)
    if problem:
        return _fallback(fallback, f"the generated answer was not used: {problem}")
    used = sorted({n for s in checked for n in s.citations})
    renumber = {old: new for new, old in enumerate(used, start=1)}
    for s in checked:
        s.citations = [renumber[n] for n in s.citations]
    citations = []
    for old in used:
        hit = hits[old - 1]
        support = [q for s in checked if renumber[old] in s.citations
                   for q in QUOTE.findall(s.text)]
        citations.append(_citation(index, renumber[old], hit, support))
    text = " ".join(s.text + " " + "".join(f"[{n}]" for n in s.citations) for s in checked)
    return Answer(question=question, answered=True, mode="llm", answer=text, sentences=checked,
                  citations=citations, confidence=fallback.confidence)


def _fallback(answer: Answer, notice: str) -> Answer:
    answer.notice = notice + "; showing the extractive answer"
    return answer
