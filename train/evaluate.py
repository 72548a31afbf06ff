"""``waspada evaluate``: score a model folder on labeled data, the same way for every model.

Fine-tuned encoders, the TF-IDF baseline and exported ONNX back ends all go through
:class:`~waspada.inference.Classifier` with their stored thresholds, so their numbers
are comparable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from waspada.inference import Classifier
from waspada.inference.metadata import write_json_atomic, write_text_atomic

from .data import Record, label_matrix, read_records
from .metrics import multilabel_metrics
from .report import metrics_markdown, write_plots


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    scores: np.ndarray
    y_true: np.ndarray
    records: list[Record]
    comparison: dict[str, Any] | None = None


def worst_errors(records: Sequence[Record], y_true: np.ndarray, scores: np.ndarray,
                 thresholds: np.ndarray, labels: Sequence[str], limit: int = 25) -> list[dict[str, Any]]:
    """The most confident wrong decisions: a false positive far above its threshold or a
    false negative far below it, ranked by that distance."""
    decided = scores >= thresholds
    wrong = decided != y_true.astype(bool)
    margin = np.where(wrong, np.abs(scores - thresholds), 0.0)
    rows = []
    for i in np.argsort(-margin.max(axis=1))[:limit]:
        if not wrong[i].any():
            break
        rows.append({
            "id": records[i].id, "text": records[i].text, "gold": records[i].labels,
            "predicted": [n for n, on in zip(labels, decided[i]) if on],
            "scores": {n: round(float(s), 4) for n, s in zip(labels, scores[i])},
            "confidence_of_error": round(float(margin[i].max()), 4),
        })
    return rows


def evaluate(model_dir: str | Path | None, data_path: str | Path, *, backend: str | None = None,
             compare_backend: str | None = None, report_dir: str | Path | None = None,
             text_field: str = "text", labels_field: str = "labels",
             batch_size: int = 64) -> Evaluation:
    """Metrics of the model at ``model_dir`` on ``data_path``; writes a report if asked.

    ``compare_backend`` scores the same data with a second back end of the same folder
    (e.g. ``onnx-int8`` against ``torch``) and reports label agreement, the largest score
    difference and the change in macro-F1.
    """
    classifier = Classifier.load(model_dir, backend=backend, batch_size=batch_size)
    labels = classifier.labels
    (records,) = read_records([data_path], labels, text_field=text_field, labels_field=labels_field)
    y_true = label_matrix(records, labels).astype(bool)
    texts = [r.text for r in records]
    scores = classifier.predict_proba(texts)
    metrics = multilabel_metrics(y_true, classifier.decide(scores), labels)
    metrics["thresholds"] = dict(zip(labels, map(float, classifier.thresholds)))
    metrics["backend"] = classifier.backend.name
    metrics["data"] = str(data_path)
    comparison = None
    if compare_backend:
        other = Classifier.load(model_dir, backend=compare_backend, batch_size=batch_size)
        other_scores = other.predict_proba(texts)
        other_metrics = multilabel_metrics(y_true, other.decide(other_scores), labels)
        same = classifier.decide(scores) == other.decide(other_scores)
        comparison = {
            "backend": compare_backend,
            "label_agreement": float(same.mean()) if same.size else 1.0,
            "sentence_agreement": float(same.all(axis=1).mean()) if len(same) else 1.0,
            "max_abs_score_diff": float(np.abs(scores - other_scores).max()) if len(scores) else 0.0,
            "macro_f1": other_metrics["macro_f1"],
            "macro_f1_change": metrics["macro_f1"] - other_metrics["macro_f1"],
        }
        metrics["comparison"] = comparison
    evaluation = Evaluation(metrics=metrics, scores=scores, y_true=y_true, records=records,
                            comparison=comparison)
    if report_dir is not None:
        write_report(Path(report_dir), evaluation, labels, classifier.thresholds,
                     title=f"{classifier.model_dir} on {data_path}")
    return evaluation


def write_report(report_dir: Path, evaluation: Evaluation, labels: Sequence[str],
                 thresholds: np.ndarray, title: str) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    errors = worst_errors(evaluation.records, evaluation.y_true, evaluation.scores, thresholds, labels)
    write_json_atomic(report_dir / "metrics.json", evaluation.metrics)
    write_text_atomic(report_dir / "worst_errors.jsonl",
                      "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors))
    plots = write_plots(report_dir, evaluation.metrics, evaluation.y_true, evaluation.scores,
                        labels, list(thresholds))
    parts = [f"# Evaluation: {title}", "", metrics_markdown(evaluation.metrics, "Metrics"), "",
             "Thresholds: " + ", ".join(f"{n} {t:.3f}" for n, t in zip(labels, thresholds)), ""]
    if evaluation.comparison:
        c = evaluation.comparison
        parts += ["### Back-end comparison", "",
                  f"Against `{c['backend']}`: label agreement {c['label_agreement']:.4f}, "
                  f"sentence agreement {c['sentence_agreement']:.4f}, largest score difference "
                  f"{c['max_abs_score_diff']:.2e}, macro-F1 change {c['macro_f1_change']:+.4f}.", ""]
    parts += [f"![{p.stem}]({p.name})" for p in plots]
    parts += ["", "### Most confident errors", "", "| gold | predicted | sentence |", "| --- | --- | --- |"]
    for e in errors[:15]:
        text = e["text"].replace("|", "\\|")
        parts.append(f"| {', '.join(e['gold']) or '-'} | {', '.join(e['predicted']) or '-'} | {text} |")
    write_text_atomic(report_dir / "report.md", "\n".join(parts) + "\n")
