"""The embedding backends: the int8 ONNX export (made offline, once, atomically), its agreement
with torch, and the rule that a store's vectors all come from the backend that built it."""

from __future__ import annotations

import re
import socket
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIDH, LEGAL

import index.embed as embed
from app.cli import cli
from index.embed import (
    DEFAULT_MODEL,
    Embedder,
    ModelError,
    configured_model,
    split_model,
    stored_model,
)
from index.search import Index, IndexError_, check_model, index_text
from index.store import Store
from index.update import put_document
from ingest.pipeline import parse, prepare

MODEL = DEFAULT_MODEL  # all-MiniLM-L6-v2-ombuds (index/tuned.py)
ONNX, TORCH = f"{MODEL}@onnx-int8", f"{MODEL}@torch"


def _no_network(*args, **kwargs):
    raise OSError("the network is not reachable in this test")


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    """A fresh export cache, filled once per session with the network cut off."""
    cache = tmp_path_factory.mktemp("ombuds-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMBUDS_CACHE", str(cache))
        mp.setattr(socket.socket, "connect", _no_network)
        embedder = Embedder(ONNX)
    return cache, embedder


@pytest.fixture(scope="session")
def torch_embedder():
    return Embedder(TORCH, "torch")


@pytest.fixture(scope="session")
def sentences():
    """About a hundred real sentences of the FIDH report."""
    text = FIDH.read_text(encoding="utf-8")
    found = [s for s in re.split(r"(?<=[.!?])\s+", text) if 40 <= len(s) <= 300 and "|" not in s]
    assert len(found) > 100
    return found[:: len(found) // 100]


# --- identities and configuration (no model) --------------------------------------------------


def test_identity_names_model_and_backend(monkeypatch):
    monkeypatch.setenv("OMBUDS_EMBED_BACKEND", "torch")
    assert configured_model() == TORCH and configured_model(MODEL) == TORCH
    assert configured_model(ONNX) == ONNX  # a backend in the name wins over the environment
    monkeypatch.setenv("OMBUDS_EMBED_BACKEND", "onnx-int8")
    assert configured_model() == ONNX and configured_model("my-model") == "my-model@onnx-int8"
    assert configured_model(TORCH) == TORCH == configured_model(configured_model(TORCH))
    assert split_model(ONNX) == (MODEL, "onnx-int8") and split_model(MODEL) == (MODEL, None)
    assert split_model("/models/mini@2") == ("/models/mini@2", None)  # not a backend
    assert stored_model(MODEL) == TORCH and stored_model(ONNX) == ONNX  # old stores: torch
    monkeypatch.setenv("OMBUDS_EMBED_BACKEND", "tensorflow")
    with pytest.raises(ModelError, match="onnx-int8"):
        configured_model()


def test_one_export_when_two_processes_ask_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("OMBUDS_CACHE", str(tmp_path))
    calls = []

    def slow_export(name, folder):
        calls.append(name)
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(b"half")
        time.sleep(0.5)  # a reader must never see this half-written folder as the export
        (folder / "ombuds-onnx.json").write_text("{}")

    monkeypatch.setattr(embed, "export_onnx_int8", slow_export)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(embed.onnx_model(MODEL)))
               for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    dest = embed.onnx_dir(MODEL)
    assert not dest.exists()  # still being written, under another name
    for t in threads:
        t.join()
    assert calls == [MODEL] and seen == [dest, dest]
    assert sorted(p.name for p in dest.iterdir()) == ["model.onnx", "ombuds-onnx.json"]
    assert [p.name for p in dest.parent.iterdir() if ".tmp-" in p.name] == []


def test_a_failed_export_falls_back_to_torch(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OMBUDS_CACHE", str(tmp_path))

    def broken(name, folder):
        folder.mkdir(parents=True)
        raise RuntimeError("no exporter here\nsecond line")

    monkeypatch.setattr(embed, "export_onnx_int8", broken)
    e = Embedder(ONNX)
    assert e.backend == "torch" and e.name == TORCH and e.dim == 384
    err = capsys.readouterr().err.strip().splitlines()
    fallback = [line for line in err if "using torch" in line]
    assert len(fallback) == 1 and "no exporter here" in fallback[0]
    assert "Traceback" not in "\n".join(err) and "second line" not in "\n".join(err)
    assert list(tmp_path.rglob("*.onnx")) == []  # nothing half-made left in the cache


# --- the real export ---------------------------------------------------------------------------


def test_onnx_export_is_offline_normalised_and_close_to_torch(onnx_cache, torch_embedder,
                                                              sentences):
    cache, e = onnx_cache
    assert e.backend == "onnx-int8" and e.name == ONNX and e.dim == 384
    assert e.identity == f"{ONNX} (384 dims)"
    assert list(cache.rglob("model.onnx")) and not list(cache.rglob("*fp32*"))
    v, t = e.encode(sentences), torch_embedder.encode(sentences)
    assert v.shape == (len(sentences), 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    cosine = (v * t).sum(1)
    assert cosine.min() > 0.98, cosine.min()
    # and the passages' windows are cut where torch cuts them (same tokenizer)
    long = " ".join(sentences)
    assert e.windows(long) == torch_embedder.windows(long) and len(e.windows(long)) > 1


def test_second_load_reuses_the_cached_export(onnx_cache, monkeypatch, sentences):
    cache, first = onnx_cache
    monkeypatch.setenv("OMBUDS_CACHE", str(cache))
    monkeypatch.setattr(embed, "export_onnx_int8", _no_network)  # exporting again would fail
    again = Embedder(ONNX)
    assert again.backend == "onnx-int8"
    assert np.array_equal(again.encode(sentences[:40]), first.encode(sentences[:40]))


def test_an_int8_vector_depends_on_its_text_alone(onnx_cache, sentences):
    """int8 activations are quantised per run: a text batched with others would get a vector
    that depends on them. Each runs alone, so the vector is the same embedded alone, among
    other texts, in another order, or on one worker instead of one per core."""
    _, e = onnx_cache
    texts = sentences[:30]
    together = e.encode(texts)
    alone = np.stack([e.encode([t])[0] for t in texts[:5]])
    shuffled = e.encode(texts[::-1])[::-1]
    one_worker = embed._Onnx(embed.onnx_model(MODEL), workers=1).encode(texts)
    assert np.allclose(together[:5], alone, atol=1e-6)
    assert np.allclose(together, shuffled, atol=1e-6)
    assert np.allclose(together, one_worker, atol=1e-6)
    # batched as before, the same texts get (slightly) different vectors: why they run alone
    batched = e.runner.encode(texts, 32)
    assert not np.allclose(together, batched, atol=1e-6)
    assert (together * batched).sum(1).min() > 0.97  # 0.979 for the tuned model, 0.98+ plain


# --- a store keeps the backend that built it -------------------------------------------------


def test_store_keeps_its_backend_until_reindex(tmp_path, monkeypatch, onnx_cache,
                                               torch_embedder):
    cache, onnx_embedder = onnx_cache
    monkeypatch.setenv("OMBUDS_CACHE", str(cache))
    data = tmp_path / "data"
    first, second = (LEGAL / "ilo-c105-abolition-forced-labour-1957.md",
                     LEGAL / "ilo-c182-worst-forms-child-labour-1999.md")

    def ombuds(*args):
        result = CliRunner().invoke(cli, [*args, "--data-dir", str(data)])
        assert result.exit_code == 0, result.output
        return result.output

    monkeypatch.setenv("OMBUDS_EMBED_BACKEND", "torch")
    ombuds("ingest", "-q", str(first))
    store = Store(data)
    assert store.get_meta("model") == TORCH
    torch_vectors = store.vectors()
    store.set_meta("model", MODEL)  # as stores made before backends record it

    # onnx configured: queries and a new document still use torch, the store's backend
    monkeypatch.setenv("OMBUDS_EMBED_BACKEND", "onnx-int8")
    assert check_model(store, ONNX) == TORCH
    index = Index.open(data)
    assert index.model_name == TORCH and index.embedder.backend == "torch"
    ombuds("ingest", "-q", str(second))
    assert store.get_meta("model") == TORCH  # said explicitly from now on
    doc_id = prepare(second).doc_id
    doc = next(d for d in store.documents() if d["doc_id"] == doc_id)
    passages = list(store.passages(doc_id))
    expected = torch_embedder.encode_passages([index_text(p, doc) for p in passages])
    stored = store.vectors(doc_id)
    assert all(np.allclose(stored[p.passage_id], v, atol=1e-5)
               for p, v in zip(passages, expected, strict=True))

    # writing int8 vectors into the torch store is refused, whichever way it is attempted
    doc, passages = parse(prepare(first))
    with pytest.raises(ModelError, match="not mixing"):
        put_document(store, onnx_embedder, doc, passages)
    with pytest.raises(IndexError_, match="some-model"):
        check_model(store, "some-model@onnx-int8")

    # reindex switches the store to the configured backend, and then that one is kept
    assert f"{ONNX} (384 dims)" in ombuds("reindex")
    assert store.get_meta("model") == ONNX
    monkeypatch.setenv("OMBUDS_EMBED_BACKEND", "torch")
    index = Index.open(data)
    assert index.model_name == ONNX and index.embedder.backend == "onnx-int8"
    now = store.vectors()
    cosine = [float((now[pid] * torch_vectors[pid]).sum(1).min()) for pid in torch_vectors]
    assert min(cosine) > 0.98 and max(cosine) < 0.99999  # close, and really re-embedded
    assert index.search("forced labour as a means of political coercion", mode="dense")



# --- --device cuda: a GPU when there is one, else the CPU, said in one line --------------------


@pytest.mark.parametrize("backend, reason", [
    ("onnx-int8", "the onnx-int8 backend runs on the CPU"),
    ("torch", "no CUDA device (torch.cuda.is_available() is false)"),
])
def test_ingest_device_cuda_falls_back_to_the_cpu_in_one_line(tmp_path, monkeypatch, onnx_cache,
                                                               backend, reason):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    cache, _ = onnx_cache
    monkeypatch.setenv("OMBUDS_CACHE", str(cache))
    monkeypatch.setenv("OMBUDS_EMBED_BACKEND", backend)
    embed._embedder.cache_clear()
    data = tmp_path / "data"
    law = LEGAL / "ilo-c105-abolition-forced-labour-1957.md"
    result = CliRunner().invoke(cli, ["ingest", "-q", "--device", "cuda", "--data-dir",
                                      str(data), str(law)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "GPU" in line]
    assert notes == [f"ombuds: embedding on the CPU, not a GPU: {reason}"
                     + ("; a GPU embeds for a store made with OMBUDS_EMBED_BACKEND=torch"
                        if backend == "onnx-int8" else "")]
    store = Store(data)
    assert store.vectors_count() == len(list(store.passages())) > 0
    assert store.get_meta("model") == f"{MODEL}@{backend}"
    embed._embedder.cache_clear()


def test_unknown_device_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("OMBUDS_DEVICE", "tpu")
    result = CliRunner().invoke(cli, ["ingest", "-q", "--data-dir", str(tmp_path / "d"),
                                      str(LEGAL / "ilo-c105-abolition-forced-labour-1957.md")])
    assert result.exit_code == 2 and "'tpu' is not one of 'cpu', 'cuda'" in result.output
