"""Inference: load a waspada model folder and label sentences and documents.

This package never imports :mod:`waspada.train`, so it runs where nothing trains.
Names are imported lazily: ``waspada.inference.errors`` costs nothing to import.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Classifier": "classifier", "SentencePrediction": "classifier", "SentenceResult": "classifier",
    "InputError": "errors", "ModelFolderError": "errors", "WaspadaError": "errors",
    "ModelMetadata": "metadata",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
