import numpy as np
import pytest

from waspada.train.thresholds import DEFAULT_THRESHOLD, best_threshold, tune_thresholds


def test_separable_scores_get_a_cut_between_the_classes():
    y = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    threshold, f1 = best_threshold(y, scores)
    assert f1 == pytest.approx(1.0)
    assert threshold == pytest.approx(0.5)  # midpoint of 0.3 and 0.7
    assert ((scores >= threshold) == y.astype(bool)).all()


def test_known_optimum_with_overlap():
    # Cutting at 0.6 accepts 0.6, 0.8, 0.9 (two positives): P 2/3, R 2/3 -> F1 0.667.
    # Cutting at 0.35 accepts everything above 0.3 (three positives of four accepted): P 3/4, R 1.
    y = np.array([1, 0, 1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.6, 0.3, 0.4, 0.1])
    threshold, f1 = best_threshold(y, scores)
    assert f1 == pytest.approx(2 * 0.75 * 1.0 / 1.75)
    assert 0.3 < threshold <= 0.4
    predicted = scores >= threshold
    assert predicted.sum() == 4 and (predicted & y.astype(bool)).sum() == 3


def test_equal_scores_fall_on_the_same_side():
    y = np.array([1, 0, 0])
    scores = np.array([0.5, 0.5, 0.1])
    threshold, f1 = best_threshold(y, scores)
    # One cannot accept the positive without the tied negative: F1 = 2*1/(2+1).
    assert f1 == pytest.approx(2 / 3)
    assert 0.1 < threshold <= 0.5


def test_no_positive_keeps_default():
    assert best_threshold(np.zeros(4), np.array([0.1, 0.9, 0.3, 0.2])) == (DEFAULT_THRESHOLD, 0.0)


def test_tune_thresholds_per_column_matches_brute_force():
    rng = np.random.default_rng(3)
    y = rng.random((200, 3)) < [0.1, 0.3, 0.5]
    scores = np.clip(y * 0.3 + rng.random((200, 3)) * 0.7, 0, 1)
    thresholds = tune_thresholds(y, scores, ["a", "b", "c"])
    for k in range(3):
        def f1_at(t):
            p = scores[:, k] >= t
            tp = (p & y[:, k]).sum()
            return 2 * tp / (p.sum() + y[:, k].sum())
        brute = max(f1_at(t) for t in np.unique(scores[:, k]))
        assert f1_at(thresholds[k]) == pytest.approx(brute)
