"""``waspada data check FILE...``: validate labeled data and print its statistics."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="check labeled data",
                                   description="Work with labeled sentence files.")
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    check = sub.add_parser(
        "check", help="validate files and print statistics",
        description="Validate labeled files together (each file is one split): every bad record "
                    "is reported with file, line and field; ids must be unique and no doc_id may "
                    "appear in two files. Prints sentences, documents, positives per label, "
                    "no-label and multi-label shares, length percentiles, near-duplicate pairs "
                    "(token Jaccard >= 0.7) within and across files, and the most common "
                    "three-word openings.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--config", metavar="FILE", help="take the label set and field names from this config")
    check.add_argument("--labels", metavar="A,B,...", help="label set (default: the four waspada labels)")
    check.add_argument("--tokenizer", metavar="DIR_OR_ID",
                       help="measure lengths in this tokenizer's tokens instead of words")
    check.add_argument("--strict", action="store_true",
                       help="also fail on hygiene: any near-duplicate across files, >= 1%% within a "
                            "file, or a three-word opening on more than 2%% of sentences")
    check.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from waspada.train.config import DEFAULT_LABELS, load_config
    from waspada.train.corpus_checks import near_duplicate_pairs, opening_report
    from waspada.train.data import compute_stats, read_records

    labels, text_field, labels_field = list(DEFAULT_LABELS), "text", "labels"
    if args.config:
        config = load_config(args.config)
        labels, text_field, labels_field = config.data.labels, config.data.text_field, config.data.labels_field
    if args.labels:
        labels = [name.strip() for name in args.labels.split(",") if name.strip()]
    tokenizer = None
    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    names = [Path(f).stem for f in args.files]
    if len(set(names)) != len(names):
        names = [str(f) for f in args.files]
    splits = read_records(args.files, labels, text_field=text_field, labels_field=labels_field,
                          split_names=names)
    everything = [r for split in splits for r in split]
    report: dict = {"files": {}, "labels": labels}
    print(f"OK: {len(everything)} records in {len(args.files)} file(s) passed validation.\n")
    for name, split in zip(names, splits):
        stats = compute_stats(split, labels, tokenizer)
        report["files"][name] = stats.to_dict()
        print(stats.to_markdown(name) + "\n")
    if len(splits) > 1:
        total = compute_stats(everything, labels, tokenizer)
        report["total"] = total.to_dict()
        print(total.to_markdown("all files") + "\n")

    texts = [r.text for r in everything]
    owner = [k for k, split in enumerate(splits) for _ in split]
    pairs = near_duplicate_pairs(texts)
    within = Counter(owner[i] for i, j, _ in pairs if owner[i] == owner[j])
    across = [(i, j, s) for i, j, s in pairs if owner[i] != owner[j]]
    print("Near-duplicate sentence pairs (normalised token Jaccard >= 0.7):")
    problems = []
    for k, name in enumerate(names):
        n = len(splits[k])
        share = within[k] / n if n else 0.0
        print(f"  within {name}: {within[k]} pairs ({share:.2%} of its sentences)")
        if share >= 0.01:
            problems.append(f"{name}: {within[k]} near-duplicate pairs within the file (>= 1%)")
    print(f"  across files: {len(across)} pairs")
    for i, j, s in across[:10]:
        print(f"    {s:.2f}  {everything[i].path}:{everything[i].line}  ~  {everything[j].path}:{everything[j].line}")
    if across:
        problems.append(f"{len(across)} near-duplicate pairs across files")
    openings = opening_report(texts)
    print(f"\nMost common three-word openings (limit 2% of {openings.total}):")
    for opening, count in openings.top:
        print(f"  {count / openings.total:6.2%}  {count:5d}  {opening}")
    if openings.max_share > 0.02:
        problems.append(f"opening '{openings.top[0][0]}' starts {openings.max_share:.2%} of sentences")
    report["near_duplicates"] = {"within": {names[k]: within[k] for k in range(len(names))},
                                 "across": len(across)}
    report["top_openings"] = openings.top
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if problems:
        print("\nHygiene warnings:\n  " + "\n  ".join(problems))
        if args.strict:
            return 1
    return 0
