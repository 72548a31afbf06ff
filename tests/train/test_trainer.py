"""Tiny end-to-end: train -> save -> load -> predict -> evaluate, and determinism."""

import json
import math

import numpy as np
import pytest

from conftest import REPO, read_jsonl, tiny_overrides
from waspada.inference import Classifier, ModelMetadata
from waspada.train.config import load_config
from waspada.train.evaluate import evaluate
from waspada.train.trainer import CONFIG_FILE, train


def test_model_folder_is_complete(tiny_model):
    names = {p.name for p in tiny_model.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "waspada.json", CONFIG_FILE} <= names
    assert not any(n.startswith(".") or "partial" in n for n in names)
    meta = ModelMetadata.load(tiny_model)
    assert meta.labels == ["preemptive", "preventive", "neutrality", "threat_awareness"]
    assert len(meta.thresholds) == 4 and all(0 < t < 1 for t in meta.thresholds)
    assert set(meta.metrics) == {"dev", "test"}
    assert meta.config["model"]["backbone"] == "scratch:bert"
    assert "torch" in meta.versions and len(meta.data_hashes) == 3
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert config["id2label"]["3"] == "threat_awareness"


def test_saved_config_reproduces_the_run(tiny_model):
    saved = load_config(tiny_model / CONFIG_FILE)
    assert saved.to_dict() == ModelMetadata.load(tiny_model).config


def test_reload_gives_identical_scores_and_thresholds_apply(tiny_model, small_corpus):
    texts = [r["text"] for r in read_jsonl(small_corpus["dev"])]
    first = Classifier.load(tiny_model).predict_proba(texts)
    second = Classifier.load(tiny_model, batch_size=7).predict_proba(texts)
    np.testing.assert_array_equal(first.shape, (len(texts), 4))
    np.testing.assert_allclose(first, second, atol=1e-6)
    clf = Classifier.load(tiny_model)
    for prediction, row in zip(clf.predict(texts[:20]), first[:20]):
        expected = [n for n, s, t in zip(clf.labels, row, clf.thresholds) if s >= t]
        assert prediction.labels == expected
        assert list(prediction.scores) == clf.labels


def test_evaluate_reproduces_training_test_metrics(tiny_model, small_corpus, tmp_path):
    result = evaluate(tiny_model, small_corpus["test"], report_dir=tmp_path / "report")
    stored = ModelMetadata.load(tiny_model).metrics["test"]
    assert result.metrics["macro_f1"] == pytest.approx(stored["macro_f1"], abs=1e-6)
    for name, m in stored["per_label"].items():
        assert result.metrics["per_label"][name]["support"] == m["support"]
    files = {p.name for p in (tmp_path / "report").iterdir()}
    assert {"metrics.json", "report.md", "worst_errors.jsonl", "f1_per_label.png",
            "precision_recall.png", "label_cooccurrence.png"} <= files
    report = (tmp_path / "report" / "report.md").read_text()
    assert "threat_awareness" in report and "Macro F1" in report
    errors = [json.loads(l) for l in (tmp_path / "report" / "worst_errors.jsonl").read_text().splitlines()]
    margins = [e["confidence_of_error"] for e in errors]
    assert margins == sorted(margins, reverse=True)
    assert all(e["gold"] != e["predicted"] for e in errors)


def test_the_model_learns_something(tiny_model):
    # A trained tiny model must beat the all-positive guesser's macro-F1 on dev.
    meta = ModelMetadata.load(tiny_model)
    dev = meta.metrics["dev"]
    trivial = np.mean([2 * m["support"] / (m["support"] + dev["n"]) for m in dev["per_label"].values()])
    assert dev["macro_f1"] > trivial + 0.05


def test_same_seed_same_metrics_on_cpu(small_corpus, tmp_path):
    results = []
    for run in ("a", "b"):
        config = load_config(REPO / "configs" / "tiny.yaml",
                             tiny_overrides(small_corpus, tmp_path / run, **{"training.epochs": 1}))
        results.append(train(config, show_progress=False))
    assert results[0].dev_metrics == results[1].dev_metrics
    assert results[0].thresholds == results[1].thresholds
    a = Classifier.load(tmp_path / "a").predict_proba(["Patroli malam ditambah menjadi tiga kali."])
    b = Classifier.load(tmp_path / "b").predict_proba(["Patroli malam ditambah menjadi tiga kali."])
    np.testing.assert_array_equal(a, b)


def test_length_grouping_is_a_switch_of_the_training_order(small_corpus, tmp_path):
    """Both orders train; they see different batches, so their first losses differ."""
    losses = {}
    for grouped in (True, False):
        config = load_config(REPO / "configs" / "tiny.yaml",
                             tiny_overrides(small_corpus, tmp_path / str(grouped),
                                            **{"training.epochs": 1,
                                               "training.group_by_length": grouped}))
        result = train(config, show_progress=False)
        assert result.history and 0 <= result.dev_metrics["macro_f1"] <= 1
        losses[grouped] = result.history[0]["train_loss"]
    assert losses[True] != losses[False]


def test_dev_is_checked_mid_epoch_and_at_every_epoch_end(small_corpus, tmp_path):
    config = load_config(REPO / "configs" / "tiny.yaml",
                         tiny_overrides(small_corpus, tmp_path / "evals",
                                        **{"training.epochs": 2, "training.evaluations_per_epoch": 2,
                                           "training.early_stopping_patience": 0}))
    result = train(config, show_progress=False)
    per_epoch = math.ceil(len(read_jsonl(small_corpus["train"])) / config.training.batch_size)
    middle = per_epoch // 2
    assert [e["step"] for e in result.history] == [middle, per_epoch, per_epoch + middle, 2 * per_epoch]
    assert [e["epoch"] for e in result.history] == [1, 1, 2, 2]
    # the model kept is the best of those checks, and its dev score is the one reported
    assert result.dev_metrics["macro_f1"] == pytest.approx(max(e["dev_macro_f1"] for e in result.history))


def test_bad_data_stops_training_before_any_work(small_corpus, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "Halo.", "labels": ["patroli"]}\n', encoding="utf-8")
    config = load_config(REPO / "configs" / "tiny.yaml",
                         tiny_overrides({**small_corpus, "dev": bad}, tmp_path / "never"))
    with pytest.raises(ValueError, match=r"bad.jsonl:1: field 'labels': unknown label 'patroli'"):
        train(config, show_progress=False)
    assert not (tmp_path / "never").exists()
