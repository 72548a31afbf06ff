"""Per-label decision thresholds tuned on the dev split."""

from __future__ import annotations

from typing import Sequence

import numpy as np

DEFAULT_THRESHOLD = 0.5


def best_threshold(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The threshold that maximises F1 of one label, and that F1.

    Every distinct score is a candidate cut, so the search is exact, O(n log n).
    The threshold returned is the midpoint between the lowest accepted score and the
    highest rejected one: a cut placed exactly on a dev score would flip on the next
    rounding. Ties in F1 go to the higher threshold (fewer false positives). A label with
    no positive on dev keeps 0.5: there is nothing to tune on.
    """
    y_true = np.asarray(y_true).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives = int(y_true.sum())
    if positives == 0 or len(scores) == 0:
        return DEFAULT_THRESHOLD, 0.0
    # Accepting the scores >= each distinct score is every cut there is; equal scores
    # always fall on the same side.
    distinct = np.unique(scores)
    f1 = f1_at(y_true, scores, distinct)
    best = float(f1.max())
    cut = int(np.flatnonzero(f1 == best)[-1])  # last = highest threshold among ties
    highest_rejected = distinct[cut - 1] if cut > 0 else 0.0
    return float((distinct[cut] + highest_rejected) / 2.0), best


def f1_at(y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """F1 of one label when accepting ``scores >= t``, for every ``t`` in ``thresholds``."""
    y_true = np.asarray(y_true).astype(bool)
    order = np.argsort(scores, kind="stable")
    ascending, positives_below = np.asarray(scores)[order], np.r_[0, np.cumsum(y_true[order])]
    first_accepted = np.searchsorted(ascending, thresholds, side="left")
    predicted = len(ascending) - first_accepted
    tp = positives_below[-1] - positives_below[first_accepted]
    denominator = predicted + positives_below[-1]
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def plateau_threshold(y_true: np.ndarray, scores: np.ndarray, tolerance: float,
                      step: float = 0.01) -> tuple[float, float]:
    """The middle of the thresholds whose F1 is within ``tolerance`` of the best, and its F1.

    On a dev set of a few hundred sentences the F1-by-threshold curve is jagged, and its
    single highest point is partly noise: it moves when half of dev is swapped. The middle
    of the near-best region moves less. Thresholds are tried on a grid of ``step`` in
    (0, 1); of the grid points within ``tolerance`` of the best F1 (found exactly by
    :func:`best_threshold`), the one nearest their median is returned, so the F1 given up
    on dev is at most ``tolerance``. ``tolerance`` 0 returns :func:`best_threshold`.
    """
    cut, best = best_threshold(y_true, scores)
    if tolerance <= 0 or not np.asarray(y_true).any():
        return cut, best
    grid = np.round(np.arange(step, 1.0, step), 10)
    f1 = f1_at(y_true, np.asarray(scores, dtype=np.float64), grid)
    near = np.flatnonzero(f1 >= best - tolerance - 1e-12)
    if len(near) == 0:  # the best cut lies between grid points with much lower F1
        return cut, best
    chosen = near[np.argmin(np.abs(grid[near] - np.median(grid[near])))]
    return float(grid[chosen]), float(f1[chosen])


def tune_thresholds(y_true: np.ndarray, scores: np.ndarray, labels: Sequence[str],
                    tolerance: float = 0.0) -> list[float]:
    """One threshold per label column, from that label's dev F1 curve.

    ``tolerance`` 0: the cut that maximises dev F1; above 0: :func:`plateau_threshold`.
    """
    return [plateau_threshold(y_true[:, k], scores[:, k], tolerance)[0] for k in range(len(labels))]
