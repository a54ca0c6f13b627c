"""A linear query adapter: a question's vector q becomes normalise(q + q·A) before it is searched.

MiniLM places a layperson's question ("can my boss sack me while I'm off ill?") far from the
law's wording ("termination ... at the initiative of the employer during temporary incapacity
for work"). A = 0 is the model as shipped; A is fitted (`ombuds calibrate`, eval/adapter.py) on
the dev questions only, so that each question's vector moves toward the sentences holding its
gold evidence and away from the others, with a penalty on A's size that keeps it close to the
model's own geometry. Only queries move: stored passage and sentence vectors are the model's,
so the adapter can be refitted, replaced or switched off without re-embedding anything.

The fitted matrix ships in index/query_adapter.npz with the model it was fitted for; another
model (another dimension or name) gets none. OMBUDS_QUERY_ADAPTER=off switches it off, a path
uses another file.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

ADAPTER_PATH = Path(__file__).resolve().with_name("query_adapter.npz")
ENV_ADAPTER = "OMBUDS_QUERY_ADAPTER"


@dataclass(frozen=True)
class QueryAdapter:
    matrix: np.ndarray  # dim x dim, float32
    model: str  # the model name it was fitted for, without the backend ("all-MiniLM-L6-v2")
    info: dict = field(default_factory=dict)  # how it was fitted (split, questions, settings)

    def apply(self, vector: np.ndarray) -> np.ndarray:
        moved = vector + vector @ self.matrix
        return (moved / max(float(np.linalg.norm(moved)), 1e-12)).astype(np.float32)


def base_model(identity: str) -> str:
    """"all-MiniLM-L6-v2@onnx-int8" -> "all-MiniLM-L6-v2": the backends' vectors agree to
    int8 rounding, so one adapter serves both."""
    return identity.split("@", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def save_adapter(adapter: QueryAdapter, path: Path = ADAPTER_PATH) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, matrix=adapter.matrix.astype(np.float16),
                        meta=np.array(json.dumps({"model": adapter.model, **adapter.info})))
    os.replace(tmp, path)


def read_adapter(path: Path) -> QueryAdapter:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        matrix = data["matrix"].astype(np.float32)
    return QueryAdapter(matrix, meta.pop("model"), meta)


def adapter_for(identity: str, dim: int) -> QueryAdapter | None:
    """The adapter to apply to this model's queries, or None: switched off, no file, or fitted
    for another model."""
    setting = os.environ.get(ENV_ADAPTER, "").strip()
    if setting.lower() in ("off", "0", "none", "no"):
        return None
    path = Path(setting) if setting else ADAPTER_PATH
    try:
        stamp = path.stat().st_mtime_ns  # a file refitted since is read again by a new index
    except OSError:
        if setting:
            _missing(path)
        return None
    return _load(path, stamp, base_model(identity), dim)


@cache
def _missing(path: Path) -> None:
    print(f"ombuds: ignoring the query adapter {path} ({ENV_ADAPTER}): no such file",
          file=sys.stderr)


@cache
def _load(path: Path, stamp: int, model: str, dim: int) -> QueryAdapter | None:
    try:
        adapter = read_adapter(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        # searching still works, with the model's own vectors; said once per file version
        print(f"ombuds: ignoring the query adapter {path}: unreadable ({e})", file=sys.stderr)
        return None
    if adapter.model != model or adapter.matrix.shape != (dim, dim):
        return None
    return adapter
