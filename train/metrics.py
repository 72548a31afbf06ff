"""Multi-label metrics: per-label and macro F1 first, never accuracy alone."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Per-label precision/recall/F1/support, micro and macro F1, exact match, no-label P/R.

    ``y_true`` and ``y_pred`` are boolean (or 0/1) matrices of shape (n, len(labels)).
    A label with no support and no prediction scores F1 0 in the macro average, as in
    scikit-learn's ``zero_division=0``: absent labels are not free points.
    """
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[1] != len(labels):
        raise ValueError(f"shape mismatch: true {y_true.shape}, pred {y_pred.shape}, {len(labels)} labels")
    per_label: dict[str, dict[str, float]] = {}
    tp_all = fp_all = fn_all = 0
    for k, name in enumerate(labels):
        t, p = y_true[:, k], y_pred[:, k]
        tp, fp, fn = float(np.sum(t & p)), float(np.sum(~t & p)), float(np.sum(t & ~p))
        precision, recall, f1 = _prf(tp, fp, fn)
        per_label[name] = {"precision": precision, "recall": recall, "f1": f1,
                           "support": int(t.sum()), "predicted": int(p.sum())}
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    micro_p, micro_r, micro_f1 = _prf(tp_all, fp_all, fn_all)
    none_true, none_pred = ~y_true.any(axis=1), ~y_pred.any(axis=1)
    none_p, none_r, none_f1 = _prf(float(np.sum(none_true & none_pred)),
                                   float(np.sum(~none_true & none_pred)),
                                   float(np.sum(none_true & ~none_pred)))
    return {
        "n": int(y_true.shape[0]),
        "macro_f1": float(np.mean([m["f1"] for m in per_label.values()])),
        "micro_f1": micro_f1,
        "micro_precision": micro_p,
        "micro_recall": micro_r,
        "exact_match": float(np.mean(np.all(y_true == y_pred, axis=1))) if len(y_true) else 0.0,
        "no_label": {"precision": none_p, "recall": none_r, "f1": none_f1,
                     "support": int(none_true.sum())},
        "per_label": per_label,
    }
