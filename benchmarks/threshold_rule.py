"""How well does a threshold read off dev carry over to sentences it was not tuned on?

Uses dev only (never test). Each model folder scores dev once; then, ``--splits`` times,
dev's documents are cut at random into two halves: thresholds are tuned on one half with
each ``training.threshold_tolerance`` value and the macro-F1 they give on the other half
is recorded. The table is the mean over the splits (the same splits for every tolerance
and model), beside the in-sample dev macro-F1 of thresholds tuned on all of dev.

Tolerance 0 is the single best cut of the dev F1 curve; above 0 the middle of the cuts
within that much of the best (:func:`waspada.train.thresholds.plateau_threshold`).

Run:  python benchmarks/threshold_rule.py MODEL_DIR [MODEL_DIR ...] --data data/dev.jsonl
(seconds per model on 2 cores once the model is loaded)
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, default=Path("data/dev.jsonl"))
    parser.add_argument("--tolerances", default="0,0.01,0.02,0.03,0.05")
    parser.add_argument("--splits", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from waspada.inference import Classifier
    from waspada.train.data import label_matrix, read_records
    from waspada.train.metrics import multilabel_metrics
    from waspada.train.thresholds import tune_thresholds

    tolerances = [float(t) for t in args.tolerances.split(",")]
    rows = []
    for model_dir in args.models:
        classifier = Classifier.load(model_dir)
        labels = classifier.labels
        (records,) = read_records([args.data], labels, split_names=["dev"])
        y = label_matrix(records, labels).astype(bool)
        scores = classifier.predict_proba([r.text for r in records])
        documents = np.array([r.doc_id for r in records])
        unique_documents = np.array(sorted(set(documents)))
        rng = np.random.default_rng(args.seed)
        held_out = {t: [] for t in tolerances}
        for _ in range(args.splits):
            half = set(rng.permutation(unique_documents)[:len(unique_documents) // 2])
            tune = np.array([d in half for d in documents])
            for t in tolerances:
                thresholds = np.asarray(tune_thresholds(y[tune], scores[tune], labels, t))
                metrics = multilabel_metrics(y[~tune], scores[~tune] >= thresholds, labels)
                held_out[t].append(metrics["macro_f1"])
        in_sample = {t: multilabel_metrics(y, scores >= np.asarray(tune_thresholds(y, scores, labels, t)),
                                           labels)["macro_f1"] for t in tolerances}
        rows.append((model_dir, held_out, in_sample))
        print(f"{model_dir}: done", file=sys.stderr, flush=True)

    print(f"`python benchmarks/{Path(__file__).name} {shlex.join(sys.argv[1:])}`\n")
    print(f"Mean macro-F1 on the other half of `{args.data}` over {args.splits} document-level "
          "half splits (in-sample macro-F1 on all of it in brackets)\n")
    print("| model | " + " | ".join(f"tolerance {t:g}" for t in tolerances) + " |")
    print("| --- |" + " ---: |" * len(tolerances))
    for model_dir, held_out, in_sample in rows:
        cells = [f"{np.mean(held_out[t]):.4f} ({in_sample[t]:.4f})" for t in tolerances]
        print(f"| `{model_dir}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
