"""``waspada baseline --config FILE``: the TF-IDF + logistic-regression reference model."""

from __future__ import annotations

import argparse

from ._common import add_config_arguments, print_metrics_line


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "baseline", help="train the TF-IDF + logistic-regression baseline",
        description="TF-IDF (word 1-2-grams and character 2-5-grams) + one-vs-rest logistic "
                    "regression on the config's data, with the same per-label threshold tuning "
                    "on dev; saved as a model folder that `waspada evaluate` reads.")
    add_config_arguments(parser)
    parser.add_argument("--output", default="runs/baseline-tfidf", metavar="DIR",
                        help="model folder to write (default: %(default)s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from waspada.train.baseline import train_baseline
    from waspada.train.config import load_config

    config = load_config(args.config, args.overrides)
    result = train_baseline(config, args.output)
    print(f"baseline written to {result.output_dir} in {result.seconds:.0f} s")
    print_metrics_line("dev ", result.dev_metrics)
    print_metrics_line("test", result.test_metrics)
    return 0
