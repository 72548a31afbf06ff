"""Classify an archive on Ray Data: the local engine's stages, spread over a cluster.

:func:`classify_archive_ray` runs the stages of :mod:`waspada.inference.archive` as a
Ray Data pipeline and writes the same rows:

* **read + split** (Ray tasks, one per input file): :func:`~waspada.inference.readers.read_file`
  then :func:`~waspada.inference.archive.split_document`, so parsing, ids, offsets and
  bad-record detection are those of the local engine;
* **score** (an actor pool, ``workers`` actors): each actor loads the
  :class:`~waspada.inference.classifier.Classifier` once and runs
  :func:`~waspada.inference.archive.score_window` on batches of documents, then builds
  rows with :func:`~waspada.inference.archive.document_rows` /
  :func:`~waspada.inference.archive.rejected_row`;
* **write** (Ray tasks): whole documents to part files, then the driver gives every
  Parquet part the archive-wide schema (:func:`~waspada.inference.writers.finalize` with
  one typed template) and moves the parts into place.

Outputs
-------
``output`` (and ``summary``) is a **folder** of part files: ``part-00000.parquet``,
``part-00001.parquet``... (a path ending in ``.parquet``/``.pq``, or without an
extension, is that folder), or ``part-00000.jsonl``... for a path ending in
``.jsonl``/``.ndjson``. Columns (names, order, types) and values are those of the
local engine's file; every part has the same schema, so ``pyarrow.dataset``, pandas,
DuckDB or Spark read the folder as one table. **Order**: reading the parts in file-name
order gives the rows in input order (file, record, ``sentence_index``), as the local
engine writes them; a document's rows never span two parts. ``skip_bad`` is a JSONL
file (a path ending in ``.jsonl``/``.ndjson``), or else a folder of JSONL part files,
with the local engine's reject rows, in input order.

Parts are written to a hidden staging folder beside each target and moved into it only
when the whole run succeeded; a failed run leaves no partial output. An existing target
folder that holds only ``part-*`` files (an earlier run) is replaced; one with other
files is refused. There is no ``resume``: a failed run starts again.

Bad records
-----------
The same rules as the local engine: with ``skip_bad`` they are written there and the run
goes on; without it the first bad record a read task meets stops the run with its
:class:`~waspada.inference.errors.InputError` (``FILE:LINE: REASON``). Files are read in
parallel, so when several files hold bad records, which one is reported may vary.

Resources
---------
Read and write tasks reserve no CPU (they are light, and must not wait behind actors
holding every core); each scoring actor reserves ``threads`` CPUs (1 CPU and
``gpus_per_worker`` GPUs for GPU actors). Inputs, outputs and the model folder must be
at the same path on every node (shared storage).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import shutil
import time
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .archive import ArchiveStats, document_rows, rejected_row, score_window, split_document
from .backends import BACKENDS, available_cpu_count, default_threads
from .errors import WaspadaError
from .readers import InputFile, ReadOptions, Rejected, list_inputs, read_file, require_pyarrow
from .segmenter import UNITS
from .writers import (REJECT_TEMPLATE, _column_type, _kind, encode_row, finalize, summary_template,
                      unit_template)

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'waspada[ray]'"
DEFAULT_DOCS_PER_BATCH = 64
"""Documents per call of a scoring actor (their units are length-sorted and batched together)."""
DEFAULT_DOCS_PER_PART = 4096
"""Documents per part file (fewer in the last part of a stream)."""
DEFAULT_THREADS_PER_WORKER = 2
"""Torch threads per CPU actor when neither ``workers`` nor ``threads`` is given."""
_READ_CHUNK_BYTES = 8 << 20
_MAX_READ_BLOCKS = 2000
"""Files are read one per task up to this many files; beyond, some tasks read several."""
_PART_RE = re.compile(r"^part-\d{5,}\.(parquet|jsonl)$")
_DOC, _REJECT = 0, 1
#: An example value of each column type of :mod:`waspada.inference.writers` (a typed template).
_EXAMPLE: dict[str, Any] = {"bool": False, "int": 0, "float": 0.0, "str": "", "list_str": [],
                            "json": {}}


def require_ray():
    """Import Ray with Ray Data, or explain how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise WaspadaError(f"the Ray engine needs Ray Data, an optional extra: {INSTALL_HINT}") from None
    return ray


# --------------------------------------------------------------------------- targets

@dataclass
class _Target:
    """One output: a folder of part files (or, for rejects, possibly one JSONL file)."""

    name: str
    path: Path
    fmt: str
    """``parquet`` or ``jsonl``."""
    single_file: bool = False
    staging: Path | None = None

    def staged(self) -> Path:
        assert self.staging is not None
        return self.staging


def _folder_format(path: Path, what: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq", ""):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if path.is_dir():
        return "parquet"
    raise WaspadaError(f"{path}: the Ray engine writes {what} as a folder of Parquet (a path ending "
                       f"in .parquet or without an extension) or JSONL part files (ending in .jsonl), "
                       f"not {suffix}")


def _rejects_target(path: Path) -> _Target:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson") and not path.is_dir():
        return _Target("rejects", path, "jsonl", single_file=True)
    if suffix in (".csv", ".parquet", ".pq"):
        raise WaspadaError(f"{path}: the Ray engine writes rejects as JSONL: give a .jsonl file or a "
                           f"folder")
    return _Target("rejects", path, "jsonl")


def _check_target(target: _Target) -> None:
    path = target.path
    if target.single_file:
        if path.is_dir():
            raise WaspadaError(f"{path} is a folder; give a .jsonl file or a folder path for --skip-bad")
        return
    if path.is_file():
        raise WaspadaError(f"{path} is a file; the Ray engine writes a folder of part files there "
                           f"(remove the file or choose another path)")
    if path.is_dir():
        foreign = sorted(p.name for p in path.iterdir() if not _PART_RE.match(p.name))
        if foreign:
            raise WaspadaError(f"{path}: the folder holds other files than part files of an earlier "
                               f"run ({', '.join(foreign[:3])}{'...' if len(foreign) > 3 else ''}); "
                               f"choose an empty or new folder")


def _own_files(targets: Sequence[_Target]) -> list[Path]:
    """Files the run writes or replaces (never read as input)."""
    own: list[Path] = []
    for target in targets:
        if target.path.is_dir():
            own += [p for p in target.path.rglob("*") if p.is_file()]
        else:
            own.append(target.path)
    return own


# --------------------------------------------------------------------------- stage 1: read + split

def _read_split(batch: Any, *, unit: str, text_field: str, id_field: str, fail_fast: bool,
                chunk_items: int) -> Iterator[Any]:
    """Ray task: items of each input file of ``batch``, split into units, in blocks of
    ``chunk_items`` items (one scoring call each, so that one big file feeds every actor).

    One output row per item: ``file`` and ``item`` (its place in input order), ``kind``,
    ``units``, ``nbytes`` and ``payload`` (the pickled :class:`SplitDocument` or
    :class:`Rejected`). Without ``skip_bad`` a bad record raises its located error here.
    """
    import pyarrow as pa

    options = ReadOptions(text_field, id_field)
    for spec in batch.to_pylist():
        size = spec["size"]
        source = InputFile(Path(spec["path"]), spec["label"], spec["format"],
                           None if size is None or size < 0 else size)
        columns: dict[str, list] = {k: [] for k in ("file", "item", "kind", "units", "nbytes", "payload")}
        held = 0
        for index, item in enumerate(read_file(source, options)):
            if isinstance(item, Rejected):
                if fail_fast:
                    raise item.error()
                kind, units, payload = _REJECT, 0, pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
            else:
                split = split_document(item, unit)
                kind, units = _DOC, len(split.spans)
                payload = pickle.dumps(split, protocol=pickle.HIGHEST_PROTOCOL)
            for name, value in (("file", spec["file"]), ("item", index), ("kind", kind),
                                ("units", units), ("nbytes", item.nbytes), ("payload", payload)):
                columns[name].append(value)
            held += len(payload)
            if len(columns["item"]) >= chunk_items or held >= _READ_CHUNK_BYTES:
                yield _items_table(pa, columns)
                columns = {k: [] for k in columns}
                held = 0
        if columns["item"]:
            yield _items_table(pa, columns)


def _items_table(pa, columns: dict[str, list]):
    return pa.table({
        "file": pa.array(columns["file"], pa.int64()), "item": pa.array(columns["item"], pa.int64()),
        "kind": pa.array(columns["kind"], pa.int8()), "units": pa.array(columns["units"], pa.int64()),
        "nbytes": pa.array(columns["nbytes"], pa.int64()),
        "payload": pa.array(columns["payload"], pa.binary())})


# --------------------------------------------------------------------------- stage 2: score

class _Scorer:
    """Ray actor: loads the classifier once, then scores batches of documents.

    Output: one row per item with its unit rows, summary row and reject row already
    encoded as JSONL (:func:`~waspada.inference.writers.encode_row`, as the local engine's
    partial files), so every value reaches the files exactly as the local engine writes it.
    """

    def __init__(self, model_dir: str, backend: str | None, options: dict[str, Any],
                 with_summary: bool) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from .classifier import Classifier

        self.classifier = Classifier.load(model_dir, backend=backend, **options)
        self.labels = list(self.classifier.labels)
        self.with_summary = with_summary

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        items = [pickle.loads(payload) for payload in batch.column("payload").to_pylist()]
        scored = score_window(self.classifier, items)
        rows, summaries, rejects = [], [], []
        for item in scored:
            if isinstance(item, Rejected):
                rows.append(b"")
                summaries.append(b"")
                rejects.append(encode_row(rejected_row(item)))
                continue
            unit_rows, summary = document_rows(item, self.labels)
            rows.append(b"".join(encode_row(row) for row in unit_rows))
            summaries.append(encode_row(summary) if self.with_summary else b"")
            rejects.append(b"")
        return pa.table({
            "file": batch.column("file"), "item": batch.column("item"),
            "kind": batch.column("kind"), "units": batch.column("units"),
            "nbytes": batch.column("nbytes"),
            "rows": pa.array(rows, pa.binary()), "summary": pa.array(summaries, pa.binary()),
            "reject": pa.array(rejects, pa.binary())})


# --------------------------------------------------------------------------- stage 3: write

def _write_part(batch: Any, *, staging: dict[str, str], formats: dict[str, str]) -> Any:
    """Ray task: one part per target from a batch of whole documents, in input order.

    Returns one row describing the part: its first and last item, counts, and for a
    Parquet target the kinds of every column and where each first appears (the driver
    merges them into the archive-wide schema).
    """
    import pyarrow as pa

    table = batch
    files = table.column("file").to_numpy()
    items = table.column("item").to_numpy()
    order = np.lexsort((items, files))
    files, items = files[order], items[order]
    kinds = table.column("kind").to_numpy()[order]
    units = table.column("units").to_numpy()[order]
    nbytes = table.column("nbytes").to_numpy()[order]
    data = {}
    for name in ("rows", "summary", "reject"):
        values = table.column(name).to_pylist()
        data[name] = [values[i] for i in order]
    stem = f"{int(files[0]):09d}-{int(items[0]):012d}-{uuid.uuid4().hex[:8]}"
    report: dict[str, Any] = {
        "first": [int(files[0]), int(items[0])], "last": [int(files[-1]), int(items[-1])],
        "docs": int((kinds == _DOC).sum()), "rejected": int((kinds == _REJECT).sum()),
        "units": int(units[kinds == _DOC].sum()), "nbytes": int(nbytes.sum()), "parts": {}}
    for name, column in (("output", "rows"), ("summary", "summary"), ("rejects", "reject")):
        if name not in staging:
            continue
        chunks = data[column]
        if not any(chunks):
            continue
        path = Path(staging[name]) / f"{stem}.jsonl"
        with open(path, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        part: dict[str, Any] = {"path": str(path)}
        if formats.get(name) == "parquet":
            part["columns"] = _scan_kinds(chunks, files, items)
        report["parts"][name] = part
    return pa.table({"report": [json.dumps(report)]})


def _scan_kinds(chunks: list[bytes], files: np.ndarray, items: np.ndarray) -> dict[str, list]:
    """Column -> [kinds, first (file, item, row, position)] over JSONL chunks, as
    :func:`~waspada.inference.writers.scan_columns` would see them."""
    found: dict[str, list] = {}
    for chunk, file, item in zip(chunks, files, items):
        if not chunk:
            continue
        for row_index, line in enumerate(chunk.splitlines()):
            for position, (name, value) in enumerate(json.loads(line).items()):
                entry = found.get(name)
                if entry is None:
                    found[name] = [{_kind(value)}, [int(file), int(item), row_index, position]]
                else:
                    entry[0].add(_kind(value))
    return {name: [sorted(kinds), first] for name, (kinds, first) in found.items()}


def _typed_template(template: dict[str, Any], parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The archive-wide columns, in the local engine's order (template, then first
    appearance), each with an example value of its type: given to every part's
    :func:`~waspada.inference.writers.finalize`, it makes all parts share one schema,
    the one the local engine's single file has."""
    kinds: dict[str, set[str]] = {name: {_kind(value)} for name, value in template.items()}
    first: dict[str, tuple] = {}
    for part in parts:
        for name, (part_kinds, key) in part["columns"].items():
            kinds.setdefault(name, set()).update(part_kinds)
            if name not in template and (name not in first or tuple(key) < first[name]):
                first[name] = tuple(key)
    order = list(template) + sorted(first, key=first.__getitem__)
    return {name: _EXAMPLE[_column_type(kinds[name])] for name in order}


def _convert_part(partial: str, target: str, template: dict[str, Any]) -> str:
    """Ray task: a staged JSONL part -> a Parquet part with the archive-wide schema."""
    finalize(Path(partial), Path(target), template)
    return target


# --------------------------------------------------------------------------- Ray session

@contextmanager
def _ray_session(ray, address: str | None, runtime_env: dict[str, Any] | None) -> Iterator[bool]:
    """Ray, started (or joined) for the run and shut down after it if started here;
    yields whether this call started it."""
    started = False
    if not ray.is_initialized():
        # Workers' output stays in Ray's log files (errors still come back as exceptions);
        # Ray's own start-up notices are left out.
        kwargs: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.ERROR,
                                      log_to_driver=False)
        if runtime_env:
            kwargs["runtime_env"] = runtime_env
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=available_cpu_count(), **kwargs)
        started = True
    elif address or runtime_env:
        logger.warning("Ray is already running in this process; using it as it is (address and "
                       "runtime_env apply only when this call starts Ray)")
    try:
        yield started
    finally:
        if started:
            ray.shutdown()


@contextmanager
def _data_context(ray, progress: bool) -> Iterator[None]:
    """Ray Data settings for the run, restored afterwards."""
    with warnings.catch_warnings():
        # Ray's own notices, about nothing the caller can change: its data context sets
        # deprecated fields of its own when created or copied, and a small archive feeds
        # fewer blocks than there are actors.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray\.data\.context")
        warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
        ctx = ray.data.DataContext.get_current()
        saved = (ctx.execution_options.preserve_order, ctx.enable_progress_bars)
        saved_print = getattr(ctx, "print_on_execution_start", None)
        data_logger = logging.getLogger("ray.data")
        saved_level = data_logger.level
        ctx.execution_options.preserve_order = True  # parts in input order, see the module doc
        ctx.enable_progress_bars = progress
        if saved_print is not None:
            ctx.print_on_execution_start = progress
        if not progress:
            data_logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            ctx.execution_options.preserve_order, ctx.enable_progress_bars = saved
            if saved_print is not None:
                ctx.print_on_execution_start = saved_print
            data_logger.setLevel(saved_level)


def _waspada_error(exc: BaseException) -> WaspadaError | None:
    """The waspada error behind a Ray failure: a bad record's located error, or a
    :class:`WaspadaError` raised in a task (Ray wraps both)."""
    from ray.exceptions import RayError

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        rejected = getattr(current, "rejected", None)
        if isinstance(rejected, Rejected):
            return rejected.error()
        if isinstance(current, WaspadaError) and not isinstance(current, RayError):
            return current
        todo += [getattr(current, "cause", None), current.__cause__, current.__context__]
    return None


def _resources(ray, started_here: bool, workers: int | None, threads: int | None,
               gpus_per_worker: float) -> tuple[int, int]:
    """``(workers, threads)`` with their defaults; checks that a local Ray can hold them."""
    resources = ray.cluster_resources()
    cpus = int(resources.get("CPU", 0))
    gpus = float(resources.get("GPU", 0))
    if gpus_per_worker:
        if workers is None:
            workers = max(1, int(gpus // gpus_per_worker))
        if threads is None:
            threads = default_threads(workers) if started_here else 1
        need = {"GPU": workers * gpus_per_worker, "CPU": workers}
    else:
        if workers is None:
            workers = max(1, cpus // (threads or DEFAULT_THREADS_PER_WORKER))
        if threads is None:
            threads = default_threads(workers) if started_here else max(1, cpus // workers)
        need = {"CPU": workers * threads}
    have = {"CPU": cpus, "GPU": gpus}
    short = [f"{need[k]:g} {k}s (has {have[k]:g})" for k in need if need[k] > have[k]]
    if short:
        message = (f"{workers} worker(s) x {threads} thread(s)"
                   + (f" x {gpus_per_worker:g} GPU(s)" if gpus_per_worker else "")
                   + f" need {', '.join(short)}")
        if started_here:
            raise WaspadaError(f"{message} on this machine; lower --workers or --threads")
        logger.warning("%s in the Ray cluster now; actors wait until it grows", message)
    return workers, threads


# --------------------------------------------------------------------------- the engine

def classify_archive_ray(model_dir: str | Path | None, inputs: Sequence[str | Path],
                         output: str | Path, *, backend: str | None = "torch",
                         unit: str = "sentence", text_field: str = "text", id_field: str = "id",
                         skip_bad: str | Path | None = None, summary: str | Path | None = None,
                         address: str | None = None, workers: int | None = None,
                         gpus_per_worker: float = 0, batch_size: int = 64,
                         threads: int | None = None, runtime_env: dict[str, Any] | None = None,
                         docs_per_batch: int = DEFAULT_DOCS_PER_BATCH,
                         docs_per_part: int = DEFAULT_DOCS_PER_PART,
                         progress: bool = False) -> ArchiveStats:
    """Label every unit of every document in ``inputs`` on Ray and write ``output``.

    ``model_dir``: a model folder (``None``: the default model), readable at the same
    path on every node. ``inputs``: files (``.jsonl .csv .parquet .txt``) and folders, as
    for the local engine (stdin is not supported). ``output``/``summary``: folders of
    Parquet or JSONL part files (see the module doc); ``skip_bad``: a JSONL file or a
    folder for bad records (without it, the first bad record raises its
    :class:`~waspada.inference.errors.InputError`).

    ``address``: an existing cluster (``"auto"``, ``"ray://host:10001"``); without it a
    local Ray using this machine's cores is started and shut down at the end (a Ray
    already running in this process is used and left running). ``runtime_env`` is passed
    to ``ray.init`` when this function starts or joins Ray.

    ``workers``: scoring actors (default: GPUs / ``gpus_per_worker``, or CPUs / ``threads``,
    or CPUs / 2); ``threads``: torch threads per actor (default
    :func:`~waspada.inference.backends.default_threads` of ``workers`` on a local Ray);
    ``gpus_per_worker``: GPUs per actor (the model then runs on CUDA); ``batch_size``: units
    per model batch; ``docs_per_batch``: documents per actor call; ``docs_per_part``:
    documents per part file. ``progress``: Ray Data's progress bars and logs.

    Returns :class:`~waspada.inference.archive.ArchiveStats` (``read == classified +
    rejected``); ``seconds`` excludes starting or joining Ray.
    """
    ray = require_ray()
    require_pyarrow("the Ray engine")
    if unit not in UNITS:
        raise WaspadaError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")
    for name, value in (("batch_size", batch_size), ("docs_per_batch", docs_per_batch),
                        ("docs_per_part", docs_per_part)):
        if value < 1:
            raise WaspadaError(f"{name} must be >= 1, got {value}")
    if workers is not None and workers < 1:
        raise WaspadaError(f"workers must be >= 1, got {workers}")
    if threads is not None and threads < 1:
        raise WaspadaError(f"threads must be >= 1, got {threads}")
    if gpus_per_worker < 0:
        raise WaspadaError(f"gpus_per_worker must be >= 0, got {gpus_per_worker}")

    from .home import default_model_dir
    from .metadata import ModelMetadata

    model_path = (Path(model_dir) if model_dir is not None else default_model_dir()).resolve()
    if not model_path.is_dir():
        raise WaspadaError(f"model folder {model_path} does not exist")
    metadata = ModelMetadata.load(model_path)
    labels = list(metadata.labels)
    # What Classifier.load checks, checked here: in an actor it would surface as a dead actor.
    backend_name = backend or ("tfidf" if metadata.kind == "tfidf" else "torch")
    if backend_name not in BACKENDS:
        raise WaspadaError(f"unknown backend {backend_name!r}; choose one of {sorted(BACKENDS)}")
    if (metadata.kind == "tfidf") != (backend_name == "tfidf"):
        raise WaspadaError(f"{model_path} holds a {metadata.kind} model; backend {backend_name!r} "
                           f"cannot run it")

    output = Path(output)
    targets = [_Target("output", output, _folder_format(output, "the output"))]
    if summary is not None:
        targets.append(_Target("summary", Path(summary), _folder_format(Path(summary), "the summary")))
    if skip_bad is not None:
        targets.append(_rejects_target(Path(skip_bad)))
    resolved = [str(t.path.resolve()) for t in targets]
    if len(set(resolved)) != len(resolved):
        raise WaspadaError("--output, --summary and --skip-bad must be different paths")
    for target in targets:
        _check_target(target)
    if any(str(given) == "-" for given in inputs):
        raise WaspadaError("the Ray engine cannot read stdin ('-'); write it to a file first, or use "
                           "the local engine")
    sources = list_inputs(inputs, exclude=_own_files(targets))
    specs = [{"file": n, "path": str(Path(s.path).resolve()), "label": s.label, "format": s.format,
              "size": -1 if s.size is None else s.size} for n, s in enumerate(sources)]

    options: dict[str, Any] = {"batch_size": batch_size}
    if backend_name == "torch":
        options["device"] = "cuda" if gpus_per_worker else "cpu"

    with _ray_session(ray, address, runtime_env) as started_here:
        n_workers, n_threads = _resources(ray, started_here, workers, threads, gpus_per_worker)
        options["threads"] = n_threads
        began = time.perf_counter()
        for target in targets:
            # Absolute: Ray workers do not share the driver's working directory.
            target.staging = (target.path.parent / f".{target.path.name}.ray-{uuid.uuid4().hex[:12]}"
                              ).absolute()
            target.staging.mkdir(parents=True)
        try:
            with _data_context(ray, progress):
                reports = _run(ray, specs, targets, labels, str(model_path), backend_name, options,
                               unit=unit, text_field=text_field, id_field=id_field,
                               fail_fast=skip_bad is None, workers=n_workers,
                               gpus_per_worker=gpus_per_worker, threads=n_threads,
                               docs_per_batch=docs_per_batch, docs_per_part=docs_per_part)
            stats = _publish(ray, targets, labels, reports)
        finally:
            for target in targets:
                shutil.rmtree(target.staged(), ignore_errors=True)
        stats.seconds = time.perf_counter() - began
    if stats.read != stats.classified + stats.rejected:  # pragma: no cover - an internal bug
        raise RuntimeError(f"read {stats.read} != classified {stats.classified} + rejected "
                           f"{stats.rejected}")
    return stats


def _run(ray, specs: list[dict[str, Any]], targets: Sequence[_Target], labels: Sequence[str],
         model_dir: str, backend: str | None, options: dict[str, Any], *, unit: str,
         text_field: str, id_field: str, fail_fast: bool, workers: int, gpus_per_worker: float,
         threads: int, docs_per_batch: int, docs_per_part: int) -> list[dict[str, Any]]:
    """Build and execute the pipeline; returns the write reports (one per part)."""
    from ray.data import ActorPoolStrategy, TaskPoolStrategy

    if not specs:
        return []
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    readers = max(1, min(len(specs), cpus))
    ds = ray.data.from_items(specs, override_num_blocks=min(len(specs), _MAX_READ_BLOCKS))
    ds = ds.map_batches(_read_split, batch_size=1, batch_format="pyarrow",
                        fn_kwargs=dict(unit=unit, text_field=text_field, id_field=id_field,
                                       fail_fast=fail_fast, chunk_items=docs_per_batch),
                        compute=TaskPoolStrategy(size=readers), num_cpus=0)
    ds = ds.map_batches(_Scorer, batch_size=docs_per_batch, batch_format="pyarrow",
                        fn_constructor_kwargs=dict(model_dir=model_dir, backend=backend,
                                                   options=options,
                                                   with_summary=any(t.name == "summary" for t in targets)),
                        compute=ActorPoolStrategy(size=workers),
                        num_cpus=1 if gpus_per_worker else threads, num_gpus=gpus_per_worker)
    ds = ds.map_batches(_write_part, batch_size=docs_per_part, batch_format="pyarrow",
                        fn_kwargs=dict(staging={t.name: str(t.staged()) for t in targets},
                                       formats={t.name: t.fmt for t in targets}),
                        compute=TaskPoolStrategy(size=readers), num_cpus=0)
    try:
        rows = ds.take_all()
    except Exception as exc:  # noqa: BLE001 - a bad record comes back wrapped by Ray
        error = _waspada_error(exc)
        if error is not None:
            raise error from None
        raise
    return [json.loads(row["report"]) for row in rows]


def _publish(ray, targets: Sequence[_Target], labels: Sequence[str],
             reports: list[dict[str, Any]]) -> ArchiveStats:
    """Name the staged parts in input order, give Parquet parts one schema, move them in place."""
    reports = sorted(reports, key=lambda r: tuple(r["first"]))
    for before, after in zip(reports, reports[1:]):
        if tuple(before["last"]) >= tuple(after["first"]):  # pragma: no cover - Ray broke its order
            logger.warning("Ray Data did not keep the input order; reading the parts in name order "
                           "will not give the rows in input order")
            break
    stats = ArchiveStats(output=targets[0].path)
    for report in reports:
        stats.classified += report["docs"]
        stats.rejected += report["rejected"]
        stats.units += report["units"]
        stats.bytes_done += report["nbytes"]
    stats.read = stats.classified + stats.rejected
    stats.units_this_run = stats.units
    templates = {"output": unit_template(labels), "summary": summary_template(labels),
                 "rejects": dict(REJECT_TEMPLATE)}
    for target in targets:
        if target.name == "summary":
            stats.summary = target.path
        if target.name == "rejects":
            stats.rejects = target.path
        parts = [r["parts"][target.name] for r in reports if target.name in r["parts"]]
        staged = target.staged()
        if target.single_file:
            tmp = staged / "all.jsonl"
            with open(tmp, "wb") as out:
                for part in parts:
                    with open(part["path"], "rb") as handle:
                        shutil.copyfileobj(handle, out)
            os.replace(tmp, target.path)
            continue
        if not parts:  # an empty part still carries the columns
            empty = staged / "empty.jsonl"
            empty.touch()
            parts = [{"path": str(empty), "columns": {}}]
        width = max(5, len(str(len(parts) - 1)))
        final = staged / "final"
        final.mkdir()
        names = [final / f"part-{i:0{width}d}.{target.fmt}" for i in range(len(parts))]
        if target.fmt == "parquet":
            template = _typed_template(templates[target.name], parts)
            convert = ray.remote(num_cpus=1)(_convert_part)
            ray.get([convert.remote(part["path"], str(name), template)
                     for part, name in zip(parts, names)])
        else:
            for part, name in zip(parts, names):
                os.replace(part["path"], name)
        target.path.mkdir(parents=True, exist_ok=True)
        for old in target.path.iterdir():
            if _PART_RE.match(old.name):
                old.unlink()
        for name in names:
            os.replace(name, target.path / name.name)
    return stats


__all__ = ["classify_archive_ray", "require_ray", "INSTALL_HINT", "DEFAULT_DOCS_PER_BATCH",
           "DEFAULT_DOCS_PER_PART"]
