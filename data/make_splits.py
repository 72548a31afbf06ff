"""Assign authored documents to train/dev/test, keeping near-duplicates together.

    python data/make_splits.py data/train.jsonl data/dev.jsonl data/test.jsonl --out data

Splits are by document (about 80/10/10 of documents). Documents that share a
near-duplicate sentence (normalised token Jaccard >= 0.7, the same test as
``waspada data check``) are put in the same split, so no near-duplicate pair crosses
splits. The assignment is a deterministic function of the document ids and --seed.
Run it again on data/{train,dev,test}.jsonl to re-split after adding documents, or add
--keep-existing to leave every document that already has a split where it is and assign
only the new ones (records without a "split" key), filling each split up to its share:

    python data/make_splits.py data/train.jsonl data/dev.jsonl data/test.jsonl NEW.jsonl \
        --out data --keep-existing

With --keep-existing, --new-to train puts every new document in train instead: for a
supplement written against a failure found in error analysis, so that dev and test stay
the same sets and scores before and after it can be compared. (A new document that
near-duplicates a kept one still joins that one's split.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from pathlib import Path

from waspada.train.corpus_checks import near_duplicate_pairs

SHARES = {"train": 0.8, "dev": 0.1, "test": 0.1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--seed", default="waspada-2026")
    parser.add_argument("--keep-existing", action="store_true",
                        help="documents that already have a split keep it; only new ones are assigned")
    parser.add_argument("--new-to", choices=sorted(SHARES),
                        help="with --keep-existing: put all new documents in this split")
    args = parser.parse_args()
    if args.new_to and not args.keep_existing:
        parser.error("--new-to needs --keep-existing")

    rows = []
    existing: dict[str, str] = {}
    for path in args.files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                split = row.pop("split", None)
                if args.keep_existing and split is not None:
                    if split not in SHARES:
                        raise SystemExit(f"{path}: doc {row['doc_id']}: unknown split {split!r}")
                    existing[row["doc_id"]] = split
                rows.append(row)
    # Union-find over documents joined by a near-duplicate sentence pair.
    parent: dict[str, str] = {r["doc_id"]: r["doc_id"] for r in rows}

    def find(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    for i, j, _ in near_duplicate_pairs([r["text"] for r in rows]):
        a, b = find(rows[i]["doc_id"]), find(rows[j]["doc_id"])
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for doc in dict.fromkeys(r["doc_id"] for r in rows):
        groups[find(doc)].append(doc)
    order = sorted(groups, key=lambda g: hashlib.sha256(f"{args.seed}:{g}".encode()).hexdigest())
    # Large groups go to train first so dev/test stay made of independent documents.
    order.sort(key=lambda g: -len(groups[g]) if len(groups[g]) > 2 else 0)
    total_docs = len(parent)
    assigned: dict[str, str] = {}
    counts = {name: 0 for name in SHARES}
    # Kept documents first; a new document near-duplicating a kept one joins its split.
    new_groups = []
    for g in order:
        kept = {existing[d] for d in groups[g] if d in existing}
        if len(kept) > 1:
            raise SystemExit(f"near-duplicate documents {groups[g]} are already in different splits {sorted(kept)}")
        if not kept:
            new_groups.append(g)
            continue
        split = kept.pop()
        for doc in groups[g]:
            assigned[doc] = split
        counts[split] += len(groups[g])
    for g in new_groups:
        deficit = {name: SHARES[name] * total_docs - counts[name] for name in SHARES}
        if args.new_to:
            split = args.new_to
        else:
            split = "train" if len(groups[g]) > 2 else max(deficit, key=deficit.get)
        for doc in groups[g]:
            assigned[doc] = split
        counts[split] += len(groups[g])
    args.out.mkdir(parents=True, exist_ok=True)
    for split in SHARES:
        chosen = [{**r, "split": split} for r in rows if assigned[r["doc_id"]] == split]
        chosen.sort(key=lambda r: (r["doc_id"], r.get("sent_index", 0)))
        path = args.out / f"{split}.jsonl"
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), encoding="utf-8")
        tmp.replace(path)
        print(f"{split}: {len({r['doc_id'] for r in chosen})} documents, {len(chosen)} sentences -> {path}")


if __name__ == "__main__":
    main()
