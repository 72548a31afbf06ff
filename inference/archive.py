"""Classify an archive: read -> split -> score -> write, streaming, resumable.

The stages are separate functions so that other engines (a Ray engine, a script) can
reuse them and produce the same rows:

* **read**  - :func:`waspada.inference.readers.read_inputs`: documents and rejections, in order;
* **split** - :func:`split_document`: a document's units (sentences...) with exact offsets;
* **window**- :func:`make_windows`: consecutive items grouped until they hold ``window`` units;
* **score** - :func:`score_window`: one ``predict_proba`` call per window (the back end sorts
  the window's units by length and pads each batch only to its longest member);
* **rows**  - :func:`document_rows` / :func:`waspada.inference.writers.reject_row`;
* **write** - :class:`ArchiveOutput`: append rows of whole documents to partial files and
  commit them with a checkpoint; :meth:`ArchiveOutput.finalize` writes the target files.

:func:`classify_archive` runs them with reading+splitting and writing in background
threads joined by bounded queues, so the model never waits for I/O and memory stays flat
(at most a few windows are in flight, whatever the archive size).

Resume
------
Beside the output ``OUT`` the run keeps ``OUT.partial`` (unit rows, JSONL; likewise
``SUMMARY.partial`` and ``REJECTS.partial``) and ``OUT.checkpoint.json``. Rows are
appended a whole window of documents at a time; after each window the partial files
are flushed and fsynced, then the checkpoint is atomically replaced with the number of
input items (documents + rejected records) done, the committed size of each partial
file and the running counts. The checkpoint is the only commit point: on ``resume``
each partial file is truncated to its committed size (dropping a half-written window)
and reading restarts after the committed items. Windows always start at a commit, so a
resumed run forms the same windows, and writes the same bytes, as an uninterrupted one.
The checkpoint also records the run's settings (inputs, unit, fields, window, model,
back end, output files); resuming with different ones is refused. When everything is
written the checkpoint is marked ``finalizing``, the targets are written (rename for
JSONL, streamed conversion for CSV/Parquet) and the checkpoint removed; a run stopped
while finalizing finishes the job on resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence

import numpy as np

from .classifier import DEFAULT_WINDOW, Classifier
from .errors import WaspadaError
from .readers import (Document, InputFile, Item, ReadOptions, Rejected, list_inputs, read_inputs,
                      require_pyarrow, total_size)
from .segmenter import UNITS, Span, split_units
from .writers import (REJECT_TEMPLATE, PartialJsonl, finalize, output_format, reject_row,
                      summary_row, summary_template, unit_rows, unit_template)

CHECKPOINT_VERSION = 1
DEFAULT_QUEUE_SIZE = 2


# --------------------------------------------------------------------------- stages

@dataclass
class SplitDocument:
    """A document and its units."""

    document: Document
    spans: list[Span]


@dataclass
class ScoredDocument:
    """A document, its units and their scores."""

    document: Document
    spans: list[Span]
    scores: np.ndarray
    """``(len(spans), n_labels)`` sigmoid scores."""
    decisions: np.ndarray
    """``(len(spans), n_labels)`` booleans: score >= the label's threshold."""


def split_document(document: Document, unit: str = "sentence") -> SplitDocument:
    """Split one document into units (``text[start:end]`` of each span is its text)."""
    return SplitDocument(document, split_units(document.text, unit))


def make_windows(items: Iterable[Item], unit: str = "sentence", window: int = DEFAULT_WINDOW,
                 ) -> Iterator[list[SplitDocument | Rejected]]:
    """Split documents and group consecutive items until a group holds ``window`` units
    (or ``window`` items); rejections pass through in their place.

    Grouping depends only on the items, so the same items always form the same windows.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    group: list[SplitDocument | Rejected] = []
    units = 0
    for item in items:
        if isinstance(item, Rejected):
            group.append(item)
        else:
            split = split_document(item, unit)
            group.append(split)
            units += len(split.spans)
        if units >= window or len(group) >= window:
            yield group
            group, units = [], 0
    if group:
        yield group


def score_window(classifier: Classifier, window: Sequence[SplitDocument | Rejected],
                 ) -> list[ScoredDocument | Rejected]:
    """Score every unit of a window in one call; rejections pass through."""
    texts = [span.text for item in window if isinstance(item, SplitDocument) for span in item.spans]
    scores = classifier.predict_proba(texts)
    decisions = classifier.decide(scores)
    out: list[ScoredDocument | Rejected] = []
    row = 0
    for item in window:
        if isinstance(item, Rejected):
            out.append(item)
            continue
        n = len(item.spans)
        out.append(ScoredDocument(item.document, item.spans, scores[row:row + n],
                                  decisions[row:row + n]))
        row += n
    return out


def document_rows(scored: ScoredDocument, labels: Sequence[str],
                  ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Unit rows and the summary row of one scored document."""
    doc = scored.document
    return (unit_rows(doc.doc_id, scored.spans, scored.scores, scored.decisions, labels, doc.fields),
            summary_row(doc.doc_id, scored.decisions, labels, doc.fields))


def rejected_row(item: Rejected) -> dict[str, Any]:
    return reject_row(item.source, item.line, item.reason, item.field, item.record)


# --------------------------------------------------------------------------- output

@dataclass
class ArchiveStats:
    """Counts of a run (cumulative over an interrupted run and its resume)."""

    read: int = 0
    """Input items (documents + rejected records) read; always ``classified + rejected``."""
    classified: int = 0
    rejected: int = 0
    units: int = 0
    """Rows written (sentences, paragraphs or documents, by unit)."""
    bytes_done: int = 0
    resumed_from: int = 0
    """Items already done by an interrupted run when this one started."""
    seconds: float = 0.0
    """Wall time of this run (not of the interrupted one)."""
    output: Path | None = None
    summary: Path | None = None
    rejects: Path | None = None

    units_this_run: int = 0
    """Rows written by this run (``units`` minus what the interrupted run had written)."""

    @property
    def units_per_second(self) -> float:
        """Throughput of this run, rows per second of wall time."""
        return 0.0 if self.seconds <= 0 else self.units_this_run / self.seconds


def partial_path(target: Path) -> Path:
    return target.with_name(target.name + ".partial")


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".checkpoint.json")


def _write_durable(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class ArchiveOutput:
    """The partial files and checkpoint of one run; writes whole windows and commits them.

    A :class:`Rejected` item is written to the rejects file when ``rejects`` is given;
    without one, the run stops with its located error after committing every item
    before it.
    """

    def __init__(self, output: str | Path, labels: Sequence[str], settings: dict[str, Any], *,
                 summary: str | Path | None = None, rejects: str | Path | None = None) -> None:
        self.output = Path(output)
        self.summary = Path(summary) if summary is not None else None
        self.rejects = Path(rejects) if rejects is not None else None
        self.labels = list(labels)
        self.settings = settings
        self.checkpoint = checkpoint_path(self.output)
        self.stats = ArchiveStats(output=self.output, summary=self.summary, rejects=self.rejects)
        self.finalizing = False
        self._files: dict[str, PartialJsonl] = {}

    # -- targets ----------------------------------------------------------------------

    def targets(self) -> dict[str, tuple[Path, dict[str, Any]]]:
        """name -> (target path, typed template row) of every file this run writes."""
        found = {"output": (self.output, unit_template(self.labels))}
        if self.summary is not None:
            found["summary"] = (self.summary, summary_template(self.labels))
        if self.rejects is not None:
            found["rejects"] = (self.rejects, dict(REJECT_TEMPLATE))
        return found

    def own_paths(self) -> list[Path]:
        """Every file the run writes (never to be read as input)."""
        paths = [self.checkpoint]
        for target, _ in self.targets().values():
            paths += [target, partial_path(target)]
        return paths

    # -- start ------------------------------------------------------------------------

    def open(self, resume: bool) -> None:
        """Start afresh, or continue from the checkpoint when ``resume``."""
        state = self._load_checkpoint()
        if state is not None and not resume:
            raise WaspadaError(
                f"{self.checkpoint}: an interrupted run left its work here; pass --resume "
                f"(resume=True) to continue it, or delete {self.checkpoint.name} and the "
                f"*.partial files beside the outputs to start again")
        if state is None:
            for name, (target, _) in self.targets().items():
                self._files[name] = PartialJsonl(partial_path(target))
            return
        differences = sorted(key for key in set(state["settings"]) | set(self.settings)
                             if state["settings"].get(key) != self.settings.get(key))
        if differences:
            raise WaspadaError(
                f"{self.checkpoint}: cannot resume, the interrupted run had other settings "
                f"({', '.join(differences)}); run it with the same ones, or delete the "
                f"checkpoint and the *.partial files to start again")
        counts = state["counts"]
        self.stats.read = self.stats.resumed_from = counts["read"]
        self.stats.classified = counts["classified"]
        self.stats.rejected = counts["rejected"]
        self.stats.units = counts["units"]
        self.stats.bytes_done = counts["bytes_done"]
        if state["state"] == "finalizing":
            self.finalizing = True
            return
        for name, (target, _) in self.targets().items():
            self._files[name] = PartialJsonl(partial_path(target), committed=state["offsets"][name])

    def _load_checkpoint(self) -> dict[str, Any] | None:
        if not self.checkpoint.is_file():
            return None
        try:
            state = json.loads(self.checkpoint.read_text(encoding="utf-8"))
            if state.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"version {state.get('version')!r}")
            return state
        except (ValueError, OSError) as exc:
            raise WaspadaError(f"{self.checkpoint}: unreadable checkpoint ({exc}); delete it and "
                               f"the *.partial files to start again") from exc

    # -- writing ----------------------------------------------------------------------

    def write_window(self, window: Sequence[ScoredDocument | Rejected]) -> None:
        """Append a window's rows and commit; a rejection without a rejects file stops here."""
        for item in window:
            if isinstance(item, Rejected):
                if "rejects" not in self._files:
                    self.commit()
                    raise item.error()
                self._files["rejects"].write([rejected_row(item)])
                self.stats.rejected += 1
                n_units = 0
            else:
                doc = item.document
                rows = unit_rows(doc.doc_id, item.spans, item.scores, item.decisions, self.labels,
                                 doc.fields)
                self._files["output"].write(rows)
                if "summary" in self._files:
                    self._files["summary"].write(
                        [summary_row(doc.doc_id, item.decisions, self.labels, doc.fields)])
                self.stats.classified += 1
                n_units = len(rows)
            self.stats.units += n_units
            self.stats.units_this_run += n_units
            self.stats.read += 1
            self.stats.bytes_done += item.document.nbytes if isinstance(item, ScoredDocument) \
                else item.nbytes
        self.commit()

    def commit(self, state: str = "running") -> None:
        offsets = {name: handle.commit() for name, handle in self._files.items()}
        s = self.stats
        payload = {"version": CHECKPOINT_VERSION, "state": state, "settings": self.settings,
                   "offsets": offsets,
                   "counts": {"read": s.read, "classified": s.classified, "rejected": s.rejected,
                              "units": s.units, "bytes_done": s.bytes_done}}
        _write_durable(self.checkpoint, json.dumps(payload, ensure_ascii=False, indent=1) + "\n")

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files = {}

    def finalize(self) -> None:
        """Write the target files from the complete partial files and drop the checkpoint."""
        if not self.finalizing:
            self.commit(state="finalizing")
            self.close()
            self.finalizing = True
        for target, template in self.targets().values():
            partial = partial_path(target)
            if partial.exists():
                finalize(partial, target, template)
            elif not target.exists():
                raise WaspadaError(f"{partial}: missing; cannot finish the interrupted run")
        self.checkpoint.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the pipeline

class _End:
    pass


_END = _End()


@dataclass
class _Failure:
    error: BaseException


def run_settings(classifier: Classifier, sources: Sequence[InputFile], *, unit: str,
                 text_field: str, id_field: str, window: int, output: Path,
                 summary: Path | None, rejects: Path | None) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one."""
    labels = [source.label for source in sources]
    digest = hashlib.sha256("\n".join(labels).encode("utf-8", "surrogatepass")).hexdigest()
    return {
        "inputs": f"{len(labels)} inputs, sha256 {digest[:16]}",
        "unit": unit, "text_field": text_field, "id_field": id_field, "window": window,
        "model": str(Path(classifier.model_dir).resolve()),
        "backend": getattr(classifier.backend, "name", type(classifier.backend).__name__),
        "labels": list(classifier.labels),
        "thresholds": [round(float(t), 6) for t in classifier.thresholds],
        "output": str(output.resolve()),
        "summary": str(summary.resolve()) if summary else None,
        "rejects": str(rejects.resolve()) if rejects else None,
    }


def classify_archive(classifier: Classifier, inputs: Sequence[str | Path], output: str | Path, *,
                     summary: str | Path | None = None, rejects: str | Path | None = None,
                     unit: str = "sentence", text_field: str = "text", id_field: str = "id",
                     window: int = DEFAULT_WINDOW, resume: bool = False,
                     progress: bool | None = None, stdin: BinaryIO | None = None,
                     on_commit: Callable[[ArchiveStats], None] | None = None,
                     queue_size: int = DEFAULT_QUEUE_SIZE) -> ArchiveStats:
    """Label every unit of every document in ``inputs`` and write ``output``.

    ``inputs``: files (``.jsonl .csv .parquet .txt``), folders of them, ``"-"`` for
    JSONL on stdin (``stdin`` replaces ``sys.stdin.buffer``). ``output``, ``summary``
    and ``rejects``: ``.jsonl``, ``.csv`` or ``.parquet``. With ``rejects``, bad records
    are written there and the run goes on; without it the first bad record raises its
    :class:`~waspada.inference.errors.InputError` (``FILE:LINE: ...``) after every
    record before it was committed, so a ``resume`` continues from it once fixed.
    ``window``: units scored per ``predict_proba`` call (results do not depend on it
    beyond float rounding). ``progress``: a tqdm bar on stderr (``None``: only on a
    terminal). ``on_commit`` is called with the running :class:`ArchiveStats` after
    each committed window (progress hooks; tests raise from it to simulate a crash).
    """
    if unit not in UNITS:
        raise WaspadaError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")
    if window < 1:
        raise WaspadaError(f"window must be >= 1, got {window}")
    output = Path(output)
    summary = Path(summary) if summary is not None else None
    rejects = Path(rejects) if rejects is not None else None
    targets = [p for p in (output, summary, rejects) if p is not None]
    formats = [output_format(p) for p in targets]
    if len({str(p.resolve()) for p in targets}) != len(targets):
        raise WaspadaError("--output, --summary and --skip-bad must be different files")
    if "parquet" in formats:
        require_pyarrow("writing Parquet")

    sink = ArchiveOutput(output, classifier.labels, {}, summary=summary, rejects=rejects)
    sources = list_inputs(inputs, exclude=sink.own_paths())
    if any(source.format == "parquet" for source in sources):
        require_pyarrow("reading Parquet")
    sink.settings = run_settings(classifier, sources, unit=unit, text_field=text_field,
                                 id_field=id_field, window=window, output=output,
                                 summary=summary, rejects=rejects)
    started = time.perf_counter()
    sink.open(resume)
    try:
        if not sink.finalizing:
            _run_pipeline(classifier, sink, sources, ReadOptions(text_field, id_field), unit=unit,
                          window=window, progress=progress, stdin=stdin, on_commit=on_commit,
                          queue_size=queue_size)
        sink.finalize()
    finally:
        sink.close()
    stats = sink.stats
    stats.seconds = time.perf_counter() - started
    if stats.read != stats.classified + stats.rejected:  # pragma: no cover - an internal bug
        raise RuntimeError(f"read {stats.read} != classified {stats.classified} + rejected "
                           f"{stats.rejected}")
    return stats


def _run_pipeline(classifier: Classifier, sink: ArchiveOutput, sources: Sequence[InputFile],
                  options: ReadOptions, *, unit: str, window: int, progress: bool | None,
                  stdin: BinaryIO | None, on_commit: Callable[[ArchiveStats], None] | None,
                  queue_size: int) -> None:
    """Reader thread -> (main thread: model) -> writer thread, with bounded queues."""
    from tqdm.auto import tqdm

    skip = sink.stats.read
    reader_count = [skip]
    stop = threading.Event()
    to_model: queue.Queue = queue.Queue(maxsize=queue_size)
    to_writer: queue.Queue = queue.Queue(maxsize=queue_size)
    writer_error: list[BaseException] = []

    total = total_size(sources)
    bar = tqdm(total=total, initial=sink.stats.bytes_done if total is not None else skip,
               unit="B" if total is not None else "doc", unit_scale=total is not None,
               unit_divisor=1024, desc="classify", disable=(None if progress is None else not progress),
               dynamic_ncols=True, smoothing=0.1)
    started = time.perf_counter()
    units_at_start = sink.stats.units

    def put(q: queue.Queue, item: Any, alive: Callable[[], bool]) -> bool:
        while alive():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            def counted() -> Iterator[Item]:
                for item in read_inputs(sources, options, skip=skip, stdin=stdin):
                    reader_count[0] += 1
                    yield item

            for group in make_windows(counted(), unit, window):
                if not put(to_model, group, lambda: not stop.is_set()):
                    return
            put(to_model, _END, lambda: not stop.is_set())
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            put(to_model, _Failure(exc), lambda: not stop.is_set())

    def write() -> None:
        try:
            while True:
                scored = to_writer.get()
                if scored is _END:
                    return
                before = sink.stats.bytes_done if total is not None else sink.stats.read
                sink.write_window(scored)
                s = sink.stats
                elapsed = max(time.perf_counter() - started, 1e-9)
                bar.update((s.bytes_done if total is not None else s.read) - before)
                bar.set_postfix_str(f"{s.read:,} docs, {(s.units - units_at_start) / elapsed:,.1f} "
                                    f"{unit}s/s", refresh=False)
                if on_commit is not None:
                    on_commit(s)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            writer_error.append(exc)
            stop.set()

    reader = threading.Thread(target=read, name="waspada-read", daemon=True)
    writer = threading.Thread(target=write, name="waspada-write", daemon=True)
    reader.start()
    writer.start()
    try:
        while True:
            try:
                group = to_model.get(timeout=0.1)
            except queue.Empty:
                if writer_error:
                    break
                continue
            if group is _END:
                break
            if isinstance(group, _Failure):
                raise group.error
            if writer_error:
                break
            scored = score_window(classifier, group)
            if not put(to_writer, scored, writer.is_alive):
                break
    finally:
        stop.set()
        put(to_writer, _END, writer.is_alive)  # the writer finishes what is queued, then stops
        writer.join()
        bar.close()
    if writer_error:
        raise writer_error[0]
    if reader_count[0] != sink.stats.read:  # pragma: no cover - an internal bug
        raise RuntimeError(f"read {reader_count[0]} items but wrote {sink.stats.read}")


__all__ = ["SplitDocument", "ScoredDocument", "ArchiveStats", "ArchiveOutput", "split_document",
           "make_windows", "score_window", "document_rows", "rejected_row", "classify_archive",
           "run_settings", "partial_path", "checkpoint_path"]
