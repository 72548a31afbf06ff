"""Pictures and Markdown for evaluation results (matplotlib is optional: ``waspada[plots]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def write_plots(report_dir: Path, metrics: dict[str, Any], y_true: np.ndarray, scores: np.ndarray,
                labels: Sequence[str], thresholds: Sequence[float]) -> list[Path]:
    """Per-label F1 bars, precision-recall curves with the chosen threshold, co-occurrence."""
    plt = _pyplot()
    if plt is None:
        return []
    from sklearn.metrics import precision_recall_curve

    written = []
    names = list(labels)

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    f1s = [metrics["per_label"][n]["f1"] for n in names]
    bars = ax.bar(names + ["macro"], f1s + [metrics["macro_f1"]],
                  color=["#4C72B0"] * len(names) + ["#DD8452"])
    ax.bar_label(bars, fmt="%.2f")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    ax.set_title("Per-label F1")
    fig.tight_layout()
    written.append(report_dir / "f1_per_label.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False)
    for k, (ax, name) in enumerate(zip(axes[0], names)):
        truth = y_true[:, k].astype(bool)
        if truth.any():
            precision, recall, cuts = precision_recall_curve(truth, scores[:, k])
            ax.plot(recall, precision, color="#4C72B0")
            chosen = scores[:, k] >= thresholds[k]
            tp = np.sum(chosen & truth)
            p = tp / chosen.sum() if chosen.sum() else 0.0
            r = tp / truth.sum()
            ax.plot([r], [p], "o", color="#C44E52", label=f"threshold {thresholds[k]:.2f}")
            ax.legend(loc="lower left", fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("recall")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
    axes[0][0].set_ylabel("precision")
    fig.tight_layout()
    written.append(report_dir / "precision_recall.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)

    co = y_true.T.astype(np.int64) @ y_true.astype(np.int64)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.imshow(co, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, str(co[i, j]), ha="center", va="center",
                    color="white" if co[i, j] > co.max() / 2 else "black")
    ax.set_title("Label co-occurrence (gold)")
    fig.tight_layout()
    written.append(report_dir / "label_cooccurrence.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)
    return written


def write_training_curve(model_dir: Path, history: list[dict[str, Any]]) -> Path | None:
    """Train loss and dev macro-F1 per evaluation, beside the model."""
    plt = _pyplot()
    if plt is None or not history:
        return None
    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(steps, [h["train_loss"] for h in history], "o-", color="#4C72B0", label="train loss")
    ax.set_xlabel("step")
    ax.set_ylabel("train loss")
    other = ax.twinx()
    other.plot(steps, [h["dev_macro_f1"] for h in history], "s-", color="#DD8452", label="dev macro-F1")
    other.set_ylabel("dev macro-F1 (tuned thresholds)")
    other.set_ylim(0, 1)
    fig.legend(loc="lower center", ncol=2, fontsize=8)
    fig.tight_layout()
    path = model_dir / "training_curve.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def metrics_markdown(metrics: dict[str, Any], title: str) -> str:
    """The metrics table of a report: per label first, then the averages."""
    lines = [f"### {title}", "", "| label | precision | recall | F1 | support |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, m in metrics["per_label"].items():
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    none = metrics["no_label"]
    lines += [
        f"| *(no label)* | {none['precision']:.3f} | {none['recall']:.3f} | {none['f1']:.3f} | {none['support']} |",
        "",
        f"Macro F1 **{metrics['macro_f1']:.3f}**, micro F1 {metrics['micro_f1']:.3f}, "
        f"exact match {metrics['exact_match']:.3f}, n = {metrics['n']}.",
    ]
    return "\n".join(lines)
