"""The Ray engine against the local engine on one archive, one model, one machine.

Not a timed test: a measurement to report. In one run:

* **local**: ``Classifier.load`` (all usable cores as torch threads) + ``classify_archive``;
* **Ray start-up**: ``ray.init`` of a local Ray (all usable cores), timed on its own, and
  a first 4-document run (Ray starts its worker processes on first use), timed apart;
* **Ray, 2 workers x 1 thread** and **Ray, 1 worker x 2 threads**:
  ``classify_archive_ray`` on the Ray started above. Each run starts its actors and
  loads the model in them, so its time holds a fixed cost, shown by the same run on a
  4-document archive.

Every Ray run's rows are checked against the local engine's (same rows, labels, and
scores within 1e-5). Rates are documents and sentences per second of wall time; the
ratio is Ray's rate over the local engine's (below 1: Ray costs more than it brings on
this machine). The local engine runs first and again last, as the load of a shared
machine drifts; ratios are to the faster of the two.

Archive: every article of the bundled corpus (``data/*.jsonl``, sentences rejoined,
paragraphs of three sentences) plus copies of the ten long articles of
``data/sample/articles.jsonl`` (fresh ids) up to ``--docs``, shuffled with a fixed seed,
in JSONL files of 100 documents. Model: the ``configs/tiny.yaml`` shape built offline
with random weights (speed depends on the shape, not the weights), ``--model-size base``
for a BERT-base shape, or ``--model DIR``.

Run:  python benchmarks/ray_vs_local.py              (3-7 minutes on 2 shared cores)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_vs_pipeline import build_model, corpus_articles, corpus_sentences, cpu_model  # noqa: E402

MAX_SCORE_DIFF = 1e-5
SMALL_DOCS = 4


def build_archive(folder: Path, n_docs: int, seed: int = 0) -> list[dict]:
    """Corpus articles plus copies of the sample articles, ``n_docs`` in all, in files of 100."""
    sample = [json.loads(line) for line in (REPO / "data" / "sample" / "articles.jsonl")
              .read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = corpus_articles()[:n_docs]
    copy = 0
    while len(docs) < n_docs:
        for article in sample[:n_docs - len(docs)]:
            docs.append({**article, "id": f"{article['id']}-c{copy}"})
        copy += 1
    random.Random(seed).shuffle(docs)
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(docs), 100):
        (folder / f"part-{start // 100:03d}.jsonl").write_text(
            "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs[start:start + 100]),
            encoding="utf-8")
    return docs


def read_parts(folder: Path) -> list[dict]:
    from waspada.inference.writers import read_rows

    return [row for part in sorted(folder.iterdir()) for row in read_rows(part)]


def check_same(ray_rows: list[dict], local_rows: list[dict]) -> float:
    assert len(ray_rows) == len(local_rows), (len(ray_rows), len(local_rows))
    worst = 0.0
    for a, b in zip(ray_rows, local_rows):
        assert (a["doc_id"], a["sentence_index"], a["start"], a["end"], a["labels"]) == (
            b["doc_id"], b["sentence_index"], b["start"], b["end"], b["labels"]), (a, b)
        for key, value in a.items():
            if key.startswith("score_"):
                worst = max(worst, abs(value - b[key]))
    assert worst <= MAX_SCORE_DIFF, f"scores differ by {worst:.2e}"
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="documents in the archive")
    parser.add_argument("--model", type=Path, default=None, help="a model folder (default: build one)")
    parser.add_argument("--model-size", choices=["tiny", "base"], default="tiny")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--work", type=Path, default=None, help="where to build the model and archive")
    args = parser.parse_args(argv)

    import ray
    import torch
    import transformers
    import yaml

    from waspada.inference import Classifier
    from waspada.inference.archive import classify_archive
    from waspada.inference.backends import available_cpu_count
    from waspada.inference.ray_engine import classify_archive_ray

    cores = available_cpu_count()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    work = args.work or Path(tempfile.mkdtemp(prefix="waspada-ray-bench-"))
    if args.model is not None:
        model_dir = args.model
    elif args.model_size == "base":
        model_dir = build_model(work / "base", corpus_sentences(), layers=12, hidden=768, heads=12,
                                vocab_size=30000, max_length=128)
    else:
        shape = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())["model"]
        model_dir = build_model(work / "tiny", corpus_sentences(), layers=shape["scratch_layers"],
                                hidden=shape["scratch_hidden_size"], heads=shape["scratch_heads"],
                                vocab_size=shape["scratch_vocab_size"], max_length=shape["max_length"])
    docs = build_archive(work / "archive", args.docs)
    small = work / "archive-small"
    small.mkdir(exist_ok=True)
    (small / "part-000.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n"
                                                  for d in docs[:SMALL_DOCS]), encoding="utf-8")
    results = []

    def run_local(tag: str) -> tuple[float, object, list[dict]]:
        print(f"local engine ({cores} threads, {tag}) ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        classifier = Classifier.load(model_dir, batch_size=args.batch_size, threads=cores, device="cpu")
        stats = classify_archive(classifier, [work / "archive"], work / f"local-{tag}.jsonl", progress=False)
        wall = time.perf_counter() - began
        rows = [json.loads(line) for line in
                (work / f"local-{tag}.jsonl").read_text(encoding="utf-8").splitlines()]
        results.append({"engine": f"local, 1 process x {cores} threads ({tag})", "seconds": wall,
                        "note": f"model load {wall - stats.seconds:.1f} s", "diff": None})
        return wall, stats, rows

    # The local engine runs first and last: on a shared machine the load drifts, and the
    # two local times show by how much. Ratios are to the faster of them.
    _, local, local_rows = run_local("first")
    print("starting Ray ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    startup = time.perf_counter() - began
    try:
        # The first run in a fresh Ray also starts Ray's worker processes: timed apart.
        began = time.perf_counter()
        classify_archive_ray(model_dir, [small], work / "ray-warm-up", workers=1, threads=1,
                             batch_size=args.batch_size)
        first_run = time.perf_counter() - began
        for workers, threads in ((2, 1), (1, 2)):
            label = f"Ray, {workers} worker{'s' if workers > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}"
            print(f"{label} ...", file=sys.stderr, flush=True)
            kw = dict(workers=workers, threads=threads, batch_size=args.batch_size)
            began = time.perf_counter()
            stats_small = classify_archive_ray(model_dir, [small], work / f"ray-small-{workers}x{threads}", **kw)
            small_wall = time.perf_counter() - began
            began = time.perf_counter()
            stats = classify_archive_ray(model_dir, [work / "archive"], work / f"ray-{workers}x{threads}.jsonl",
                                         **kw)
            wall = time.perf_counter() - began
            assert (stats.read, stats.units) == (local.read, local.units), (stats, local)
            assert stats_small.read == SMALL_DOCS
            diff = check_same(read_parts(work / f"ray-{workers}x{threads}.jsonl"), local_rows)
            results.append({"engine": label, "seconds": wall, "diff": diff,
                            "note": f"same run on {SMALL_DOCS} documents: {small_wall:.1f} s (the fixed cost)"})
    finally:
        ray.shutdown()
    run_local("last")

    base = min(r["seconds"] for r in results if r["diff"] is None)
    print(f"\n## Ray engine vs local engine ({local.read:,} documents, {local.units:,} sentences)\n")
    print("| engine | wall (s) | docs/s | sentences/s | ratio to local | max score diff | notes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        diff = "-" if r["diff"] is None else f"{r['diff']:.1e}"
        print(f"| {r['engine']} | {r['seconds']:.1f} | {local.read / r['seconds']:,.1f} | "
              f"{local.units / r['seconds']:,.1f} | {base / r['seconds']:.2f}x | {diff} | {r['note']} |")
    print(f"\nRay start-up (`ray.init`, local, {cores} CPUs), not in the times above: {startup:.1f} s; "
          f"the first run in the fresh Ray ({SMALL_DOCS} documents, 1 worker, not above) took "
          f"{first_run:.1f} s")
    print("Times are wall clock from the call to the written output: local includes loading the "
          "model; each Ray run includes starting its actors and loading the model in each.")
    params = sum(p.numel() for p in Classifier.load(model_dir, threads=1).backend.model.parameters())
    print(f"\nModel: {model_dir.name} ({params / 1e6:.1f} M parameters); batch size {args.batch_size}")
    print(f"Machine: {cpu_model()}; {os.cpu_count()} cores ({cores} usable); Python "
          f"{platform.python_version()}; torch {torch.__version__}; transformers {transformers.__version__}; "
          f"ray {ray.__version__}; load average {load_before:.1f} at the start, "
          f"{os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan'):.1f} at the end")
    command = "python benchmarks/ray_vs_local.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    print(f"Command: `{command.strip()}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
