import numpy as np
import pytest

from waspada.inference.backends import (BACKENDS, default_threads, length_sorted_batches,
                                        resolve_backend, sigmoid)
from waspada.inference.errors import WaspadaError


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
