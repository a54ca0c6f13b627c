"""BM25 over passages with bm25s, tokenised so that legal numbers stay findable.

"C029", "No. 29", "N°29" and "Convention 29" all yield the token "29"; "article 128" keeps
"128"; words are lower-cased, English stop words dropped and stemmed (PyStemmer), so "passports
taken" finds "took their passport".
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

try:
    import Stemmer

    _stem = Stemmer.Stemmer("english").stemWords
except ImportError:  # stemming is an improvement, not a requirement
    def _stem(words: list[str]) -> list[str]:
        return words

TOKEN = re.compile(r"[a-z]+|\d+")
STOP = set(STOPWORDS_EN)
# A query with more distinct terms than this (a fact description of several hundred words) is
# reduced to its most specific terms, each counted once: otherwise its many common words
# ("court", "appellant", repeated twenty times) outweigh the few that identify the matter.
LONG_QUERY_TERMS = 40


def tokenize(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("n°", "no ").replace("№", "no ")
    tokens = []
    for t in TOKEN.findall(text):
        if t.isdigit():
            tokens.append(t.lstrip("0") or "0")
        elif t not in STOP and (len(t) > 1):
            tokens.append(t)
    words = [t for t in tokens if not t.isdigit()]
    stems = iter(_stem(words))
    return [t if t.isdigit() else next(stems) for t in tokens]


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
