"""Training steps with length-grouped batches against plainly shuffled batches.

Not a timed test: a measurement to report. One model, one optimiser, one process; the two
orders train the same model in alternating blocks of ``--steps`` optimiser steps
(``--rounds`` blocks each, the order of the pair alternating), so that drift in machine
speed hits both alike. Each order draws its batches from its own sampler over the same
tokenised training split, exactly as ``waspada train`` builds them:

* **shuffled**: ``DataLoader(shuffle=True)``, each batch padded to its longest sentence
  (``training.group_by_length: false``);
* **grouped**: :class:`waspada.train.batching.LengthGroupedSampler` (the default).

Reported per order: sentences per second, padded tokens per real token, and the ratio of
the two speeds. The model is the config's backbone with its freezing settings, so the
backward pass costs what it costs in a real run; the weights it ends with mean nothing.

Run:  python benchmarks/training_order.py --config configs/e5-small-offline.yaml --threads 2
(about 5 minutes on 2 cores for the offline default; the backbone is built or taken from
the cache like ``waspada train`` does.)
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("configs/e5-small-offline.yaml"))
    parser.add_argument("--steps", type=int, default=40, help="optimiser steps per block")
    parser.add_argument("--rounds", type=int, default=3, help="blocks per order")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification

    from waspada.inference.hf_quiet import quiet_transformers
    from waspada.train.backbones import load_tokenizer, resolve_backbone
    from waspada.train.config import load_config
    from waspada.train.data import read_records
    from waspada.train.trainer import _Encoded, _freeze, _train_loader

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    config = load_config(args.config)
    model_cfg, opt = config.model, config.training
    labels = list(config.data.labels)
    (train_records,) = read_records([config.data.train], labels, split_names=["train"])
    with tempfile.TemporaryDirectory() as work:
        source = resolve_backbone(model_cfg, [r.text for r in train_records], Path(work))
        tokenizer = load_tokenizer(source, model_cfg)
        torch.manual_seed(opt.seed)
        with quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(
                source, num_labels=len(labels), problem_type="multi_label_classification")
    _freeze(model, model_cfg.freeze_embeddings or model_cfg.freeze_layers > 0, model_cfg.freeze_layers)
    encoded = _Encoded(train_records, tokenizer, labels, model_cfg.text_prefix, model_cfg.max_length)
    pad_id = tokenizer.pad_token_id or 0
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()

    def endless(grouped: bool):
        # The very DataLoader `waspada train` builds, started again at each epoch.
        loader = _train_loader(encoded, opt.batch_size, pad_id, opt.seed, grouped)
        while True:
            yield from loader

    def train_step(batch) -> None:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss_fn(logits, batch["labels"]).backward()
        optimizer.step()
        optimizer.zero_grad()

    streams = {"shuffled": endless(False), "grouped": endless(True)}
    totals = {name: {"seconds": 0.0, "sentences": 0, "real": 0, "padded": 0} for name in streams}
    # One warm-up step each: allocator and kernel selection are not part of either order.
    for stream in streams.values():
        train_step(next(stream))
    for round_index in range(args.rounds):
        pair = ["shuffled", "grouped"] if round_index % 2 == 0 else ["grouped", "shuffled"]
        for name in pair:
            total = totals[name]
            started = time.perf_counter()
            for _ in range(args.steps):
                batch = next(streams[name])
                train_step(batch)
                total["sentences"] += len(batch["input_ids"])
                total["real"] += int(batch["attention_mask"].sum())
                total["padded"] += batch["input_ids"].numel()
            total["seconds"] += time.perf_counter() - started
            print(f"round {round_index + 1} {name}: {total['sentences'] / total['seconds']:.1f} sentences/s so far",
                  file=sys.stderr, flush=True)

    speed = {name: t["sentences"] / t["seconds"] for name, t in totals.items()}
    print(f"`python benchmarks/{Path(__file__).name} {shlex.join(sys.argv[1:])}`\n")
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads, "
          f"backbone `{model_cfg.backbone}`, batch {opt.batch_size}, max_length {model_cfg.max_length}, "
          f"{args.rounds} x {args.steps} steps per order\n")
    print("| training order | sentences/s | padded tokens per real token | speed vs shuffled |")
    print("| --- | ---: | ---: | ---: |")
    for name in ("shuffled", "grouped"):
        t = totals[name]
        print(f"| {name} | {speed[name]:.1f} | {t['padded'] / t['real']:.2f} | "
              f"{speed[name] / speed['shuffled']:.2f}x |")


if __name__ == "__main__":
    main()
