"""Classifier.predict against transformers' text-classification pipeline, and the memory of
``waspada classify`` as the archive grows. Not a timed test: a measurement to report.

Same model object, same sentences, same batch size, one process, CPU:

* ``Classifier.predict`` (waspada): sorts the sentences by token length and pads each
  batch only to its longest member, under ``torch.inference_mode``;
* ``transformers.pipeline("text-classification", top_k=None, function_to_apply="sigmoid")``
  fed the same list with the same ``batch_size``, ``truncation`` and ``max_length``
  (it batches in input order and pads each batch to its longest member).

The list is timed in ``--rounds`` interleaved slices (each slice through both, the order
alternating), so that load from other processes on a shared machine hits both alike.

Scores must agree (max abs difference <= 1e-4; asserted). Models, built here offline:

* **base**: a randomly initialised BERT-base shape (12 layers, 768 wide, 12 heads,
  3072 FFN) with a WordPiece vocabulary trained on the bundled corpus, saved as a
  waspada model folder (``waspada.json`` via ``ModelMetadata``);
* **tiny**: the ``configs/tiny.yaml`` architecture built the same way, or
  ``--tiny-model DIR`` (e.g. ``runs/tiny`` from ``waspada train --config configs/tiny.yaml``).
  Speed depends on the architecture, not on trained weights.

Sentences (each list de-duplicated, so that ``predict``'s scoring of repeated texts once
gives it no help here, and shuffled with a fixed seed: archives do not arrive sorted):

* **archive**: every segment that waspada's sentence splitter cuts from the authored news
  archive in ``benchmarks/data/news-archive.jsonl`` (whole scraped-style articles with
  headlines, datelines, captions, "Baca juga" lines, long quotes and lists): what
  ``waspada classify`` feeds the model;
* **corpus**: the labeled sentences of ``data/*.jsonl``, clean single sentences whose
  lengths vary less.

Each row also reports the padding ratio: the tokens the pipeline's input-order batches
pad to, over the tokens of waspada's length-sorted batches. It is the speed-up that
sorting alone can give a compute-bound model; the rest is per-item overhead.

Memory: ``waspada classify`` (subprocess, tiny model) on an archive of whole articles and
on 10x that archive; peak RSS of each run is read with ``getrusage(RUSAGE_CHILDREN)`` in a
fresh wrapper process per run, and must grow by at most 15%.

Run:  python benchmarks/predict_vs_pipeline.py            (about 5-10 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
LABELS = ["preemptive", "preventive", "neutrality", "threat_awareness"]
MAX_SCORE_DIFF = 1e-4
MAX_RSS_GROWTH = 0.15

# Runs a command and prints its peak RSS (KiB): one fresh wrapper per measurement, so
# RUSAGE_CHILDREN holds exactly that command.
RSS_WRAPPER = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
               "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "print(json.dumps({'rc': done.returncode, 'out': done.stdout, 'err': done.stderr[-3000:], "
               "'seconds': time.perf_counter() - t, "
               "'maxrss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")


def corpus_records() -> list:
    """Every labeled record of ``data/*.jsonl``, read and validated by waspada's own reader."""
    from waspada.train.data import read_records

    paths = sorted((REPO / "data").glob("*.jsonl"))
    records = [record for per_file in read_records(paths, LABELS) for record in per_file]
    if not records:
        sys.exit("no sentences in data/*.jsonl")
    return records


def corpus_articles(records: list) -> list[dict]:
    """Whole articles: the corpus sentences of each doc_id, paragraphs of three sentences."""
    by_doc: dict[str, list] = {}
    for record in records:
        by_doc.setdefault(record.doc_id, []).append(record)
    docs = []
    for doc_id, rows in sorted(by_doc.items()):
        sentences = [r.text for r in sorted(rows, key=lambda r: r.extra.get("sent_index", 0))]
        text = "\n\n".join(" ".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3))
        docs.append({"id": doc_id, "text": text, "region": rows[0].extra.get("province", ""),
                     "source": rows[0].extra.get("source_type", "")})
    return docs


def archive_segments() -> list[str]:
    """The sentence segments of the benchmark archive, as ``waspada classify`` cuts them."""
    from waspada.inference.segmenter import split_sentences

    segments = []
    path = REPO / "benchmarks" / "data" / "news-archive.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            text = json.loads(line)["text"]
            segments += [text[span.start:span.end] for span in split_sentences(text)]
    return segments


def sized(texts: list[str], n: int, seed: int = 0) -> list[str]:
    """Up to ``n`` distinct texts in a fixed random order (never repeats a text)."""
    out = list(dict.fromkeys(texts))
    random.Random(seed).shuffle(out)
    return out[:n]


def padding_ratio(token_lengths: list[int], batch_size: int) -> float:
    """Padded tokens of input-order batches over those of length-sorted batches (no token cap)."""
    from waspada.inference.backends import length_sorted_batches

    def padded(batches) -> int:
        return sum(len(batch) * max(token_lengths[i] for i in batch) for batch in batches)
    n = len(token_lengths)
    in_order = [range(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    return padded(in_order) / padded(length_sorted_batches(token_lengths, batch_size))


def build_model(out_dir: Path, texts: list[str], *, layers: int, hidden: int, heads: int,
                vocab_size: int, max_length: int) -> Path:
    """A randomly initialised BERT classifier + corpus WordPiece tokenizer as a waspada folder."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    from waspada.inference.metadata import ModelMetadata
    from waspada.train.tiny_backbone import train_wordpiece

    if (out_dir / "waspada.json").is_file():
        return out_dir
    tokenizer = train_wordpiece(texts, vocab_size)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=hidden * 4,
                        max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
                        num_labels=len(LABELS), problem_type="multi_label_classification",
                        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    out_dir.mkdir(parents=True, exist_ok=True)
    hf_logging.disable_progress_bar()
    BertForSequenceClassification(config).eval().save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    ModelMetadata(labels=list(LABELS), thresholds=[0.5] * len(LABELS), max_length=max_length,
                  config={"note": f"benchmark: random BERT {layers}x{hidden}, not trained"}).save(out_dir)
    return out_dir


def compare(model_dir: Path, sentences: list[str], batch_size: int, threads: int, rounds: int,
            name: str, inputs: str) -> dict:
    import numpy as np
    import torch
    from transformers import pipeline

    from waspada.inference import Classifier

    clf = Classifier.load(model_dir, batch_size=batch_size, threads=threads, device="cpu")
    backend = clf.backend
    pipe = pipeline("text-classification", model=backend.model, tokenizer=backend.tokenizer,
                    top_k=None, function_to_apply="sigmoid", device=torch.device("cpu"))
    prefix = clf.metadata.text_prefix
    piped_inputs = [prefix + s for s in sentences] if prefix else sentences
    call = dict(batch_size=batch_size, truncation=True, max_length=clf.metadata.max_length)
    label_index = {name: i for i, name in enumerate(clf.labels)}
    id2label = backend.model.config.id2label
    assert sorted(id2label.values()) == sorted(clf.labels), (id2label, clf.labels)

    # Warm up both (first-call allocations, lazy inits) on a slice.
    clf.predict(sentences[:batch_size])
    pipe(piped_inputs[:batch_size], **call)

    # Interleaved rounds (alternating which goes first) so that a change in the load of a
    # shared machine hits both alike; each round feeds both the same slice of the list.
    predictions, results = [], []
    ours = theirs = 0.0
    step = -(-len(sentences) // rounds)
    for k, lo in enumerate(range(0, len(sentences), step)):
        chunk, piped = sentences[lo:lo + step], piped_inputs[lo:lo + step]
        for which in ((0, 1) if k % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            if which == 0:
                predictions += clf.predict(chunk)
                ours += time.perf_counter() - start
            else:
                results += pipe(piped, **call)
                theirs += time.perf_counter() - start

    a = np.array([[p.scores[name] for name in clf.labels] for p in predictions])
    b = np.zeros_like(a)
    for row, result in enumerate(results):
        for entry in result:
            b[row, label_index[entry["label"]]] = entry["score"]
    diff = float(np.abs(a - b).max())
    assert diff <= MAX_SCORE_DIFF, f"{model_dir.name}: scores differ by {diff:.2e} > {MAX_SCORE_DIFF}"
    params = sum(p.numel() for p in backend.model.parameters())
    lengths = [len(ids) for ids in backend.tokenize(sentences)]
    return {"model": name, "inputs": inputs, "params": params, "sentences": len(sentences),
            "tokens": sum(lengths) / len(lengths), "padding": padding_ratio(lengths, batch_size),
            "batch_size": batch_size, "ours": len(sentences) / ours, "theirs": len(sentences) / theirs,
            "diff": diff, "max_length": clf.metadata.max_length, "rounds": rounds}


def write_archive(folder: Path, articles: list[dict], copies: int) -> int:
    """``copies`` x the articles (fresh ids) in JSONL files of 500 documents."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    handle = None
    for copy in range(copies):
        for doc in articles:
            if n % 500 == 0:
                if handle:
                    handle.close()
                handle = open(folder / f"part-{n // 500:05d}.jsonl", "w", encoding="utf-8")
            handle.write(json.dumps({**doc, "id": f"{doc['id']}-c{copy}"}, ensure_ascii=False) + "\n")
            n += 1
    if handle:
        handle.close()
    return n


def classify_rss(model_dir: Path, archive: Path, out: Path, threads: int, batch_size: int) -> dict:
    command = [sys.executable, "-m", "waspada", "classify", str(archive), "--model", str(model_dir),
               "--output", str(out), "--threads", str(threads), "--batch-size", str(batch_size),
               "--no-progress"]
    done = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *command],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"waspada classify failed:\n{result['err']}")
    with open(out, "rb") as handle:
        result["rows"] = sum(1 for _ in handle)
    result["command"] = " ".join(shlex.quote(c) for c in command[1:])
    return result


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-sentences", type=int, default=2048)
    parser.add_argument("--tiny-sentences", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--tiny-model", type=Path, default=None,
                        help="a trained tiny model folder (default: build the configs/tiny.yaml shape)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="interleaved timing rounds; each feeds both the same 1/ROUNDS of the list")
    parser.add_argument("--archive-copies", type=int, default=2,
                        help="the 1x archive is the corpus articles repeated this many times")
    parser.add_argument("--work", type=Path, default=None, help="where to build models and archives")
    parser.add_argument("--skip-base", action="store_true", help="tiny model only (quick check)")
    parser.add_argument("--e5-model", type=Path, default=None,
                        help="also time this trained model folder, e.g. the default model "
                             "($WASPADA_HOME/models/default after `waspada quickstart`)")
    args = parser.parse_args(argv)

    import torch
    import transformers

    from waspada.inference.backends import available_cpu_count

    threads = args.threads or available_cpu_count()
    torch.set_num_threads(threads)
    work = args.work or Path(tempfile.mkdtemp(prefix="waspada-bench-"))
    records = corpus_records()
    texts = [record.text for record in records]
    print(f"building models in {work} ...", file=sys.stderr, flush=True)

    import yaml

    tiny_cfg = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())["model"]
    tiny_dir = args.tiny_model or build_model(
        work / "tiny", texts, layers=tiny_cfg["scratch_layers"], hidden=tiny_cfg["scratch_hidden_size"],
        heads=tiny_cfg["scratch_heads"], vocab_size=tiny_cfg["scratch_vocab_size"],
        max_length=tiny_cfg["max_length"])
    segments = archive_segments()
    rows = []
    if not args.skip_base:
        base_dir = build_model(work / "base", texts, layers=12, hidden=768, heads=12, vocab_size=30000,
                               max_length=128)
        for inputs, pool in (("archive", segments), ("corpus", texts)):
            print(f"timing base on {inputs} sentences ...", file=sys.stderr, flush=True)
            rows.append(compare(base_dir, sized(pool, args.base_sentences), args.batch_size, threads,
                                args.rounds, "base (12 x 768, random)", inputs))
    if args.e5_model:
        print("timing e5-small ...", file=sys.stderr, flush=True)
        rows.append(compare(args.e5_model, sized(segments, args.base_sentences), args.batch_size,
                            threads, args.rounds, "e5-small offline (trained)", "archive"))
    print("timing tiny ...", file=sys.stderr, flush=True)
    rows.append(compare(Path(tiny_dir), sized(segments + texts, args.tiny_sentences), args.batch_size,
                        threads, args.rounds, "tiny" if args.tiny_model else
                        f"tiny ({tiny_cfg['scratch_layers']} x {tiny_cfg['scratch_hidden_size']}, random)",
                        "archive + corpus"))

    print("measuring memory of waspada classify ...", file=sys.stderr, flush=True)
    articles = corpus_articles(records)
    memory = []
    for scale in (1, 10):
        archive = work / f"archive-{scale}x"
        n_docs = write_archive(archive, articles, args.archive_copies * scale)
        result = classify_rss(Path(tiny_dir), archive, work / f"labels-{scale}x.jsonl", threads,
                              args.batch_size)
        result.update(scale=scale, documents=n_docs,
                      mib=sum(p.stat().st_size for p in archive.iterdir()) / 2**20)
        memory.append(result)
    growth = memory[1]["maxrss_kib"] / memory[0]["maxrss_kib"] - 1

    print("\n## Classifier.predict vs transformers pipeline (CPU)\n")
    print("| model | parameters | sentences | tokens / sentence | batch | max_length | padding ratio "
          "| Classifier.predict (sent/s) | transformers pipeline (sent/s) | speed-up | max abs score diff |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['model']} | {r['params'] / 1e6:.1f} M | {r['sentences']:,} {r['inputs']} | "
              f"{r['tokens']:.1f} | {r['batch_size']} | {r['max_length']} | {r['padding']:.2f} | "
              f"{r['ours']:,.1f} | {r['theirs']:,.1f} | **{r['ours'] / r['theirs']:.2f}x** | {r['diff']:.1e} |")
    print("\n## Peak memory of `waspada classify` (tiny model)\n")
    print("| archive | documents | input MiB | rows written | wall (s) | peak RSS (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for m in memory:
        print(f"| {m['scale']}x | {m['documents']:,} | {m['mib']:.1f} | {m['rows']:,} | {m['seconds']:.1f} | "
              f"{m['maxrss_kib'] / 1024:,.0f} |")
    print(f"\nPeak RSS growth from 1x to 10x: {growth:+.1%} (limit +{MAX_RSS_GROWTH:.0%})")
    print(f"\nMachine: {cpu_model()}; {os.cpu_count()} cores ({available_cpu_count()} usable); "
          f"Python {platform.python_version()}; torch {torch.__version__}; transformers "
          f"{transformers.__version__}; torch threads {torch.get_num_threads()}")
    command = "python benchmarks/predict_vs_pipeline.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    print(f"Command: `{command.strip()}`")
    print(f"Memory runs: `{memory[0]['command']}` (and the 10x archive)")
    assert growth <= MAX_RSS_GROWTH, f"peak RSS grew {growth:.1%} from 1x to 10x"
    return 0


if __name__ == "__main__":
    sys.exit(main())
