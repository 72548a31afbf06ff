import numpy as np
import pytest

from waspada.train.thresholds import DEFAULT_THRESHOLD, best_threshold, f1_at, plateau_threshold, tune_thresholds


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


def _brute_f1(y, scores, t):
    predicted = scores >= t
    denominator = predicted.sum() + y.sum()
    return 2 * (predicted & y).sum() / denominator if denominator else 0.0


def test_f1_at_matches_brute_force():
    rng = np.random.default_rng(5)
    y = rng.random(300) < 0.3
    scores = np.round(np.clip(y * 0.25 + rng.random(300) * 0.75, 0, 1), 2)  # ties on purpose
    grid = np.linspace(0.0, 1.0, 101)
    expected = [_brute_f1(y, scores, t) for t in grid]
    np.testing.assert_allclose(f1_at(y, scores, grid), expected, atol=1e-12)


def test_plateau_with_zero_tolerance_is_the_best_cut():
    rng = np.random.default_rng(1)
    y = rng.random(120) < 0.4
    scores = np.clip(y * 0.3 + rng.random(120) * 0.7, 0, 1)
    assert plateau_threshold(y, scores, 0.0) == best_threshold(y, scores)


def test_a_narrow_peak_loses_to_the_middle_of_the_plateau():
    # 10 positives, 30 negatives. Cutting at 0.9 catches the three top positives and nothing
    # else (a spike of F1 by chance); from 0.35 to 0.65 F1 is flat and almost as good.
    y = np.array([1] * 10 + [0] * 30, dtype=bool)
    scores = np.r_[[0.95, 0.94, 0.93], [0.62, 0.6, 0.58, 0.5, 0.45, 0.4, 0.38],
                   [0.7, 0.68], np.linspace(0.02, 0.3, 28)]
    peak, peak_f1 = best_threshold(y, scores)
    middle, middle_f1 = plateau_threshold(y, scores, tolerance=0.05)
    assert middle < peak
    assert middle_f1 >= peak_f1 - 0.05
    assert middle_f1 == pytest.approx(_brute_f1(y, scores, middle))


def test_plateau_threshold_follows_its_definition():
    rng = np.random.default_rng(11)
    for trial in range(20):
        y = rng.random(200) < rng.uniform(0.1, 0.5)
        scores = np.clip(y * rng.uniform(0.1, 0.5) + rng.random(200) * 0.7, 0, 1)
        tolerance = [0.01, 0.02, 0.05][trial % 3]
        chosen, f1 = plateau_threshold(y, scores, tolerance)
        _, best = best_threshold(y, scores)
        grid = np.round(np.arange(0.01, 1.0, 0.01), 10)
        near = [t for t in grid if _brute_f1(y, scores, t) >= best - tolerance - 1e-12]
        assert chosen == pytest.approx(min(near, key=lambda t: abs(t - np.median(near))))
        assert f1 == pytest.approx(_brute_f1(y, scores, chosen)) and f1 >= best - tolerance - 1e-12


def test_tune_thresholds_passes_the_tolerance_to_every_column():
    rng = np.random.default_rng(4)
    y = rng.random((150, 2)) < [0.2, 0.5]
    scores = np.clip(y * 0.3 + rng.random((150, 2)) * 0.7, 0, 1)
    assert tune_thresholds(y, scores, ["a", "b"], tolerance=0.02) == [
        plateau_threshold(y[:, k], scores[:, k], 0.02)[0] for k in range(2)]
