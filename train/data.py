"""Labeled sentences: reading, validation with located errors, statistics.

Records are JSONL (one object per line) or CSV with a header. Fields: ``text``,
``labels`` (a list of label names; in CSV a JSON list or names separated by ``;``),
optional ``id`` and ``doc_id``; any other key is kept. Every problem is reported with
file, line and field, all of them at once (up to a limit), so a corpus is fixed in one
pass instead of one error per run.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from waspada.inference.errors import InputError

MAX_REPORTED_ERRORS = 50


@dataclass
class Record:
    """One labeled sentence and where it came from."""

    text: str
    labels: list[str]
    id: str
    doc_id: str
    path: str
    line: int
    extra: dict[str, Any] = field(default_factory=dict)


class DataValidationError(InputError):
    """One or more bad records; ``problems`` lists every one found."""

    def __init__(self, problems: list[InputError]):
        self.problems = problems
        shown = "\n".join(f"  {problem}" for problem in problems[:MAX_REPORTED_ERRORS])
        more = len(problems) - MAX_REPORTED_ERRORS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{len(problems)} problem(s) in the data:\n{shown}{tail}")


def _raw_rows(path: Path) -> Iterable[tuple[int, dict[str, Any] | InputError]]:
    """(line number, parsed row or the error that row raised)."""
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json", ".ndjson"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, InputError(f"invalid JSON: {exc.msg} (column {exc.colno})",
                                             path=path, line=number)
                    continue
                if not isinstance(row, dict):
                    yield number, InputError(f"expected a JSON object, got {type(row).__name__}",
                                             path=path, line=number)
                    continue
                yield number, row
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                # The header is line 1; DictReader.line_num is the last physical line read.
                yield reader.line_num, dict(row)
    else:
        raise InputError(f"unsupported file type {suffix!r}; use .jsonl or .csv", path=path)


def _csv_labels(value: str) -> Any:
    value = value.strip()
    if value.startswith("["):
        return json.loads(value)
    return [part.strip() for part in value.split(";") if part.strip()]


def read_records(paths: Sequence[str | Path], labels: Sequence[str], *, text_field: str = "text",
                 labels_field: str = "labels", split_names: Sequence[str] | None = None,
                 ) -> list[list[Record]]:
    """Read and validate several files together (e.g. train, dev, test).

    Checks each record (invalid JSON, missing/empty text, labels not a list, unknown
    label) and the files together (duplicate ids anywhere, a ``doc_id`` in two files).
    Raises :class:`DataValidationError` listing every problem; returns one list of
    records per file otherwise.
    """
    known = set(labels)
    problems: list[InputError] = []
    per_file: list[list[Record]] = []
    seen_ids: dict[str, tuple[str, int]] = {}
    doc_home: dict[str, str] = {}
    for file_number, raw_path in enumerate(paths):
        path = Path(raw_path)
        if not path.is_file():
            problems.append(InputError("file not found", path=path))
            per_file.append([])
            continue
        split = split_names[file_number] if split_names else str(path)
        records: list[Record] = []
        for line, row in _raw_rows(path):
            if isinstance(row, InputError):
                problems.append(row)
                continue
            before = len(problems)
            text = row.get(text_field)
            if text is None:
                problems.append(InputError("missing", path=path, line=line, field=text_field))
            elif not isinstance(text, str):
                problems.append(InputError(f"must be a string, got {type(text).__name__}",
                                           path=path, line=line, field=text_field))
            elif not text.strip():
                problems.append(InputError("empty text", path=path, line=line, field=text_field))
            raw_labels = row.get(labels_field)
            if raw_labels is None:
                problems.append(InputError("missing (use [] for no label)", path=path, line=line,
                                           field=labels_field))
            else:
                if path.suffix.lower() == ".csv" and isinstance(raw_labels, str):
                    try:
                        raw_labels = _csv_labels(raw_labels)
                    except json.JSONDecodeError as exc:
                        problems.append(InputError(f"invalid JSON list: {exc.msg}", path=path,
                                                   line=line, field=labels_field))
                        continue
                if not isinstance(raw_labels, list):
                    problems.append(InputError(
                        f"must be a list of label names, got {type(raw_labels).__name__} "
                        f"{raw_labels!r}", path=path, line=line, field=labels_field))
                else:
                    for name in raw_labels:
                        if name not in known:
                            problems.append(InputError(
                                f"unknown label {name!r}; known labels: {', '.join(labels)}",
                                path=path, line=line, field=labels_field))
                    if len(set(map(str, raw_labels))) != len(raw_labels):
                        problems.append(InputError(f"repeated label in {raw_labels}", path=path,
                                                   line=line, field=labels_field))
            record_id = str(row.get("id") or f"{path.name}:{line}")
            if record_id in seen_ids:
                first_path, first_line = seen_ids[record_id]
                problems.append(InputError(
                    f"duplicate id {record_id!r} (first at {first_path}:{first_line})",
                    path=path, line=line, field="id"))
            else:
                seen_ids[record_id] = (str(path), line)
            doc_id = str(row.get("doc_id") or record_id)
            if "doc_id" in row:
                home = doc_home.setdefault(doc_id, split)
                if home != split:
                    problems.append(InputError(
                        f"doc_id {doc_id!r} is in two splits ({home} and {split}); split by "
                        f"document so no document leaks into evaluation",
                        path=path, line=line, field="doc_id"))
            if len(problems) > before:
                continue
            extra = {k: v for k, v in row.items()
                     if k not in {text_field, labels_field, "id", "doc_id"}}
            records.append(Record(text=text, labels=list(raw_labels), id=record_id,
                                  doc_id=doc_id, path=str(path), line=line, extra=extra))
        per_file.append(records)
    if problems:
        raise DataValidationError(problems)
    return per_file


def label_matrix(records: Sequence[Record], labels: Sequence[str]) -> np.ndarray:
    """Binary matrix (records x labels)."""
    index = {name: i for i, name in enumerate(labels)}
    matrix = np.zeros((len(records), len(labels)), dtype=np.float32)
    for row, record in enumerate(records):
        for name in record.labels:
            matrix[row, index[name]] = 1.0
    return matrix


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class DataStats:
    """Summary of a set of records, as printed by ``waspada data check``."""

    sentences: int
    documents: int
    positives: dict[str, int]
    no_label_share: float
    multi_label_share: float
    length_percentiles: dict[str, float]
    length_unit: str

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def to_markdown(self, title: str) -> str:
        rows = [f"**{title}**: {self.sentences} sentences in {self.documents} documents; "
                f"no label {self.no_label_share:.1%}, two or more labels {self.multi_label_share:.1%}",
                "", "| label | sentences | share |", "| --- | ---: | ---: |"]
        for name, count in self.positives.items():
            share = count / self.sentences if self.sentences else 0.0
            rows.append(f"| {name} | {count} | {share:.1%} |")
        pct = ", ".join(f"{k} {v:.0f}" for k, v in self.length_percentiles.items())
        rows += ["", f"Length in {self.length_unit}: {pct}"]
        return "\n".join(rows)


def compute_stats(records: Sequence[Record], labels: Sequence[str], tokenizer: Any = None) -> DataStats:
    """Counts and shares; lengths in tokenizer tokens when a tokenizer is given, else words."""
    n = len(records)
    counts = Counter(name for record in records for name in record.labels)
    if tokenizer is not None:
        lengths = [len(ids) for ids in tokenizer([r.text for r in records])["input_ids"]] if n else []
        unit = "tokens"
    else:
        lengths = [len(r.text.split()) for r in records]
        unit = "words"
    percentiles = {f"p{q}": float(np.percentile(lengths, q)) if lengths else 0.0
                   for q in (50, 90, 95, 99, 100)}
    return DataStats(
        sentences=n,
        documents=len({r.doc_id for r in records}),
        positives={name: counts.get(name, 0) for name in labels},
        no_label_share=sum(1 for r in records if not r.labels) / n if n else 0.0,
        multi_label_share=sum(1 for r in records if len(r.labels) >= 2) / n if n else 0.0,
        length_percentiles=percentiles,
        length_unit=unit,
    )


def to_hf_dataset(records: Sequence[Record], labels: Sequence[str]):
    """A ``datasets.Dataset`` with ``text`` and a float ``labels`` vector per record."""
    from datasets import Dataset

    matrix = label_matrix(records, labels)
    return Dataset.from_dict({"text": [r.text for r in records], "labels": matrix.tolist()})
