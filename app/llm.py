"""Optional generative answers through any OpenAI-compatible chat endpoint (a local llama.cpp,
Ollama or vLLM server), used only when configured, and checked before they are shown.

The request is bounded: `max_tokens`, stop strings, and a streamed reply (server-sent events)
read under two clocks, the whole request (`timeout`) and the wait for the next token
(`idle_timeout`), so a runaway or stalled reply is cut off instead of waited for. The client
also stops reading once the reply holds MAX_SENTENCES sentences.

The prompt numbers the best passages, trimmed to their best sentences when they would not fit
the model's context. The reply is shown only if every sentence cites a passage that exists,
every quotation is verbatim in a passage it cites, every number is in one, and most of its
words are; otherwise, and on any error or timeout, the extractive answer is shown with a notice
saying why (`Answer.generation` records the outcome).
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from index.lexical import tokenize
from index.search import Hit, Index

from .answer import _citation, sentences
from .answer_types import Answer, AnswerSentence
from .question import idf_of

CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
QUOTE = re.compile(r"[\"“]([^\"”]{12,}?)[\"”]")
NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d|(?<![\w.])\d(?![\w])")
NOT_ANSWERED = "NOT ANSWERED"
# One instruction and one example, short enough for a small model to follow: cite [n] after
# each sentence, use the passages' words, quote only verbatim.
SYSTEM = (
    "Answer the question with one to three sentences from the numbered passages. After each "
    "sentence write the number of its passage in brackets, like [1]. Use the passages' own "
    "words; put exact quotations in double quotes. If no passage answers, write: "
    f"{NOT_ANSWERED}.\n\n"
    "Example:\nPassages:\n[1] FIDH 2018, §II.1\nWorkers said the employer kept their passports "
    "until the end of the harvest.\nQuestion: Do employers keep passports?\nAnswer: Workers "
    "said the employer kept their passports until the end of the harvest [1]."
)
PROMPT_PASSAGES = 5  # the best hits the model sees
MAX_SENTENCES = 4  # the client stops reading once the reply has this many sentences
STOP = ["\n\n\n", "\nQuestion:", "\nPassages:"]  # the model starting over or a new turn
SUPPORT = 0.6  # share of a sentence's words (stemmed, stop words left out) in its passages
CHARS_PER_TOKEN = 3.5  # a conservative estimate for English prose (BPE tokenizers: ~4)
PROMPT_OVERHEAD = 40  # tokens: the chat template's markers and the labels' slack
ENV = {"base_url": "OMBUDS_LLM_BASE_URL", "model": "OMBUDS_LLM_MODEL",
       "api_key": "OMBUDS_LLM_API_KEY", "timeout": "OMBUDS_LLM_TIMEOUT",
       "idle_timeout": "OMBUDS_LLM_IDLE_TIMEOUT", "max_tokens": "OMBUDS_LLM_MAX_TOKENS",
       "context": "OMBUDS_LLM_CONTEXT"}


@dataclass
class LLMConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0  # seconds for the whole request, the wait for the first token included
    idle_timeout: float = 10.0  # seconds without a token, once the first one has come
    max_tokens: int = 256  # a few cited sentences
    context: int = 4096  # the model's context window in tokens: the prompt is trimmed to fit

    @classmethod
    def from_env(cls, **overrides) -> LLMConfig | None:
        """The configured endpoint (OMBUDS_LLM_*), or None when no base URL and model are set.
        Overrides that are not None (CLI options) win over the environment."""
        values = {k: os.environ.get(v) for k, v in ENV.items()}
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["base_url"] or not values["model"]:
            return None
        out = cls(str(values["base_url"]).rstrip("/"), str(values["model"]),
                  values["api_key"] or None)
        for name, kind in (("timeout", float), ("idle_timeout", float), ("max_tokens", int),
                           ("context", int)):
            if values[name] not in (None, ""):
                try:
                    setattr(out, name, kind(values[name]))
                except ValueError:
                    raise ValueError(f"{ENV[name]} must be a number, not {values[name]!r}") \
                        from None
        return out


class LLMError(Exception):
    """The endpoint could not give a reply: `kind` is "timeout" or "server error"."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass
class Progress:
    """The reply so far, while it streams: never shown as an answer, it is not checked yet."""

    text: str
    tokens: int
    seconds: float


@dataclass
class Generation:
    """What happened to one generative request, kept on the answer (`Answer.generation`).
    outcome: "shown" (passed the check), "unverified", "no answer", "timeout", "server error",
    or "not asked" (the extractive answerer declined, so there was nothing to rewrite)."""

    model: str
    outcome: str = "not asked"
    detail: str | None = None
    tokens: int = 0  # streamed chunks with text (one token each from llama.cpp)
    seconds: float = 0.0  # from sending the request to the end of the reply
    first_token_seconds: float | None = None
    last_token_seconds: float | None = None  # seconds - this: the wait after the last token
    max_gap_seconds: float = 0.0  # the longest wait between two tokens
    finish: str | None = None  # "stop", "length" (max_tokens), "sentences" (client stop rule)
    reply: str = ""
    passages: list[str] = field(default_factory=list)  # passage ids numbered in the prompt

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# --- the prompt -------------------------------------------------------------------------------


def _trim(text: str, limit: int, weight) -> str:
    """The passage's best sentences (by `weight`) in reading order, joined by " … ", within
    `limit` characters; the best one cut at a word when even it is longer."""
    spans = sentences(text)
    ranked = sorted(range(len(spans)), key=lambda i: -weight(text[spans[i][0]:spans[i][1]]))
    keep: list[int] = []
    used = 0
    for i in ranked:
        length = spans[i][1] - spans[i][0] + 3
        if used + length <= limit:
            keep.append(i)
            used += length
    if not keep:
        best = text[spans[ranked[0]][0]:spans[ranked[0]][1]] if spans else text
        return best[:limit].rsplit(" ", 1)[0] + " …"
    keep.sort()
    parts = [text[spans[i][0]:spans[i][1]].strip() for i in keep]
    out = parts[0]
    for prev, i, part in zip(keep, keep[1:], parts[1:], strict=False):
        out += (" " if i == prev + 1 else " … ") + part
    return out


def passage_texts(index: Index | None, question: str, hits: list[Hit], budget: int) -> list[str]:
    """The passages' texts for the prompt, within `budget` characters in all: whole when they
    fit; otherwise the shorter ones whole and each longer one cut to its share, keeping the
    sentences that share the most (IDF-weighted) words with the question."""
    texts = [h.passage.text.strip() for h in hits]
    if sum(map(len, texts)) <= budget:
        return texts
    idf = idf_of(index) if index is not None else (lambda t: 1.0)
    q_terms = set(tokenize(question))

    def weight(sentence: str) -> float:
        return sum(idf(t) for t in q_terms & set(tokenize(sentence)))

    out = list(texts)
    left, remaining = budget, len(texts)
    for i in sorted(range(len(texts)), key=lambda i: len(texts[i])):
        share = left // remaining
        if len(texts[i]) > share:
            out[i] = _trim(texts[i], share, weight)
        left -= len(out[i])
        remaining -= 1
    return out


def prompt(question: str, hits: list[Hit], index: Index | None = None,
           context: int = 4096, max_tokens: int = 256) -> str:
    """The user message: the numbered passages, then the question, within the context left
    after the instruction and the reply's max_tokens."""
    tokens = (context - max_tokens - PROMPT_OVERHEAD
              - (len(SYSTEM) + len(question)) / CHARS_PER_TOKEN)
    labels = [f"[{i}] {h.citation}\n" for i, h in enumerate(hits, start=1)]
    budget = int(tokens * CHARS_PER_TOKEN) - sum(len(x) + 2 for x in labels)
    texts = passage_texts(index, question, hits, max(budget, 200 * len(hits)))
    blocks = [label + text for label, text in zip(labels, texts, strict=True)]
    return "Passages:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}\nAnswer:"


# --- the request ------------------------------------------------------------------------------


def stream_chat(config: LLMConfig, messages: list[dict]) -> Iterator[tuple[str, str | None]]:
    """The reply's text as it streams, (delta, finish_reason) per chunk. Raises LLMError when
    no token comes within idle_timeout of the last one (timeout before the first), the whole
    reply takes longer than timeout, or the server fails. Closing the iterator early (a client
    stop rule) abandons the request: the reader thread hangs up at its next chunk."""
    body = {"model": config.model, "messages": messages, "temperature": 0, "stream": True,
            "max_tokens": config.max_tokens, "stop": STOP}
    headers = {"Accept": "text/event-stream"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    events: queue.Queue = queue.Queue()
    abandoned = threading.Event()

    def read() -> None:
        # httpx's read timeout is per read: the reader never blocks longer than `timeout`.
        limits = httpx.Timeout(config.timeout, connect=min(10.0, config.timeout))
        try:
            with httpx.Client(timeout=limits) as client, client.stream(
                    "POST", f"{config.base_url}/chat/completions", json=body,
                    headers=headers) as response:
                if response.status_code != 200:
                    response.read()
                    said = response.text.strip()[:120] or response.reason_phrase
                    events.put(("error", LLMError("server error",
                                                  f"HTTP {response.status_code}: {said}")))
                    return
                for line in response.iter_lines():
                    if abandoned.is_set():
                        return
                    if not line.startswith("data:"):
                        continue  # blank separators, comments (": ping"), event names
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if "error" in chunk:
                        message = chunk["error"]
                        message = message.get("message", message) if isinstance(message, dict) \
                            else message
                        events.put(("error", LLMError("server error", str(message)[:160])))
                        return
                    for choice in chunk.get("choices") or []:
                        delta = (choice.get("delta") or {}).get("content") or ""
                        events.put(("chunk", (delta, choice.get("finish_reason"))))
            events.put(("end", None))
        except httpx.TimeoutException:
            events.put(("error", LLMError("timeout", f"no reply within {config.timeout:g} s")))
        except httpx.HTTPError as e:
            events.put(("error", LLMError("server error", str(e) or type(e).__name__)))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            events.put(("error", LLMError("server error", f"unreadable stream: {e}")))

    threading.Thread(target=read, name="ombuds-llm-stream", daemon=True).start()
    start = time.monotonic()
    last: float | None = None  # when the last token came
    try:
        while True:
            deadline = start + config.timeout
            if last is not None:
                deadline = min(deadline, last + config.idle_timeout)
            try:
                kind, value = events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                if last is None:
                    raise LLMError("timeout", f"no token within {config.timeout:g} s") from None
                if time.monotonic() - last >= config.idle_timeout:
                    raise LLMError("timeout", f"no token for {config.idle_timeout:g} s after "
                                              "the last one") from None
                raise LLMError("timeout", f"the reply took longer than {config.timeout:g} s") \
                    from None
            if kind == "chunk":
                if value[0]:
                    last = time.monotonic()
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        abandoned.set()


def generate(config: LLMConfig, question: str, hits: list[Hit], index: Index | None = None
             ) -> Iterator[Progress | Generation]:
    """Stream one reply: Progress while it comes, then the Generation (outcome still "not
    asked" on success, for the caller to check; "timeout" or "server error" otherwise)."""
    gen = Generation(config.model, passages=[h.passage.passage_id for h in hits])
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": prompt(question, hits, index, config.context,
                                                   config.max_tokens)}]
    start = time.monotonic()
    last = start
    chunks = stream_chat(config, messages)
    try:
        for delta, finish in chunks:
            now = time.monotonic()
            if delta:
                gen.tokens += 1
                gen.reply += delta
                if gen.first_token_seconds is None:
                    gen.first_token_seconds = round(now - start, 3)
                else:
                    gen.max_gap_seconds = round(max(gen.max_gap_seconds, now - last), 3)
                last = now
                gen.last_token_seconds = round(now - start, 3)
                yield Progress(gen.reply, gen.tokens, now - start)
            if finish:
                gen.finish = finish
            spans = sentences(gen.reply)
            if len(spans) > MAX_SENTENCES:  # the first MAX_SENTENCES are complete
                gen.reply = gen.reply[:spans[MAX_SENTENCES - 1][1]]
                gen.finish = "sentences"
                break
    except LLMError as e:
        gen.outcome, gen.detail = e.kind, e.detail
    finally:
        chunks.close()
        gen.seconds = round(time.monotonic() - start, 3)
    yield gen


# --- the check --------------------------------------------------------------------------------


def _norm(text: str) -> str:
    text = text.translate(str.maketrans({"“": '"', "”": '"', "’": "'", "‘": "'"}))
    return " ".join(text.split())


def _haystack(hit: Hit) -> str:
    """What the model was given as passage [n]: its citation label and text, and its notes."""
    p = hit.passage
    return "\n".join([hit.citation, p.text, *(f.text for f in p.footnotes)])


def check(reply: str, hits: list[Hit]) -> tuple[list[AnswerSentence], str | None]:
    """The reply's sentences with their citations, or the reason it cannot be shown. Each
    sentence must cite an existing passage; its quotations must be verbatim and its numbers
    present in a passage it cites, and SUPPORT of its words in them."""
    out = []
    reply = reply.strip()
    for s, e in sentences(reply):
        sentence = reply[s:e].strip()
        numbers = [int(n) for group in CITE.findall(sentence) for n in group.split(",")]
        text = CITE.sub("", sentence).strip()
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        if numbers and _norm(text).strip(" .:") in {_norm(h.citation) for h in hits}:
            continue  # the passage's label echoed ("[1] FIDH 2018, §III.5"): not a sentence
        if not numbers:
            return [], f"a sentence cites no passage: \"{text[:80]}\""
        if any(not 1 <= n <= len(hits) for n in numbers):
            return [], f"a sentence cites a passage that does not exist: {numbers}"
        cited = " ".join(_norm(_haystack(hits[n - 1])) for n in numbers)
        for quoted in QUOTE.findall(sentence):
            if _norm(quoted).strip(" .,") not in cited:
                return [], f"a quotation is not in the passage it cites: \"{quoted[:80]}\""
        for number in (n.rstrip(".,") for n in NUMBER.findall(text)):
            if not re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d]|[.,]\d)", cited):
                return [], f"a number is not in the passage it cites: {number}"
        terms = set(tokenize(text))
        found = terms & set(tokenize(cited))
        if terms and len(found) < SUPPORT * len(terms):
            missing = ", ".join(sorted(terms - found)[:5])
            return [], (f"a sentence is not supported by the passage it cites (its words "
                        f"{missing} are not there): \"{text[:80]}\"")
        out.append(AnswerSentence(text=text, citations=sorted(set(numbers))))
    if not out:
        return [], "the reply was empty"
    return out, None


def _cut_off(reply: str) -> str:
    """A reply stopped at max_tokens without its last sentence: that unfinished sentence,
    without a citation yet, is dropped rather than failed."""
    spans = sentences(reply.strip())
    if spans and not CITE.search(reply.strip()[spans[-1][0]:spans[-1][1]]):
        return reply.strip()[:spans[-1][0]]
    return reply


# --- the answer -------------------------------------------------------------------------------


def llm_answer_stream(index: Index, question: str, hits: list[Hit], fallback: Answer,
                      config: LLMConfig) -> Iterator[Progress | Answer]:
    """Progress while the reply streams, then the answer: the generated one when it passes the
    check, else the extractive one with a notice. When the extractive answerer declines (the
    corpus does not answer), the model is not asked: its fluent answer would still lack
    evidence."""
    hits = hits[:PROMPT_PASSAGES]
    if not hits or not fallback.answered:
        fallback.generation = Generation(config.model).to_dict()
        yield fallback
        return
    gen: Generation | None = None
    for item in generate(config, question, hits, index):
        if isinstance(item, Generation):
            gen = item
        else:
            yield item
    assert gen is not None
    yield _decide(index, question, hits, fallback, gen)


def llm_answer(index: Index, question: str, hits: list[Hit], fallback: Answer,
               config: LLMConfig) -> Answer:
    """llm_answer_stream without the progress: the answer only."""
    *_, answer = llm_answer_stream(index, question, hits, fallback, config)
    return answer


def _decide(index: Index, question: str, hits: list[Hit], fallback: Answer,
            gen: Generation) -> Answer:
    if gen.outcome in ("timeout", "server error"):
        what = "timed out" if gen.outcome == "timeout" else "failed"
        return _fallback(fallback, gen, f"the language model {what} ({gen.detail})")
    reply = _cut_off(gen.reply) if gen.finish == "length" else gen.reply
    reply = re.sub(r"^\s*Answer:\s*", "", reply)  # the prompt's cue, echoed
    if reply.strip().upper().startswith(NOT_ANSWERED):
        gen.outcome = "no answer"
        return _fallback(fallback, gen, "the language model found no answer in the passages")
    checked, problem = check(reply, hits)
    if problem:
        if gen.finish == "length" and not reply.strip():
            problem = f"the reply reached max_tokens ({gen.tokens}) before a cited sentence"
        gen.outcome, gen.detail = "unverified", problem
        return _fallback(fallback, gen, f"the generated answer was not used: {problem}")
    gen.outcome = "shown"
    used = sorted({n for s in checked for n in s.citations})
    renumber = {old: new for new, old in enumerate(used, start=1)}
    for s in checked:
        s.citations = [renumber[n] for n in s.citations]
    citations = []
    for old in used:
        support = [q for s in checked if renumber[old] in s.citations
                   for q in QUOTE.findall(s.text)]
        citations.append(_citation(index, renumber[old], hits[old - 1], support))
    text = " ".join(s.text + " " + "".join(f"[{n}]" for n in s.citations) for s in checked)
    return Answer(question=question, answered=True, mode="llm", answer=text, sentences=checked,
                  citations=citations, generation=gen.to_dict(),
                  confidence=fallback.confidence)


def _fallback(answer: Answer, gen: Generation, notice: str) -> Answer:
    answer.notice = notice + "; showing the extractive answer"
    answer.generation = gen.to_dict()
    return answer
