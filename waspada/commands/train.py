"""``waspada train --config FILE``: fine-tune, tune thresholds, evaluate, save."""

from __future__ import annotations

import argparse

from ._common import add_config_arguments, offline_by_default, print_metrics_line


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="fine-tune an encoder from one config file",
        description="Fine-tune an encoder for multi-label sentence classification, stop early on "
                    "dev macro-F1, tune one threshold per label on dev, evaluate on test, and "
                    "write a model folder (Hugging Face files + waspada.json + the config). "
                    "Works under `accelerate launch` and `torchrun` unchanged.")
    add_config_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    offline_by_default()
    from waspada.train.config import load_config
    from waspada.train.report import write_training_curve
    from waspada.train.trainer import train

    config = load_config(args.config, args.overrides)
    result = train(config, show_progress=not args.no_progress)
    from accelerate import PartialState

    if PartialState().is_main_process:
        write_training_curve(result.output_dir, result.history)
        print(f"model written to {result.output_dir} in {result.seconds:.0f} s")
        print_metrics_line("dev ", result.dev_metrics)
        print_metrics_line("test", result.test_metrics)
    return 0
