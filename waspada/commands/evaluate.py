"""``waspada evaluate --model DIR --data FILE``: per-label and macro F1, report and plots."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score a model folder on labeled data",
        description="Per-label precision/recall/F1/support, macro and micro F1, exact match and "
                    "no-label precision/recall, at the model's stored thresholds. With --report, "
                    "also metrics.json, report.md, plots and the most confident errors.")
    parser.add_argument("--model", default=None, metavar="DIR",
                        help="model folder (default: the quickstart default model)")
    parser.add_argument("--data", required=True, metavar="FILE", help="labeled JSONL or CSV")
    parser.add_argument("--report", metavar="DIR", help="write metrics.json, report.md and PNG plots here")
    parser.add_argument("--backend", default=None,
                        help="torch, onnx, onnx-int8 (exported first with `waspada export`) or tfidf")
    parser.add_argument("--compare-backend", default=None, metavar="BACKEND",
                        help="also score with this back end and report agreement and macro-F1 change")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from waspada.train.evaluate import evaluate
    from waspada.train.report import metrics_markdown

    result = evaluate(args.model, args.data, backend=args.backend,
                      compare_backend=args.compare_backend, report_dir=args.report,
                      batch_size=args.batch_size)
    print(metrics_markdown(result.metrics, f"{args.data} ({result.metrics['backend']})"))
    if result.comparison:
        c = result.comparison
        print(f"\nvs {c['backend']}: label agreement {c['label_agreement']:.4f}, max |score diff| "
              f"{c['max_abs_score_diff']:.2e}, macro-F1 change {c['macro_f1_change']:+.4f}")
    if args.report:
        print(f"\nreport written to {args.report}/report.md")
    return 0
