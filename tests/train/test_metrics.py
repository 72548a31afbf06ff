import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from waspada.train.metrics import multilabel_metrics

LABELS = ["preemptive", "preventive", "neutrality", "threat_awareness"]


def test_agrees_with_scikit_learn():
    rng = np.random.default_rng(0)
    y_true = rng.random((300, 4)) < 0.3
    y_pred = rng.random((300, 4)) < 0.3
    m = multilabel_metrics(y_true, y_pred, LABELS)
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert m["micro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="micro", zero_division=0))
    for k, name in enumerate(LABELS):
        assert m["per_label"][name]["precision"] == pytest.approx(precision_score(y_true[:, k], y_pred[:, k], zero_division=0))
        assert m["per_label"][name]["recall"] == pytest.approx(recall_score(y_true[:, k], y_pred[:, k], zero_division=0))
        assert m["per_label"][name]["support"] == int(y_true[:, k].sum())
    assert m["exact_match"] == pytest.approx(np.mean((y_true == y_pred).all(axis=1)))


def test_no_label_precision_and_recall():
    y_true = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    y_pred = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=bool)
    none = multilabel_metrics(y_true, y_pred, LABELS)["no_label"]
    # predicted none: rows 0 and 1; truly none: rows 0 and 2
    assert none["precision"] == pytest.approx(0.5)
    assert none["recall"] == pytest.approx(0.5)
    assert none["support"] == 2


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        multilabel_metrics(np.zeros((2, 4)), np.zeros((2, 3)), LABELS)
