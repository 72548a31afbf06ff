"""ONNX Runtime back ends (fp32 and dynamically quantized int8) and the export that feeds them.

``waspada export --model DIR --format onnx [--quantize int8]`` writes, inside the model
folder::

    onnx/model.onnx        the encoder + classification head, fp32; inputs input_ids and
                           attention_mask (int64, dynamic batch and sequence axes), output
                           logits (float32, batch x labels)
    onnx/model-int8.onnx   the same graph with every weight matrix quantized to int8, one
                           scale per output column (dynamic quantization: activations are
                           quantized per tensor at run time)
    onnx/export.json       how it was made, a fingerprint of the weights it came from and
                           the parity measured at export time

:class:`OnnxBackend` (``backend="onnx"``) and :class:`OnnxInt8Backend`
(``backend="onnx-int8"``) run them with the folder's own tokenizer, text prefix, maximum
length and thresholds, through the batching of
:class:`~waspada.inference.backends.EncoderBackend`, so their output is the torch back
end's output up to numerical differences: fp32 ~1e-6 on scores; int8 typically
1e-3 to 1e-2, enough to flip decisions that sit on a threshold, so check a quantized
model with ``waspada evaluate --backend onnx-int8 --compare-backend torch`` first.

Export path. The graph is traced with the TorchScript exporter
(``torch.onnx.export(..., dynamo=False)`` with ``dynamic_axes``), from the model loaded
with eager attention. Measured with torch 2.13 / transformers 5.24 on BERT and XLM-R
models, both exporters give graphs that match torch to ~1e-7 at every batch size and
length from 1 up; the TorchScript one exports a base model in ~12 s against ~30 s for
dynamo (opset 20, more Reshape/Slice nodes, not faster at run time in our runs), and eager
attention gives the plain MatMul/Softmax pattern ONNX Runtime's fusions know.
transformers skips its "no padding, drop the mask" shortcut while tracing, and the
example batch is padded anyway, so the mask path is always in the graph. Where the
TorchScript exporter fails (it is deprecated, and may go in a later torch), the dynamo
exporter (``dynamic_shapes``) is used instead. Every export is run through ONNX
Runtime and compared with torch before anything is written; an export that disagrees
is refused.

This module imports neither torch nor ONNX Runtime at import time, and never
:mod:`waspada.train`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .backends import EncoderBackend, default_threads, sigmoid
from .errors import ModelFolderError, WaspadaError
from .hf_quiet import quiet_transformers
from .metadata import ModelMetadata, write_json_atomic

logger = logging.getLogger(__name__)

ONNX_DIR = "onnx"
MANIFEST_FILE = "export.json"
VARIANT_FILES = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "logits"
INSTALL_HINT = "pip install 'waspada[onnx]'"
MANIFEST_VERSION = 1
DEFAULT_OPSET = 17

# An export whose fp32 logits differ from torch by more than this is refused (real
# exports differ by ~1e-6; anything near this bound means a wrong graph, not rounding).
FP32_EXPORT_TOLERANCE = 1e-3
# int8 weights get one scale per output column, not one per matrix. Pretrained encoders
# have outlier columns (multilingual-e5-small: |w| up to 6.3 in an FFN matrix whose 99th
# percentile is 0.14), and a per-matrix scale then rounds most weights to a few levels:
# measured on e5-small, the [CLS] state's relative error is 38% per matrix, 5% per
# column, at the same speed.
PER_CHANNEL = True
# Files whose bytes decide the model's answers: a change means the export is stale.
_SOURCE_PATTERNS = ("config.json", "*.safetensors", "pytorch_model*.bin")
# Protobuf cannot hold more than 2 GiB; bigger models keep their weights in a side file.
_EXTERNAL_DATA_BYTES = 1_800_000_000


def export_command(model_dir: str | Path, variant: str = "fp32") -> str:
    quantize = " --quantize int8" if variant == "int8" else ""
    return f"waspada export --model {model_dir} --format onnx{quantize}"


def onnx_dir(model_dir: str | Path) -> Path:
    return Path(model_dir) / ONNX_DIR


def onnx_path(model_dir: str | Path, variant: str = "fp32") -> Path:
    if variant not in VARIANT_FILES:
        raise ValueError(f"variant must be one of {sorted(VARIANT_FILES)}, not {variant!r}")
    return onnx_dir(model_dir) / VARIANT_FILES[variant]


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as exc:
        raise WaspadaError(f"the ONNX back ends need ONNX Runtime, which is not installed: "
                           f"{INSTALL_HINT}") from exc
    return onnxruntime


# --------------------------------------------------------------------------- back ends


class OnnxBackend(EncoderBackend):
    """ONNX Runtime on CPU (or CUDA where the CUDA provider is installed), fp32 graph.

    Options: ``batch_size``, ``threads`` (intra-op threads; default
    :func:`~waspada.inference.backends.default_threads`), ``device`` (``None``/``"cpu"``
    or ``"cuda[:N]"``).
    """

    name = "onnx"
    variant = "fp32"

    def __init__(self, model_dir: Path, metadata: ModelMetadata, *, device: str | None = None,
                 **options: Any) -> None:
        ort = import_onnxruntime()
        path = onnx_path(model_dir, self.variant)
        if not path.is_file():
            raise ModelFolderError(
                f"{model_dir}: no ONNX export ({ONNX_DIR}/{VARIANT_FILES[self.variant]}) for backend "
                f"{self.name!r}; create it with `{export_command(model_dir, self.variant)}`")
        check_export_current(model_dir, self.variant)
        super().__init__(model_dir, metadata, **options)
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        self.threads = self.threads or default_threads()
        self.path = path
        self.session = _session(ort, path, self.threads, device)
        self.device = device or "cpu"
        inputs = {i.name for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if not set(INPUT_NAMES) <= inputs or OUTPUT_NAME not in outputs:
            raise ModelFolderError(
                f"{path}: graph inputs {sorted(inputs)} / outputs {outputs}, expected inputs "
                f"{list(INPUT_NAMES)} and output {OUTPUT_NAME!r}; re-export with "
                f"`{export_command(model_dir, self.variant)}`")
        width = self.session.get_outputs()[outputs.index(OUTPUT_NAME)].shape[-1]
        if isinstance(width, int) and width != len(metadata.labels):
            raise ModelFolderError(
                f"{path}: the graph has {width} outputs but waspada.json names "
                f"{len(metadata.labels)} labels; re-export with `{export_command(model_dir, self.variant)}`")

    def on_gpu(self) -> bool:
        return self.device != "cpu" and "CUDAExecutionProvider" in self.session.get_providers()

    def run_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        (logits,) = self.session.run([OUTPUT_NAME], {"input_ids": input_ids,
                                                     "attention_mask": attention_mask})
        return sigmoid(logits)


class OnnxInt8Backend(OnnxBackend):
    """ONNX Runtime, int8 weights (dynamic quantization); the fastest CPU back end."""

    name = "onnx-int8"
    variant = "int8"


def _session(ort, path: Path, threads: int, device: str | None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: ORT's warnings are about its own internals
    providers: list[Any] = ["CPUExecutionProvider"]
    if device and device != "cpu":
        kind, _, index = device.partition(":")
        if kind != "cuda":
            raise WaspadaError(f"device {device!r}: the ONNX back ends run on cpu or cuda")
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise WaspadaError(
                f"device {device!r}: this ONNX Runtime has no CUDA provider (install "
                f"onnxruntime-gpu), or use the torch back end on GPU")
        providers = [("CUDAExecutionProvider", {"device_id": int(index or 0)}), "CPUExecutionProvider"]
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # ORT raises its own exception types (corrupt file, bad graph)
        raise ModelFolderError(f"{path}: ONNX Runtime cannot load it ({exc}); re-export it with "
                               f"`waspada export --model {path.parent.parent} --format onnx`") from exc


# --------------------------------------------------------------------------- freshness


def source_files(model_dir: str | Path) -> list[Path]:
    """The files of the model folder that an export is made from (config and weights)."""
    model_dir = Path(model_dir)
    found = {p for pattern in _SOURCE_PATTERNS for p in model_dir.glob(pattern) if p.is_file()}
    return sorted(found)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_fingerprint(model_dir: str | Path) -> dict[str, dict[str, Any]]:
    """sha256, size and mtime of each source file (mtime lets a load skip re-hashing)."""
    result = {}
    for path in source_files(model_dir):
        stat = path.stat()
        result[path.name] = {"sha256": _file_sha256(path), "size": stat.st_size,
                             "mtime_ns": stat.st_mtime_ns}
    return result


def read_manifest(model_dir: str | Path) -> dict[str, Any] | None:
    path = onnx_dir(model_dir) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _sources_match(model_dir: Path, recorded: dict[str, dict[str, Any]]) -> bool:
    """Whether the folder's config and weights are the ones the export was made from.

    Same names, sizes and mtimes is taken as a match without reading the weights; a
    copied folder (new mtimes) is re-hashed once per load.
    """
    current = source_files(model_dir)
    if sorted(p.name for p in current) != sorted(recorded):
        return False
    for path in current:
        entry = recorded[path.name]
        stat = path.stat()
        if stat.st_size != entry.get("size"):
            return False
        if stat.st_mtime_ns != entry.get("mtime_ns") and _file_sha256(path) != entry.get("sha256"):
            return False
    return True


def check_export_current(model_dir: str | Path, variant: str) -> None:
    """Refuse an export made from other weights than the folder's (retrained in place)."""
    manifest = read_manifest(model_dir)
    if manifest is None:
        logger.warning("%s: no %s/%s; cannot check that the ONNX export matches the weights",
                       model_dir, ONNX_DIR, MANIFEST_FILE)
        return
    if not _sources_match(Path(model_dir), manifest.get("source") or {}):
        raise ModelFolderError(
            f"{model_dir}: the ONNX export was made from other weights than the folder holds "
            f"now (retrained or edited since); re-export with `{export_command(model_dir, variant)}`")


# --------------------------------------------------------------------------- export


@dataclass
class ExportResult:
    """What :func:`export_onnx` did."""

    model_dir: Path
    files: dict[str, Path]
    """variant ("fp32", "int8") -> file, for every variant present after the export."""
    written: list[str] = field(default_factory=list)
    """Variants written by this call; empty when everything was already up to date."""
    manifest: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def export_onnx(model_dir: str | Path, *, quantize: str | None = None, force: bool = False,
                optimize: bool | None = None, opset: int = DEFAULT_OPSET,
                exporter: str = "auto") -> ExportResult:
    """Export a fine-tuned encoder folder to ``DIR/onnx/`` (and its int8 twin with ``quantize="int8"``).

    Idempotent: variants already exported from the folder's current weights with the
    same settings are kept as they are (``force=True`` rebuilds them). Atomic: files are
    built in a temporary folder beside the target and renamed into place, the manifest
    last, under a lock, so a reader sees either the old or the new export.

    ``optimize`` runs ONNX Runtime's transformer optimizer (fused attention, layer norm
    and GELU) on the graph before it is quantized. Off by default: on a base-size BERT
    with 2 threads its int8 graph was no faster (21 vs 24 sentences/s, best of 24
    batches) than quantizing the plain graph, whose MatMuls ONNX Runtime fuses at load
    time anyway, and the optimizer adds ~20 s to an export. ``exporter`` is
    ``"torchscript"``, ``"dynamo"`` or ``"auto"`` (TorchScript, then dynamo if it fails).
    """
    started = time.perf_counter()
    model_dir = Path(model_dir)
    if quantize not in (None, "int8"):
        raise WaspadaError(f"quantize must be 'int8' or None, not {quantize!r}")
    if exporter not in ("auto", "torchscript", "dynamo"):
        raise WaspadaError(f"exporter must be auto, torchscript or dynamo, not {exporter!r}")
    if not model_dir.is_dir():
        raise ModelFolderError(f"model folder {model_dir} does not exist")
    metadata = ModelMetadata.load(model_dir)
    if metadata.kind != "transformers":
        raise ModelFolderError(f"{model_dir} holds a {metadata.kind} model; only fine-tuned "
                               f"encoders can be exported to ONNX")
    if not source_files(model_dir):
        raise ModelFolderError(f"{model_dir}: no config.json and weights to export")
    ort = import_onnxruntime()
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise WaspadaError(f"exporting needs the onnx package: {INSTALL_HINT}") from exc
    optimize = False if optimize is None else optimize
    wanted = ["fp32"] + (["int8"] if quantize else [])
    settings = {"opset": opset, "exporter": exporter}
    int8_settings = {**settings, "optimize": optimize, "per_channel": PER_CHANNEL, "weight_type": "QInt8"}

    from filelock import FileLock

    out_dir = onnx_dir(model_dir)
    out_dir.mkdir(exist_ok=True)
    with FileLock(str(out_dir / ".export.lock")):
        fingerprint = source_fingerprint(model_dir)
        old = read_manifest(model_dir) or {}
        same_source = (old.get("manifest_version") == MANIFEST_VERSION
                       and _same_bytes(old.get("source") or {}, fingerprint))
        old_variants = old.get("variants", {}) if same_source else {}

        def current(variant: str, expected: dict[str, Any]) -> bool:
            entry = old_variants.get(variant)
            return (not force and entry is not None and entry.get("settings") == expected
                    and onnx_path(model_dir, variant).is_file())

        todo = []
        if not current("fp32", settings):
            todo.append("fp32")
        if "int8" in wanted and ("fp32" in todo or not current("int8", int8_settings)):
            todo.append("int8")
        # Variants not rebuilt stay if they come from these same weights (an int8 twin
        # is still right after a forced fp32 re-export); files made from other weights
        # are deleted once the new ones are in place.
        variants = {k: v for k, v in old_variants.items()
                    if k not in todo and onnx_path(model_dir, k).is_file()}
        stale = [v for v in VARIANT_FILES if v not in todo and v not in variants]
        if not todo:
            manifest = old
            if old.get("source") != fingerprint:  # same bytes, new mtimes (a copied folder)
                manifest = {**old, "source": fingerprint}
                _write_manifest(out_dir, manifest)
            files = {v: onnx_path(model_dir, v) for v in VARIANT_FILES if v in variants}
            return ExportResult(model_dir, files, [], manifest, time.perf_counter() - started)

        for leftover in out_dir.glob(".tmp-export-*"):  # from an interrupted export
            shutil.rmtree(leftover, ignore_errors=True)
        work = out_dir / f".tmp-export-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        work.mkdir()
        try:
            model = _load_torch_model(model_dir)
            probes = _probe_batches(model.config, metadata)
            reference = _torch_logits(model, probes)
            fp32_file = work / VARIANT_FILES["fp32"]
            if "fp32" not in todo:  # int8 only: quantize the fp32 graph already in place
                fp32_file = onnx_path(model_dir, "fp32")
            else:
                used = _export_graph(model, fp32_file, opset, exporter)
                diff = _max_logit_diff(ort, fp32_file, probes, reference)
                if not diff <= FP32_EXPORT_TOLERANCE:
                    raise WaspadaError(
                        f"the ONNX graph disagrees with torch (max |logit diff| {diff:.2e} > "
                        f"{FP32_EXPORT_TOLERANCE:.0e}); nothing was written. Report this with "
                        f"the model's config.json")
                variants["fp32"] = {"file": VARIANT_FILES["fp32"], "settings": settings,
                                    "exporter_used": used, "max_abs_logit_diff": diff}
            if "int8" in todo:
                int8_file = work / VARIANT_FILES["int8"]
                used_optimizer = _quantize(ort, fp32_file, int8_file, model.config, optimize,
                                           probes, reference, work)
                diff = _max_logit_diff(ort, int8_file, probes, reference)
                variants["int8"] = {"file": VARIANT_FILES["int8"], "settings": int8_settings,
                                    "optimized": used_optimizer, "max_abs_logit_diff": diff}
            del model
            for variant in todo:  # fp32 first: an int8 file never lands before its source
                _move_into_place(work, out_dir, VARIANT_FILES[variant])
            for variant in stale:
                _remove_variant(model_dir, variant)
            manifest = {
                "manifest_version": MANIFEST_VERSION,
                "format": "onnx",
                "inputs": list(INPUT_NAMES), "output": OUTPUT_NAME,
                "labels": list(metadata.labels),
                "source": fingerprint,
                "variants": variants,
                "versions": _versions(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            _write_manifest(out_dir, manifest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    files = {v: onnx_path(model_dir, v) for v in VARIANT_FILES if v in variants}
    return ExportResult(model_dir, files, todo, manifest, time.perf_counter() - started)


def _same_bytes(recorded: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> bool:
    return (sorted(recorded) == sorted(current)
            and all(recorded[n].get("sha256") == current[n]["sha256"] for n in current))


def _write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    write_json_atomic(out_dir / MANIFEST_FILE, manifest)
    os.chmod(out_dir / MANIFEST_FILE, 0o644)  # readable like the graphs beside it


def _remove_variant(model_dir: Path, variant: str) -> None:
    path = onnx_path(model_dir, variant)
    path.unlink(missing_ok=True)
    Path(str(path) + ".data").unlink(missing_ok=True)


def _move_into_place(work: Path, out_dir: Path, name: str) -> None:
    data = work / (name + ".data")
    if data.exists():  # weights first, graph last: the graph never points at missing data
        os.replace(data, out_dir / data.name)
    else:
        (out_dir / (name + ".data")).unlink(missing_ok=True)
    os.replace(work / name, out_dir / name)


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # pragma: no cover - version lookup is best effort
            pass
    return versions


def _logits_module(model):
    """The sequence-classification model as ``(input_ids, attention_mask) -> logits``."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    return LogitsOnly(model).eval()


def _load_torch_model(model_dir: Path):
    from transformers import AutoModelForSequenceClassification
    with _quiet(), quiet_transformers():
        try:
            # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime fuses.
            model = AutoModelForSequenceClassification.from_pretrained(
                str(model_dir), attn_implementation="eager")
        except (ValueError, TypeError):  # an architecture without an eager path
            model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
    return model.float().eval()


def _probe_batches(config, metadata: ModelMetadata) -> list[tuple[np.ndarray, np.ndarray]]:
    """Token batches of several sizes and lengths, with padding, to compare back ends on."""
    rng = np.random.default_rng(0)
    pad = config.pad_token_id if config.pad_token_id is not None else 0
    low = min(5, config.vocab_size - 1)
    longest = min(metadata.max_length, getattr(config, "max_position_embeddings", 512) - 2)
    batches = []
    for batch, length in ((1, 1), (1, 7), (3, 16), (5, min(37, longest)), (2, longest)):
        ids = rng.integers(low, config.vocab_size, size=(batch, length), dtype=np.int64)
        mask = np.ones((batch, length), dtype=np.int64)
        for row in range(1, batch):  # rows after the first are padded, to several lengths
            keep = max(1, length - (row * length) // batch)
            mask[row, keep:] = 0
            ids[row, keep:] = pad
        batches.append((ids, mask))
    return batches


def _torch_logits(model, probes) -> list[np.ndarray]:
    import torch

    out = []
    with torch.inference_mode():
        for ids, mask in probes:
            out.append(model(input_ids=torch.from_numpy(ids),
                             attention_mask=torch.from_numpy(mask)).logits.float().numpy())
    return out


def _max_logit_diff(ort, path: Path, probes, reference) -> float:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = default_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    worst = 0.0
    for (ids, mask), ref in zip(probes, reference):
        (logits,) = session.run([OUTPUT_NAME], {"input_ids": ids, "attention_mask": mask})
        if logits.shape != ref.shape:
            return float("inf")
        worst = max(worst, float(np.abs(logits - ref).max()))
    return worst


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' deprecation and tracer chatter (not errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loggers = [logging.getLogger(n) for n in ("torch.onnx", "onnxscript", "onnx_ir",
                                                  "transformers", "root")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def _export_graph(model, path: Path, opset: int, exporter: str) -> str:
    """Write the fp32 graph to ``path``; returns the exporter that produced it."""
    import torch

    wrapped = _logits_module(model)
    example_ids = torch.full((2, 16), 5, dtype=torch.long)
    example_mask = torch.ones((2, 16), dtype=torch.long)
    example_mask[1, 9:] = 0  # padded example: the mask path must be traced, not skipped
    large = sum(p.numel() * p.element_size() for p in model.parameters()) > _EXTERNAL_DATA_BYTES
    order = ["torchscript", "dynamo"] if exporter == "auto" else [exporter]
    errors = []
    for name in order:
        try:
            with _quiet(), torch.no_grad():
                if name == "torchscript":
                    torch.onnx.export(
                        wrapped, (example_ids, example_mask), str(path), dynamo=False,
                        input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
                        opset_version=opset, do_constant_folding=True,
                        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                      "attention_mask": {0: "batch", 1: "sequence"},
                                      OUTPUT_NAME: {0: "batch"}})
                else:
                    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
                    program = torch.onnx.export(
                        wrapped, (example_ids, example_mask), dynamo=True,
                        input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
                        opset_version=max(opset, 18), external_data=large, verbose=False,
                        dynamic_shapes={"input_ids": {0: batch, 1: sequence},
                                        "attention_mask": {0: batch, 1: sequence}})
                    program.save(str(path), external_data=large)
            if large:
                _consolidate_external_data(path)
            return name
        except Exception as exc:  # each exporter has its own failure types
            logger.warning("ONNX export with the %s exporter failed: %s", name, exc)
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            for stray in path.parent.iterdir():
                if stray.name.startswith(path.name):
                    stray.unlink()
    raise WaspadaError("ONNX export failed: " + " | ".join(errors))


def _consolidate_external_data(path: Path) -> None:
    """Gather the weights of a >2 GiB graph into one ``model.onnx.data`` beside it."""
    import onnx

    model = onnx.load(str(path))
    for stray in path.parent.iterdir():
        if stray != path and not stray.name.startswith(".") and stray.suffix != ".onnx":
            stray.unlink()
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=path.name + ".data", size_threshold=1024)


def _quantize(ort, fp32_file: Path, int8_file: Path, config, optimize: bool, probes, reference,
              work: Path) -> bool:
    """Dynamic int8 quantization of every MatMul with a constant weight (per-column weight
    scales; activations quantized per tensor at run time); returns whether the transformer
    optimizer's fused graph was used (it is dropped if it fails or loses parity)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, used_optimizer = fp32_file, False
    large = fp32_file.stat().st_size + _data_size(fp32_file) > _EXTERNAL_DATA_BYTES
    if optimize:
        fused = work / "model-fused.onnx"
        try:
            with _quiet():
                from onnxruntime.transformers import optimizer

                heads = getattr(config, "num_attention_heads", 0) or 0
                hidden = getattr(config, "hidden_size", 0) or 0
                optimized = optimizer.optimize_model(
                    str(fp32_file), model_type="bert", num_heads=heads, hidden_size=hidden,
                    opt_level=0, use_gpu=False)
                optimized.save_model_to_file(str(fused), use_external_data_format=large)
            diff = _max_logit_diff(ort, fused, probes, reference)
            if diff <= FP32_EXPORT_TOLERANCE:
                source, used_optimizer = fused, True
            else:
                logger.warning("transformer optimizer changed the logits by %.2e; quantizing "
                               "the plain graph", diff)
        except Exception as exc:  # the optimizer is best effort: the plain graph always works
            logger.warning("transformer optimizer failed (%s); quantizing the plain graph", exc)
    with _quiet():
        quantize_dynamic(
            str(source), str(int8_file), weight_type=QuantType.QInt8, per_channel=PER_CHANNEL,
            use_external_data_format=large,
            extra_options={"MatMulConstBOnly": True,
                           # fused com.microsoft ops have no ONNX shape inference
                           "DefaultTensorType": onnx.TensorProto.FLOAT})
    for stray in work.glob("model-fused.onnx*"):
        stray.unlink()
    return used_optimizer


def _data_size(path: Path) -> int:
    data = Path(str(path) + ".data")
    return data.stat().st_size if data.exists() else 0


__all__ = ["OnnxBackend", "OnnxInt8Backend", "ExportResult", "export_onnx", "onnx_path",
           "check_export_current", "source_fingerprint", "INSTALL_HINT"]
