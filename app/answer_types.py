"""The answer's data types (see app/answer.py for how answers are made)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Citation:
    n: int  # the [n] used in the answer text
    passage_id: str
    doc_id: str
    doc_title: str
    citation: str  # pinpoint: "FIDH 2018, §I.2, n. 68", "A/HRC/27/53/Add.2, para. 13"
    section: list[str]
    page: int | None
    paragraph: str | None
    passage_type: str
    text: str  # the whole passage
    support: list[str]  # the sentence(s) of the passage that the answer uses, verbatim
    footnotes: list[dict]  # [{"number", "text"}]
    testimony: dict | None  # {"speaker", "place", "date", "source"} for a testimony
    # [{"instrument", "instrument_name", "article", "paragraph", "raw", "source", "label",
    #   "status", "doc_id",
    #   "passage_ids", "provisions": [{"passage_id", "citation", "text", ...}]}]
    legal_refs: list[dict]


@dataclass
class AnswerSentence:
    text: str  # verbatim from the cited passage, or from one of its notes
    citations: list[int]
    note: str | None = None  # the number of the cited passage's note it is from


@dataclass
class Answer:
    question: str
    answered: bool
    mode: str  # "extractive" or "llm"
    answer: str  # sentences with their [n] markers
    sentences: list[AnswerSentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    notice: str | None = None  # e.g. why the generative answer fell back to extractive
    nearest: list[dict] = field(default_factory=list)  # hits shown when not answered
    reason: str | None = None  # why the corpus does not answer, when it does not
    # the generative request, when an endpoint is configured (app/llm.py Generation.to_dict):
    # {"model", "outcome", "detail", "tokens", "seconds", "first_token_seconds",
    #  "last_token_seconds", "max_gap_seconds", "finish", "reply", "passages"}
    generation: dict | None = None
    # the answerability model's probability that the corpus answers the question (0 to 1)
    confidence: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)
