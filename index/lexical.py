"""BM25 over passages with bm25s, tokenised so that legal numbers stay findable.

"C029", "No. 29", "N°29" and "Convention 29" all yield the token "29"; "article 128" keeps
"128"; words are lower-cased, stop words dropped and stemmed (PyStemmer), so "passports taken"
finds "took their passport". Latin words go through the English stemmer, Cyrillic ones through
the Russian one ("медиатора", "медиатором" -> "медиатор"), each with its own stop words; Kazakh
letters are kept as letters (Kazakh has no stemmer: its words are matched as written).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_RUSSIAN

try:
    import Stemmer

    _stem_en = Stemmer.Stemmer("english").stemWords
    _stem_ru = Stemmer.Stemmer("russian").stemWords
except ImportError:  # stemming is an improvement, not a requirement
    def _stem_en(words: list[str]) -> list[str]:
        return words

    _stem_ru = _stem_en

KAZAKH = "әғқңөұүһі"  # the letters Kazakh adds to the Russian alphabet
TOKEN = re.compile(rf"[a-z]+|[а-яё{KAZAKH}]+|\d+")
STOP = set(STOPWORDS_EN) | set(STOPWORDS_RUSSIAN)
# A query with more distinct terms than this (a fact description of several hundred words) is
# reduced to its most specific terms, each counted once: otherwise its many common words
# ("court", "appellant", repeated twenty times) outweigh the few that identify the matter.
LONG_QUERY_TERMS = 40
# Bump when tokenize() changes: index files built with another version are rebuilt on open.
TOKENIZER_VERSION = "2"


def tokenize(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("n°", "no ").replace("№", "no ")
    tokens = []
    for t in TOKEN.findall(text):
        if t.isdigit():
            tokens.append(t.lstrip("0") or "0")
        elif t not in STOP and (len(t) > 1):
            tokens.append(t)
    kinds = [_kind(t) for t in tokens]
    en = iter(_stem_en([t for t, k in zip(tokens, kinds, strict=True) if k == "en"]))
    ru = iter(_stem_ru([t for t, k in zip(tokens, kinds, strict=True) if k == "ru"]))
    return [next(en) if k == "en" else next(ru) if k == "ru" else t
            for t, k in zip(tokens, kinds, strict=True)]


def _kind(token: str) -> str:
    """Which stemmer a token goes through: "en", "ru", or "" (numbers, Kazakh words)."""
    if token.isdigit():
        return ""
    if "a" <= token[0] <= "z":
        return "en"
    return "" if any(ch in KAZAKH for ch in token) else "ru"


class Lexical:
    """A bm25s index whose document i is passage i of the index's id list."""

    def __init__(self, model: bm25s.BM25 | None, size: int) -> None:
        self.model = model
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> Lexical:
        return cls.from_tokens([tokenize(t) for t in texts])

    @classmethod
    def from_tokens(cls, corpus: list[list[str]]) -> Lexical:
        """The index of passages already tokenized (an incremental rebuild keeps the tokens)."""
        if not corpus:  # bm25s cannot index an empty corpus
            return cls(None, 0)
        model = bm25s.BM25()
        model.index([tokens or ["<empty>"] for tokens in corpus], show_progress=False)
        return cls(model, len(corpus))

    def save(self, folder: Path) -> None:
        if self.model is not None:
            self.model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> Lexical:
        if size == 0:
            return cls(None, 0)
        return cls(bm25s.BM25.load(str(folder), show_progress=False), size)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a (tokenized) term; a term the collection
        never uses weighs most."""
        if self.model is None or term not in self.model.vocab_dict:
            return float(np.log(max(self.size, 1)) + 1)
        indptr = self.model.scores["indptr"]
        i = self.model.vocab_dict[term]
        df = int(indptr[i + 1] - indptr[i])
        return float(np.log((self.size - df + 0.5) / (df + 0.5) + 1))

    def search(self, query: str, k: int, mask: np.ndarray | None = None
               ) -> list[tuple[int, float]]:
        """(row, score) of the k best passages; mask (0/1 per row) filters inside retrieval."""
        if self.model is None:
            return []
        tokens = [t for t in tokenize(query) if t in self.model.vocab_dict]
        if not tokens:
            return []
        if len(set(tokens)) > LONG_QUERY_TERMS:
            tokens = sorted(set(tokens), key=lambda t: (-self.idf(t), t))[:LONG_QUERY_TERMS]
        scores = self.model.get_scores(tokens)
        if mask is not None:
            scores = np.where(mask > 0, scores, 0.0)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
