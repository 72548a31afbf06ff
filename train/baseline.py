"""``waspada baseline``: TF-IDF (word and character n-grams) + one-vs-rest logistic regression.

It reads the same config, tunes thresholds on dev the same way and is saved as a model
folder that ``waspada evaluate`` scores through the same Classifier, so a fine-tuned
encoder is always compared with it on the same footing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from waspada.inference.backends import BASELINE_FILE
from waspada.inference.metadata import ModelMetadata

from .config import WaspadaConfig
from .data import file_sha256, label_matrix, read_records
from .metrics import multilabel_metrics
from .thresholds import tune_thresholds
from .trainer import CONFIG_FILE, TrainResult, _atomic_replace_dir, library_versions

C_GRID = (1.0, 4.0, 16.0)
"""Inverse regularisation strengths tried; the best on dev macro-F1 is kept."""


def build_pipeline(c: float, seed: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(lowercase=True, ngram_range=(1, 2), min_df=1, sublinear_tf=True)),
        ("chars", TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                  sublinear_tf=True)),
    ])
    classifier = OneVsRestClassifier(
        LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed))
    return Pipeline([("features", features), ("classifier", classifier)])


def train_baseline(config: WaspadaConfig, output_dir: str | Path) -> TrainResult:
    import joblib

    started = time.time()
    data = config.data
    labels = list(data.labels)
    paths = [data.train, data.dev] + ([data.test] if data.test else [])
    splits = read_records(paths, labels, text_field=data.text_field, labels_field=data.labels_field,
                          split_names=["train", "dev", "test"][:len(paths)])
    prefix = config.model.text_prefix
    texts = [[prefix + r.text for r in split] for split in splits]
    ys = [label_matrix(split, labels).astype(bool) for split in splits]
    missing = [n for k, n in enumerate(labels) if ys[0][:, k].all() or not ys[0][:, k].any()]
    if missing:
        raise ValueError(f"the training data needs positive and negative examples of every label; "
                         f"not the case for {missing}")

    best: tuple[float, Any, list[float], dict[str, Any]] | None = None
    history = []
    for c in C_GRID:
        pipeline = build_pipeline(c, config.training.seed).fit(texts[0], ys[0])
        dev_scores = pipeline.predict_proba(texts[1])
        thresholds = tune_thresholds(ys[1], dev_scores, labels, config.training.threshold_tolerance)
        dev_metrics = multilabel_metrics(ys[1], dev_scores >= np.asarray(thresholds), labels)
        history.append({"C": c, "dev_macro_f1": dev_metrics["macro_f1"]})
        if best is None or dev_metrics["macro_f1"] > best[0]:
            best = (dev_metrics["macro_f1"], pipeline, thresholds, dev_metrics)
    assert best is not None
    _, pipeline, thresholds, dev_metrics = best
    test_metrics = None
    if data.test:
        test_scores = pipeline.predict_proba(texts[2])
        test_metrics = multilabel_metrics(ys[2], test_scores >= np.asarray(thresholds), labels)

    output_dir = Path(output_dir)
    staging = output_dir.with_name(f".{output_dir.name}.partial")
    staging.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, staging / BASELINE_FILE)
    resolved = config.to_dict()
    resolved["baseline"] = {"C_grid": list(C_GRID), "history": history}
    ModelMetadata(labels=labels, thresholds=[round(float(t), 6) for t in thresholds],
                  max_length=config.model.max_length, text_prefix=prefix, kind="tfidf",
                  config=resolved,
                  metrics={"dev": dev_metrics, **({"test": test_metrics} if test_metrics else {})},
                  versions=library_versions(),
                  data_hashes={str(p): file_sha256(p) for p in paths}).save(staging)
    (staging / CONFIG_FILE).write_text(config.to_yaml(), encoding="utf-8")
    _atomic_replace_dir(staging, output_dir)
    return TrainResult(output_dir=output_dir, thresholds=thresholds, dev_metrics=dev_metrics,
                       test_metrics=test_metrics, history=history, seconds=time.time() - started)
