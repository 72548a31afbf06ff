"""Fine-tune an encoder for multi-label sentence classification.

One function, :func:`train`, runs the whole job from a :class:`WaspadaConfig`: read and
validate data, build or load the backbone, fine-tune with BCE (optionally weighted per
label), evaluate on dev and stop early on dev macro-F1, tune one threshold per label on
dev, evaluate on test once, and write the model folder atomically.

It runs unchanged on one CPU, one GPU (bf16 autocast) or many processes under
``accelerate launch`` / ``torchrun``: accelerate shards the batches, dev scores are
gathered from every process, and only the main process tunes thresholds and writes.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from waspada.inference.backends import length_sorted_batches
from waspada.inference.hf_quiet import quiet_transformers
from waspada.inference.metadata import ModelMetadata, write_text_atomic

from .backbones import load_tokenizer, resolve_backbone
from .batching import LengthGroupedSampler
from .config import WaspadaConfig
from .data import Record, file_sha256, label_matrix, read_records
from .metrics import multilabel_metrics
from .thresholds import tune_thresholds

logger = logging.getLogger(__name__)

CONFIG_FILE = "waspada-config.yaml"
HISTORY_FILE = "training-history.json"


@dataclass
class TrainResult:
    """What a finished run produced."""

    output_dir: Path
    thresholds: list[float]
    dev_metrics: dict[str, Any]
    test_metrics: dict[str, Any] | None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {}
    for name in ("waspada", "torch", "transformers", "tokenizers", "datasets", "accelerate",
                 "scikit-learn", "numpy"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return versions


def _freeze(model, embeddings: bool, layers: int) -> None:
    """Fix the embeddings and the lowest ``layers`` encoder layers (requires_grad False)."""
    if embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if layers:
        encoder_layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
        if encoder_layers is None:
            raise ValueError("model.freeze_layers needs a BERT-style encoder (base_model.encoder.layer)")
        if layers > len(encoder_layers):
            raise ValueError(f"model.freeze_layers={layers} but the encoder has {len(encoder_layers)} layers")
        for module in [model.base_model.embeddings, *encoder_layers[:layers]]:
            for param in module.parameters():
                param.requires_grad_(False)


def _mixed_precision(precision: str) -> str:
    import torch

    if precision == "fp32":
        return "no"
    if precision == "bf16":
        return "bf16"
    cuda_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return "bf16" if cuda_bf16 else "no"


def _pos_weight(y: np.ndarray, mode: str):
    import torch

    if mode == "none":
        return None
    positives = y.sum(axis=0)
    negatives = len(y) - positives
    ratio = negatives / np.maximum(positives, 1.0)
    weight = np.sqrt(ratio) if mode == "sqrt" else ratio
    return torch.tensor(weight, dtype=torch.float32)


class _Encoded:
    """Token ids and label rows of a record list, ready to batch."""

    def __init__(self, records: Sequence[Record], tokenizer, labels: Sequence[str], prefix: str,
                 max_length: int):
        texts = [prefix + r.text for r in records]
        self.input_ids: list[list[int]] = tokenizer(
            texts, truncation=True, max_length=max_length, return_attention_mask=False,
            return_token_type_ids=False)["input_ids"] if texts else []
        self.labels = label_matrix(records, labels)

    def __len__(self) -> int:
        return len(self.input_ids)


def _collate(pad_id: int):
    import torch

    def collate(items: list[tuple[list[int], np.ndarray]]) -> dict[str, Any]:
        width = max(len(ids) for ids, _ in items)
        input_ids = torch.full((len(items), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for row, (ids, _) in enumerate(items):
            input_ids[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[row, :len(ids)] = 1
        labels = torch.tensor(np.stack([y for _, y in items]), dtype=torch.float32)
        return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}

    return collate


class _Pairs:
    """Map-style dataset over an :class:`_Encoded`, optionally in a fixed order."""

    def __init__(self, encoded: _Encoded, order: Sequence[int] | None = None):
        self.encoded = encoded
        self.order = list(order) if order is not None else list(range(len(encoded)))

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: int):
        k = self.order[i]
        return self.encoded.input_ids[k], self.encoded.labels[k]


def _train_loader(encoded: _Encoded, batch_size: int, pad_id: int, seed: int, group_by_length: bool):
    """The training DataLoader: length-grouped or plainly shuffled batches, seeded."""
    import torch
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(seed)
    if group_by_length:
        order = {"sampler": LengthGroupedSampler([len(ids) for ids in encoded.input_ids], batch_size,
                                                 generator)}
    else:
        order = {"shuffle": True, "generator": generator}
    return DataLoader(_Pairs(encoded), batch_size=batch_size, collate_fn=_collate(pad_id), **order)


def _score(model, encoded: _Encoded, batch_size: int, accelerator, pad_id: int) -> np.ndarray:
    """Sigmoid scores for every record of ``encoded``, in record order, gathered across processes."""
    import torch
    from torch.utils.data import DataLoader

    if len(encoded) == 0:
        return np.zeros((0, encoded.labels.shape[1]), dtype=np.float32)
    # Length-sorted batches pad little; the permutation is undone after gathering.
    order = np.concatenate(length_sorted_batches([len(x) for x in encoded.input_ids], batch_size))
    loader = accelerator.prepare_data_loader(
        DataLoader(_Pairs(encoded, order), batch_size=batch_size, shuffle=False,
                   collate_fn=_collate(pad_id)))
    model.eval()
    chunks = []
    with torch.inference_mode():
        for batch in loader:
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            chunks.append(accelerator.gather_for_metrics(torch.sigmoid(logits.float())).cpu().numpy())
    model.train()
    sorted_scores = np.concatenate(chunks)
    scores = np.empty_like(sorted_scores)
    scores[order] = sorted_scores
    return scores


def _evaluate(scores: np.ndarray, y: np.ndarray, labels: Sequence[str],
              thresholds: Sequence[float]) -> dict[str, Any]:
    return multilabel_metrics(y.astype(bool), scores >= np.asarray(thresholds), labels)


def _atomic_replace_dir(staging: Path, target: Path) -> None:
    """Move a finished folder into place; an existing one is swapped out, then removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def train(config: WaspadaConfig, *, show_progress: bool = True) -> TrainResult:
    """Run the training job described by ``config``; returns metrics and the model folder."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

    started = time.time()
    data, model_cfg, opt = config.data, config.model, config.training
    labels = list(data.labels)
    if opt.threads:
        torch.set_num_threads(opt.threads)
    if not torch.cuda.is_available():
        torch.set_flush_denormal(True)  # subnormal activations slow CPU training x2 and more
    # cpu=True on GPU-less machines: it is what makes accelerate see a torchrun / accelerate
    # launch job on CPUs as distributed (gloo) instead of N independent runs.
    accelerator = Accelerator(cpu=not torch.cuda.is_available(),
                              mixed_precision=_mixed_precision(opt.precision),
                              gradient_accumulation_steps=opt.gradient_accumulation_steps)
    is_main = accelerator.is_main_process
    set_seed(opt.seed)

    paths = [data.train, data.dev] + ([data.test] if data.test else [])
    splits = read_records(paths, labels, text_field=data.text_field, labels_field=data.labels_field,
                          split_names=["train", "dev", "test"][:len(paths)])
    train_records, dev_records = splits[0], splits[1]
    test_records = splits[2] if data.test else None
    if not train_records or not dev_records:
        raise ValueError("train and dev must each hold at least one record")

    output_dir = Path(opt.output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = output_dir.with_name(f".{output_dir.name}.partial")
    # The main process builds or fetches the backbone once; the others load what it made
    # (a scratch WordPiece vocabulary trained twice need not come out identical).
    source_box = [None]
    if is_main:
        if staging.exists():
            shutil.rmtree(staging)
        source_box[0] = resolve_backbone(model_cfg, [r.text for r in train_records], staging)
    if accelerator.num_processes > 1:
        from accelerate.utils import broadcast_object_list

        broadcast_object_list(source_box, from_process=0)
    source = source_box[0]
    tokenizer = load_tokenizer(source, model_cfg)
    overrides: dict[str, Any] = {}
    if model_cfg.dropout is not None:
        overrides = {"hidden_dropout_prob": model_cfg.dropout,
                     "attention_probs_dropout_prob": model_cfg.dropout}
    set_seed(opt.seed)  # the head is initialised identically whatever the source did
    with quiet_transformers():  # "classifier.* newly initialised" is expected, not news
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=len(labels), problem_type="multi_label_classification",
            id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
            **overrides)
    _freeze(model, model_cfg.freeze_embeddings or model_cfg.freeze_layers > 0, model_cfg.freeze_layers)

    encode = lambda records: _Encoded(records, tokenizer, labels, model_cfg.text_prefix,  # noqa: E731
                                      model_cfg.max_length)
    train_set, dev_set = encode(train_records), encode(dev_records)
    test_set = encode(test_records) if test_records else None
    pad_id = tokenizer.pad_token_id or 0

    train_loader = _train_loader(train_set, opt.batch_size, pad_id, opt.seed, opt.group_by_length)
    head_names = {name for name, _ in model.named_parameters()
                  if name.startswith(("classifier.", "score."))}
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = param.ndim < 2  # biases and LayerNorm weights
        groups.setdefault((name in head_names, no_decay), []).append(param)
    param_groups = [
        {"params": params,
         "lr": (opt.head_learning_rate or opt.learning_rate) if is_head else opt.learning_rate,
         "weight_decay": 0.0 if no_decay else opt.weight_decay}
        for (is_head, no_decay), params in groups.items()]
    optimizer = torch.optim.AdamW(param_groups)
    model, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)
    updates_per_epoch = math.ceil(len(train_loader) / opt.gradient_accumulation_steps)
    total_updates = updates_per_epoch * opt.epochs
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(opt.warmup_ratio * total_updates), total_updates)
    scheduler = accelerator.prepare(scheduler)
    pos_weight = _pos_weight(train_set.labels, opt.pos_weight)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=pos_weight.to(accelerator.device) if pos_weight is not None else None)

    eval_every = max(1, len(train_loader) // opt.evaluations_per_epoch)
    history: list[dict[str, Any]] = []
    best_f1, best_state, stale = -1.0, None, 0
    stop = False
    step = 0
    import sys

    progress = tqdm(total=len(train_loader) * opt.epochs, disable=not (show_progress and is_main),
                    desc="training", unit="batch", dynamic_ncols=True,
                    # in a log file (no terminal), a line every 30 s instead of a redraw per batch
                    mininterval=0.5 if sys.stderr.isatty() else 30.0)
    running_loss, seen = 0.0, 0
    model.train()
    for epoch in range(opt.epochs):
        for batch_number, batch in enumerate(train_loader, start=1):
            with accelerator.accumulate(model):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                loss = loss_fn(logits.float(), batch["labels"])
                accelerator.backward(loss)
                if accelerator.sync_gradients and opt.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), opt.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            step += 1
            running_loss += float(loss.detach())
            seen += 1
            progress.update(1)
            progress.set_postfix(epoch=epoch + 1, loss=f"{running_loss / seen:.4f}", refresh=False)
            # Every eval_every batches and at the end of each epoch (where the learning rate
            # of the last epoch has decayed to zero), skipping a check that would fall less
            # than eval_every batches before the end-of-epoch one.
            at_end = batch_number == len(train_loader)
            if at_end or (batch_number % eval_every == 0 and batch_number + eval_every <= len(train_loader)):
                dev_scores = _score(model, dev_set, opt.eval_batch_size, accelerator, pad_id)
                thresholds = tune_thresholds(dev_set.labels, dev_scores, labels, opt.threshold_tolerance)
                tuned = _evaluate(dev_scores, dev_set.labels, labels, thresholds)
                fixed = _evaluate(dev_scores, dev_set.labels, labels, [0.5] * len(labels))
                entry = {"epoch": epoch + 1, "step": step, "train_loss": running_loss / seen,
                         "dev_macro_f1": tuned["macro_f1"], "dev_macro_f1_at_0.5": fixed["macro_f1"]}
                history.append(entry)
                running_loss, seen = 0.0, 0
                if is_main:
                    progress.write(f"epoch {epoch + 1} step {step}: loss {entry['train_loss']:.4f}, "
                                   f"dev macro-F1 {tuned['macro_f1']:.4f} "
                                   f"(at 0.5: {fixed['macro_f1']:.4f})")
                if tuned["macro_f1"] > best_f1:
                    best_f1, stale = tuned["macro_f1"], 0
                    unwrapped = accelerator.unwrap_model(model)
                    best_state = {k: v.detach().to("cpu", copy=True)
                                  for k, v in unwrapped.state_dict().items()}
                else:
                    stale += 1
                    if opt.early_stopping_patience and stale >= opt.early_stopping_patience:
                        stop = True
                        break
        if stop:
            if is_main:
                progress.write(f"early stop: no dev macro-F1 gain in {stale} evaluations")
            break
    progress.close()

    unwrapped = accelerator.unwrap_model(model)
    if best_state is not None:
        unwrapped.load_state_dict(best_state)
    dev_scores = _score(model, dev_set, opt.eval_batch_size, accelerator, pad_id)
    thresholds = tune_thresholds(dev_set.labels, dev_scores, labels, opt.threshold_tolerance)
    dev_metrics = _evaluate(dev_scores, dev_set.labels, labels, thresholds)
    test_metrics = None
    if test_set is not None:
        test_scores = _score(model, test_set, opt.eval_batch_size, accelerator, pad_id)
        test_metrics = _evaluate(test_scores, test_set.labels, labels, thresholds)

    if is_main:
        staging.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            unwrapped.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        metadata = ModelMetadata(
            labels=labels, thresholds=[round(float(t), 6) for t in thresholds],
            max_length=model_cfg.max_length, text_prefix=model_cfg.text_prefix,
            config=config.to_dict(),
            metrics={"dev": dev_metrics, **({"test": test_metrics} if test_metrics else {})},
            versions=library_versions(),
            data_hashes={str(p): file_sha256(p) for p in paths})
        metadata.save(staging)
        write_text_atomic(staging / CONFIG_FILE, config.to_yaml())
        import json

        write_text_atomic(staging / HISTORY_FILE, json.dumps(history, indent=2) + "\n")
        scratch = staging / "scratch-backbone"
        if scratch.exists():
            shutil.rmtree(scratch)
        _atomic_replace_dir(staging, output_dir)
    accelerator.wait_for_everyone()
    result = TrainResult(output_dir=output_dir, thresholds=list(thresholds), dev_metrics=dev_metrics,
                         test_metrics=test_metrics, history=history, seconds=time.time() - started)
    accelerator.end_training()
    return result
