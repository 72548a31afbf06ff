"""waspada: sentence-level election-security labels for Indonesian text.

``from waspada import Classifier`` is the Python API; ``waspada --help`` the command line.
"""

from __future__ import annotations

__version__ = "0.1.0"

LABELS = ("preemptive", "preventive", "neutrality", "threat_awareness")
"""The four categories of the project's label guide (``data/LABELING.md``)."""


def __getattr__(name: str):
    # Lazy, so `import waspada` (and the CLI's --help) does not pay for torch.
    if name in {"Classifier", "SentencePrediction", "SentenceResult"}:
        from waspada import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'waspada' has no attribute {name!r}")


__all__ = ["Classifier", "SentencePrediction", "SentenceResult", "LABELS", "__version__"]
