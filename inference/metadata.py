"""``waspada.json``: what a model folder needs besides its Hugging Face files.

A model folder is an ordinary Hugging Face folder (``config.json``, weights, tokenizer)
plus this file, which says how to turn scores into labels (label order, one threshold
per label), how to prepare text (``text_prefix``, ``max_length``), and how the model was
made (the resolved training config, metrics, library versions, data hashes) so a result
can be reproduced from the folder alone.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelFolderError

METADATA_FILE = "waspada.json"
FORMAT_VERSION = 1


@dataclass
class ModelMetadata:
    """Everything inference needs to reproduce a model's decisions."""

    labels: list[str]
    """Label names in the order of the model's output units."""

    thresholds: list[float]
    """Decision threshold per label, applied to sigmoid scores (same order as ``labels``)."""

    max_length: int = 128
    """Token limit per sentence; longer inputs are truncated."""

    text_prefix: str = ""
    """Prepended to every text before tokenizing (e5 models expect ``"query: "``)."""

    kind: str = "transformers"
    """What the folder holds: ``"transformers"`` (a fine-tuned encoder) or ``"tfidf"`` (the baseline)."""

    config: dict[str, Any] = field(default_factory=dict)
    """The full resolved training config the model was made from."""

    metrics: dict[str, Any] = field(default_factory=dict)
    """Dev (and test, when given) metrics measured at the end of training."""

    versions: dict[str, str] = field(default_factory=dict)
    """Library versions at training time."""

    data_hashes: dict[str, str] = field(default_factory=dict)
    """sha256 of each data file the model was trained and tuned on."""

    format_version: int = FORMAT_VERSION
    """Version of this file's layout."""

    def __post_init__(self) -> None:
        if not self.labels:
            raise ModelFolderError("waspada.json: 'labels' is empty")
        if len(set(self.labels)) != len(self.labels):
            raise ModelFolderError(f"waspada.json: 'labels' has duplicates: {self.labels}")
        if len(self.thresholds) != len(self.labels):
            raise ModelFolderError(
                f"waspada.json: {len(self.thresholds)} thresholds for {len(self.labels)} labels")
        for name, value in zip(self.labels, self.thresholds):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ModelFolderError(f"waspada.json: threshold of '{name}' is {value!r}, not in [0, 1]")
        if self.max_length < 8:
            raise ModelFolderError(f"waspada.json: max_length {self.max_length} is too small")
        if self.format_version > FORMAT_VERSION:
            raise ModelFolderError(
                f"waspada.json: format_version {self.format_version} is newer than this waspada "
                f"understands ({FORMAT_VERSION}); upgrade waspada")

    @property
    def threshold_by_label(self) -> dict[str, float]:
        return dict(zip(self.labels, self.thresholds))

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / METADATA_FILE
        write_json_atomic(path, asdict(self))
        return path

    @classmethod
    def load(cls, model_dir: str | Path) -> "ModelMetadata":
        path = Path(model_dir) / METADATA_FILE
        if not path.is_file():
            raise ModelFolderError(
                f"{model_dir}: no {METADATA_FILE}; not a waspada model folder "
                f"(train one with `waspada train --config ...`)")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelFolderError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ModelFolderError(f"{path}: unknown fields {unknown}")
        missing = [name for name in ("labels", "thresholds") if name not in raw]
        if missing:
            raise ModelFolderError(f"{path}: missing fields {missing}")
        return cls(**raw)


def write_json_atomic(path: str | Path, payload: Any) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it over, so readers never see half a file."""
    write_text_atomic(path, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def write_text_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
