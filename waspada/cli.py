"""The ``waspada`` command line: a thin layer over the Python API.

Each sub-command lives in its own module under :mod:`waspada.commands` and registers
itself through ``register(subparsers)``; this file only lists them, so a new command
touches no other command's code. Heavy imports (torch, transformers) happen inside the
command that needs them, so ``waspada --help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from waspada import __version__

COMMAND_MODULES = [
    "quickstart",
    "data",
    "train",
    "baseline",
    "evaluate",
    "classify",
    "export",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waspada",
        description="Label Indonesian election-security sentences as preemptive, preventive, "
                    "neutrality and threat_awareness. Start with `waspada quickstart`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Typical flow:\n"
               "  waspada data check data/train.jsonl data/dev.jsonl data/test.jsonl\n"
               "  waspada train --config configs/indobert-base.yaml\n"
               "  waspada evaluate --model runs/indobert-base --data data/test.jsonl --report reports/base\n"
               "  waspada classify archive/ --model runs/indobert-base --output labels.jsonl\n"
               "Each command has its own --help.")
    parser.add_argument("--version", action="version", version=f"waspada {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"waspada.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"waspada.commands.{name}":
                continue  # a command not built yet in this checkout
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from waspada.inference.errors import WaspadaError

    try:
        return int(args.func(args) or 0)
    except WaspadaError as exc:
        # Expected failures (bad data, missing model): the message is the whole story.
        print(f"waspada {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
