"""Length-grouped training order: a permutation per epoch, groups kept, padding cut."""

from __future__ import annotations

import random

import pytest
import torch
from torch.utils.data import DataLoader

from waspada.train.batching import LengthGroupedSampler


def _lengths(n: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(5, 80) for _ in range(n)]


def _padded_tokens(batches: list[list[int]], lengths: list[int]) -> int:
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def test_each_epoch_is_a_permutation_and_epochs_differ():
    lengths = _lengths(1003)
    sampler = LengthGroupedSampler(lengths, 16, torch.Generator().manual_seed(1), group_batches=5)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(1003))
    assert sorted(second) == list(range(1003))
    assert first != second


def test_same_seed_same_sequence_of_epochs():
    lengths = _lengths(500)
    a = LengthGroupedSampler(lengths, 8, torch.Generator().manual_seed(7))
    b = LengthGroupedSampler(lengths, 8, torch.Generator().manual_seed(7))
    assert [list(a), list(a)] == [list(b), list(b)]


def test_longest_batch_first_short_batch_last_and_dataloader_keeps_the_groups():
    lengths = _lengths(1003)
    size = 16
    sampler = LengthGroupedSampler(lengths, size, torch.Generator().manual_seed(3), group_batches=4)
    expected = LengthGroupedSampler(lengths, size, torch.Generator().manual_seed(3), group_batches=4).batches()
    assert max(lengths[i] for i in expected[0]) == max(lengths)
    assert [len(b) for b in expected[:-1]] == [size] * (len(expected) - 1)
    assert len(expected[-1]) == 1003 % size
    # The DataLoader cuts the flat order into runs of batch_size: they must be our batches.
    loader = DataLoader(list(range(1003)), batch_size=size, sampler=sampler)
    assert [batch.tolist() for batch in loader] == expected


def test_grouping_pads_far_less_than_random_batches():
    lengths = _lengths(3000)
    size = 16
    grouped = LengthGroupedSampler(lengths, size, torch.Generator().manual_seed(0)).batches()
    order = torch.randperm(3000, generator=torch.Generator().manual_seed(0)).tolist()
    shuffled = [order[i:i + size] for i in range(0, 3000, size)]
    real = sum(lengths)
    assert _padded_tokens(grouped, lengths) / real < 1.1
    assert _padded_tokens(shuffled, lengths) / real > 1.3


def test_batches_are_mixed_across_the_length_range():
    """Not a global sort: long and short batches alternate in the epoch's order."""
    lengths = list(range(1, 1601))  # length = index + 1
    batches = LengthGroupedSampler(lengths, 16, torch.Generator().manual_seed(0), group_batches=10).batches()
    longest = [max(lengths[i] for i in b) for b in batches[1:]]
    assert longest != sorted(longest) and longest != sorted(longest, reverse=True)
    # chunks of 160 shuffled indices: a batch spans a narrow slice of its chunk's range
    assert all(max(lengths[i] for i in b) - min(lengths[i] for i in b) < 800 for b in batches)


@pytest.mark.parametrize("n,size", [(0, 4), (3, 8), (8, 8)])
def test_small_inputs(n, size):
    sampler = LengthGroupedSampler(_lengths(n), size, torch.Generator().manual_seed(0))
    assert sorted(sampler) == list(range(n))
    assert len(sampler) == n


@pytest.mark.parametrize("kwargs,message", [({"batch_size": 0}, "batch_size"),
                                            ({"batch_size": 4, "group_batches": 0}, "group_batches")])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LengthGroupedSampler([3, 4], generator=torch.Generator(), **kwargs)
