import numpy as np
import pytest

from waspada.inference.backends import (BACKENDS, CPU_BATCH_ACTIVATIONS, TorchBackend, default_threads,
                                        length_sorted_batches, resolve_backend, sigmoid,
                                        unique_texts)
from waspada.inference.errors import WaspadaError
from waspada.inference.metadata import ModelMetadata


def test_length_sorted_batches_cover_every_index_once_longest_first():
    lengths = [5, 1, 9, 3, 9, 2, 7]
    batches = length_sorted_batches(lengths, 3)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    assert [len(b) for b in batches] == [3, 3, 1]


def test_default_threads_divides_cores_among_workers():
    cores = default_threads(1)
    assert cores >= 1
    assert default_threads(cores * 2) == 1
    assert default_threads(2) == max(1, cores // 2)


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(WaspadaError, match="unknown backend 'gpu'; choose one of"):
        resolve_backend("gpu")
    assert resolve_backend("torch") is BACKENDS["torch"]


def test_sigmoid_is_stable_for_large_logits():
    out = sigmoid(np.array([[-1000.0, 0.0, 1000.0]], dtype=np.float32))
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.0]], atol=1e-7)


def test_unique_texts_maps_every_input_to_its_first_copy():
    distinct, copy_from = unique_texts(["b", "a", "b", "c", "a"])
    assert distinct == ["b", "a", "c"]
    assert [distinct[i] for i in copy_from] == ["b", "a", "b", "c", "a"]
    assert unique_texts(["x", "y"]) == (["x", "y"], None)


def test_repeated_sentences_are_encoded_once_and_get_identical_scores(tiny_model):
    backend = TorchBackend(tiny_model, ModelMetadata.load(tiny_model), batch_size=4, device="cpu")
    rows_run = []
    run_batch = backend.run_batch

    def counting_run_batch(input_ids, attention_mask):
        rows_run.append(len(input_ids))
        return run_batch(input_ids, attention_mask)

    backend.run_batch = counting_run_batch
    sentences = ["Patroli malam ditambah menjadi tiga kali.", "Editor: Rina",
                 "Warga diminta tidak terpancing kabar bohong.", "Editor: Rina"]
    repeated = sentences * 3
    scores = backend.predict_proba(repeated)
    assert sum(rows_run) == 3  # three distinct texts in twelve
    once = backend.predict_proba(sentences[:3])
    np.testing.assert_array_equal(scores, once[[0, 1, 2, 1] * 3])


def test_token_cap_splits_long_batches_and_keeps_short_ones_whole():
    lengths = [100, 100, 100, 10, 10, 10, 10, 10, 10, 100]
    batches = length_sorted_batches(lengths, 4, max_tokens=250)
    sizes = [(len(b), max(lengths[i] for i in b)) for b in batches]
    assert sizes == [(2, 100), (2, 100), (4, 10), (2, 10)]
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    # One text longer than the cap still gets a batch of its own.
    assert [len(b) for b in length_sorted_batches([500, 5], 4, max_tokens=100)] == [1, 1]
    # No cap: count only.
    assert [len(b) for b in length_sorted_batches(lengths, 4)] == [4, 4, 2]


def test_token_cap_changes_batches_not_scores(tiny_model):
    metadata = ModelMetadata.load(tiny_model)
    texts = ["Patroli malam ditambah menjadi tiga kali."] + [
        "Polres menggelar apel pasukan pengamanan pemungutan suara dan menyiagakan personel "
        f"di {n} TPS rawan sepanjang malam menjelang hari pencoblosan." for n in range(1, 7)]
    capped = TorchBackend(tiny_model, metadata, batch_size=8, device="cpu", max_batch_tokens=64)
    whole = TorchBackend(tiny_model, metadata, batch_size=8, device="cpu", max_batch_tokens=0)
    assert capped.batch_token_cap() == 64 and whole.batch_token_cap() is None
    default = TorchBackend(tiny_model, metadata, device="cpu")
    hidden = default.model.config.hidden_size
    assert default.hidden_size == hidden
    assert default.batch_token_cap() == CPU_BATCH_ACTIVATIONS // hidden
    np.testing.assert_allclose(capped.predict_proba(texts), whole.predict_proba(texts), atol=1e-6)
    with pytest.raises(ValueError, match="max_batch_tokens must be >= 0"):
        TorchBackend(tiny_model, metadata, max_batch_tokens=-1)
