"""The tuned model, all-MiniLM-L6-v2-ombuds (index/tuned.py), and its fit (eval/tune.py), on
the real model and corpus."""

from __future__ import annotations

import numpy as np
import pytest

from eval import run as ev
from eval import tune
from index.embed import ENV_MODEL, _load_sentence_transformer, configured_model, get_embedder
from index.search import Index
from index.tuned import (
    BASE_MODEL,
    TUNED_MODEL,
    TUNING_PATH,
    apply_tuning,
    load_tuning,
    save_tuning,
    tuned_model_dir,
)


def test_the_shipped_tuning_changes_biases_only_and_was_fitted_on_dev():
    deltas, info = load_tuning(TUNING_PATH)
    assert info["fitted_on"] == "dev" and info["questions"] >= 200 and info["base"] == BASE_MODEL
    assert deltas and all(name.endswith("bias") for name in deltas)
    model = _load_sentence_transformer(BASE_MODEL)
    params = dict(model.named_parameters())
    biases = [n for n in params if n.endswith("bias")]
    assert sorted(deltas) == sorted(biases)
    assert sum(d.size for d in deltas.values()) < 0.002 * sum(p.numel() for p in params.values())
    assert 0 < max(float(np.abs(d).max()) for d in deltas.values()) < 1  # small moves


def test_the_tuned_model_is_assembled_once_and_embeds_differently(tmp_path, monkeypatch):
    monkeypatch.setenv("OMBUDS_CACHE", str(tmp_path / "cache"))
    folder = tuned_model_dir()
    assert (folder / "modules.json").exists() and TUNED_MODEL in folder.name
    assert tuned_model_dir() == folder  # the second call finds it
    text = ["My boss took my passport and will not give it back."]
    base = get_embedder(f"{BASE_MODEL}@torch").encode(text)[0]
    tuned = get_embedder(f"{TUNED_MODEL}@torch").encode(text)[0]
    assert 0.8 < float(base @ tuned) < 0.9999  # the same model, moved


def test_interpolation_runs_from_the_plain_model_to_the_fitted_one(tmp_path):
    from index.tuned import assemble

    deltas, _ = load_tuning(TUNING_PATH)
    text = ["My boss took my passport and will not give it back."]
    base = get_embedder(f"{BASE_MODEL}@torch").encode(text)[0]
    full = get_embedder(f"{TUNED_MODEL}@torch").encode(text)[0]
    none = assemble(tune.interpolated(deltas, 0.0), tmp_path / "none")
    half = assemble(tune.interpolated(deltas, 0.5), tmp_path / "half")
    assert np.allclose(get_embedder(f"{none}@torch").encode(text)[0], base, atol=1e-6)
    halfway = get_embedder(f"{half}@torch").encode(text)[0]
    assert float(halfway @ base) > float(full @ base) and float(halfway @ full) < 0.9999


def test_a_tuning_file_for_another_model_is_refused(tmp_path):
    path = tmp_path / "t.npz"
    save_tuning({"0.auto_model.embeddings.LayerNorm.bias": np.zeros(768, np.float32)},
                {"fitted_on": "dev"}, path)
    deltas, info = load_tuning(path)
    assert info == {"fitted_on": "dev"}
    model = _load_sentence_transformer(BASE_MODEL)
    with pytest.raises(ValueError, match="does not fit"):
        apply_tuning(model, deltas)


def test_the_tuned_model_is_the_default_and_the_plain_one_is_asked_for_by_name(monkeypatch):
    monkeypatch.delenv(ENV_MODEL, raising=False)
    assert configured_model() == f"{TUNED_MODEL}@onnx-int8"
    assert configured_model(BASE_MODEL) == f"{BASE_MODEL}@onnx-int8"


def test_the_default_answer_models_are_the_tuned_models_fitted_out_of_fold():
    from app import answerability as am

    default = am.load(am.MODEL_PATH).raw
    assert default["model"] == TUNED_MODEL and "tune.out_of_fold" in default["fit"]["evidence"]
    plain = am.load(am.models_path(f"{BASE_MODEL}@onnx-int8")).raw
    assert plain["model"] == BASE_MODEL and "adapter.out_of_fold" in plain["fit"]["evidence"]


def test_a_store_of_a_shipped_model_keeps_it_when_no_model_is_named(monkeypatch):
    monkeypatch.delenv(ENV_MODEL, raising=False)
    for stored in (f"{BASE_MODEL}@onnx-int8", f"{TUNED_MODEL}@onnx-int8"):
        assert configured_model(None, stored) == stored
    assert configured_model(None, BASE_MODEL) == f"{BASE_MODEL}@torch"  # recorded bare: torch's
    other = TUNED_MODEL if configured_model().startswith(BASE_MODEL + "@") else BASE_MODEL
    assert configured_model(other, f"{BASE_MODEL}@torch").startswith(other + "@")  # named wins
    monkeypatch.setenv(ENV_MODEL, other)
    assert configured_model(None, f"{BASE_MODEL}@torch").startswith(other + "@")
    monkeypatch.delenv(ENV_MODEL)
    # a model ombuds does not ship is not loaded silently: check_model refuses the mix
    assert configured_model(None, "some-other-model") == configured_model()


def test_a_store_of_the_plain_model_goes_on_as_it_was_until_reindex(tmp_path, monkeypatch):
    """A store embedded before the tuned model became the default: opened, added to and asked
    without --model, it keeps the plain model, its query adapter and its answer models;
    `ombuds reindex` moves it to the tuned default."""
    from click.testing import CliRunner
    from conftest import LEGAL

    from app import answerability as am
    from app.cli import cli
    from index.store import Store

    monkeypatch.delenv(ENV_MODEL, raising=False)
    data = tmp_path / "data"

    def ombuds(*args):
        result = CliRunner().invoke(cli, [*args, "--data-dir", str(data)])
        assert result.exit_code == 0, result.output
        return result.output

    ombuds("ingest", "-q", "--model", BASE_MODEL,
           str(LEGAL / "ilo-c105-abolition-forced-labour-1957.md"))
    store = Store(data)
    assert store.get_meta("model") == f"{BASE_MODEL}@onnx-int8"
    ombuds("ingest", "-q", str(LEGAL / "ilo-c182-worst-forms-child-labour-1999.md"))
    assert store.get_meta("model") == f"{BASE_MODEL}@onnx-int8"  # no mix, no refusal
    index = Index.open(data)
    assert index.model_name == f"{BASE_MODEL}@onnx-int8" and index.adapter is not None
    assert am.models(identity=index.model_name).raw["model"] == BASE_MODEL
    assert index.search("forced labour as a punishment for striking", k=3)
    assert "ombuds reindex" not in ombuds("search", "worst forms of child labour")

    ombuds("reindex")
    assert store.get_meta("model") == f"{TUNED_MODEL}@onnx-int8"
    index = Index.open(data)
    assert index.model_name == f"{TUNED_MODEL}@onnx-int8" and index.adapter is None
    assert am.models(identity=index.model_name).raw["model"] == TUNED_MODEL


def test_each_embedding_model_reads_its_own_answer_models_when_calibrated(tmp_path, monkeypatch):
    from app import answerability as am

    default = configured_model()
    other = TUNED_MODEL if default.startswith(BASE_MODEL + "@") else BASE_MODEL
    assert am.models_path(default) == am.MODEL_PATH and am.models_path(None) == am.MODEL_PATH
    monkeypatch.setattr(am, "MODEL_PATH", tmp_path / "answerability.json")
    own = tmp_path / f"answerability-{other}.json"
    assert am.models_path(f"{other}@torch") == am.MODEL_PATH  # none calibrated for it yet
    assert am.models_path(f"{other}@onnx-int8", own=True) == own  # where calibrate writes
    own.write_text("{}")
    assert am.models_path(f"{other}@torch") == own


def test_the_naive_baseline_borrows_no_tuning():
    from types import SimpleNamespace

    from eval.naive import tutorial_embedder

    tuned_index = SimpleNamespace(model_name=f"{TUNED_MODEL}@torch", embedder=None)
    assert tutorial_embedder(tuned_index).identity.startswith(f"{BASE_MODEL}@torch")
    plain = get_embedder(f"{BASE_MODEL}@torch")
    assert tutorial_embedder(SimpleNamespace(model_name=plain.identity, embedder=plain)) is plain


@pytest.fixture(scope="module")
def dev_sample(full_data) -> tuple[Index, list[dict]]:
    index = Index.open(full_data)
    dev = [q for q in ev.load_questions() if q.get("split", "dev") == "dev" and q["answerable"]]
    return index, dev[:12]


def test_training_triples_pair_a_question_with_its_gold_and_a_bm25_negative(dev_sample):
    index, dev = dev_sample
    triples = tune.training_triples(index, dev)
    assert len(dev) <= len(triples) <= 2 * len(dev)
    by_question = {}
    for question, positive, negative in triples:
        by_question.setdefault(question, []).append((positive, negative))
    for q in dev:
        pairs = by_question.get(q["question"], [])
        quotes = [ev.normalise(e["quote"]) for e in q["evidence"]]
        for positive, negative in pairs:
            assert positive != negative
            assert not any(quote in ev.normalise(negative) for quote in quotes)
        if pairs:  # the passage-level positive holds a gold quote (its context line in front)
            assert any(quote[:60] in ev.normalise(pairs[0][0]) for quote in quotes)
    assert tune.training_triples(index, dev) == triples  # no model in it: the same every time


def test_fitting_moves_biases_only_and_lowers_the_loss(dev_sample):
    index, dev = dev_sample
    triples = tune.training_triples(index, dev)[:8]
    logged = []
    deltas = tune.fit_biases(triples, epochs=2, log=logged.append)
    assert deltas and all(name.endswith("bias") for name in deltas)
    assert any(float(np.abs(d).max()) > 0 for d in deltas.values())
    first, last = (float(line.split("mean loss ")[1].split()[0]) for line in (logged[0],
                                                                             logged[-1]))
    assert last < first
