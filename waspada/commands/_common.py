"""Small pieces the commands share."""

from __future__ import annotations

import argparse
import os


def add_config_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--config", required=required, metavar="FILE",
                        help="YAML config (see configs/); the resolved copy is saved beside the model")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one config value, e.g. --set training.epochs=3 (repeatable)")


def offline_by_default() -> None:
    """Never wait on a hub that cannot be reached when the user did not ask for one."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def print_metrics_line(name: str, metrics: dict | None) -> None:
    if not metrics:
        return
    per_label = ", ".join(f"{k} {v['f1']:.3f}" for k, v in metrics["per_label"].items())
    print(f"{name}: macro-F1 {metrics['macro_f1']:.4f} (micro {metrics['micro_f1']:.4f}); {per_label}")
