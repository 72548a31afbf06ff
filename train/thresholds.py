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
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_true = scores[order], y_true[order]
    tp = np.cumsum(sorted_true)
    predicted = np.arange(1, len(scores) + 1)
    # Only cut where the score changes: equal scores must fall on the same side.
    last_of_run = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    f1 = np.where(last_of_run, 2 * tp / (predicted + positives), -1.0)
    best = float(f1.max())
    cut = int(np.flatnonzero(f1 == best)[0])  # first = highest threshold among ties
    lowest_accepted = sorted_scores[cut]
    highest_rejected = sorted_scores[cut + 1] if cut + 1 < len(scores) else 0.0
    return float((lowest_accepted + highest_rejected) / 2.0), best


def tune_thresholds(y_true: np.ndarray, scores: np.ndarray, labels: Sequence[str]) -> list[float]:
    """One threshold per label column, each maximising that label's dev F1."""
    return [best_threshold(y_true[:, k], scores[:, k])[0] for k in range(len(labels))]
