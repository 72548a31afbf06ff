"""Output rows and files: what a labeled unit looks like on disk, in JSONL, CSV or Parquet.

Rows
    :func:`unit_rows` (one per sentence/paragraph/document unit), :func:`summary_row`
    (one per document) and :func:`reject_row` (one per bad record) build plain dicts;
    every engine that classifies archives builds its rows with them, so engines agree
    row for row.
Partial files
    Rows are first appended to a JSONL *partial* file (:class:`PartialJsonl`), committed
    in whole documents: ``commit()`` flushes and fsyncs and returns the committed size;
    reopening at a committed size drops anything written after it. That is what makes
    an interrupted run resumable.
Final files
    :func:`finalize` turns a complete partial file into the target: a rename for JSONL;
    for CSV and Parquet a streamed conversion (two passes over the partial: one to learn
    the columns, one to write them in batches), so memory stays flat however many rows.

Column types in CSV and Parquet: fixed columns keep their types (``labels`` is a list
of strings in Parquet, ``;``-joined in CSV). A carried input field whose values are all
booleans, all integers, all numbers, all strings or all lists of strings keeps that type
in Parquet; a field with mixed values becomes text (strings as they are, other values as
JSON). CSV holds everything as text (lists and objects as JSON). JSONL keeps every value.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import decimal
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .errors import WaspadaError

#: File extension -> output format.
OUTPUT_FORMATS: dict[str, str] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
                                  ".parquet": "parquet", ".pq": "parquet"}
UNIT_COLUMNS = ("doc_id", "sentence_index", "start", "end", "text", "labels")
SUMMARY_COLUMNS = ("doc_id", "units")
REJECT_COLUMNS = ("file", "line", "reason", "field", "record")
SCORE_DIGITS = 6
"""Scores are rounded to this many decimals in files (labels are decided before rounding)."""
CARRIED_PREFIX = "input_"
"""Prefix given to a carried input field whose name is an output column (``labels`` -> ``input_labels``)."""
CONVERT_BATCH_ROWS = 8192

_INT64 = (-(2**63), 2**63 - 1)


def output_format(path: str | Path) -> str:
    """``"jsonl"``, ``"csv"`` or ``"parquet"`` from the file extension."""
    fmt = OUTPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise WaspadaError(f"{path}: cannot tell the output format from the extension "
                           f"{Path(path).suffix or '(none)'}; use .jsonl, .csv or .parquet")
    return fmt


# --------------------------------------------------------------------------- rows

def score_column(label: str) -> str:
    return f"score_{label}"


def carried_fields(fields: Mapping[str, Any], reserved: Iterable[str]) -> dict[str, Any]:
    """Input fields to carry into a row, renamed with ``input_`` where they clash with ``reserved``."""
    taken = set(reserved)
    out: dict[str, Any] = {}
    for name, value in fields.items():
        key = name
        while key in taken or key in out:
            key = CARRIED_PREFIX + key
        out[key] = value
    return out


def unit_columns(labels: Sequence[str]) -> list[str]:
    return [*UNIT_COLUMNS, *(score_column(label) for label in labels)]


def summary_columns(labels: Sequence[str]) -> list[str]:
    return [*SUMMARY_COLUMNS, *(f"count_{label}" for label in labels),
            *(f"share_{label}" for label in labels)]


def unit_rows(doc_id: str, spans: Sequence[Any], scores: np.ndarray, decisions: np.ndarray,
              labels: Sequence[str], fields: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per unit of a document.

    ``spans`` have ``start``, ``end`` and ``text`` (``document[start:end] == text``);
    ``scores`` and ``decisions`` are the ``(len(spans), len(labels))`` score and
    boolean label matrices; ``fields`` are carried into every row.
    """
    extra = carried_fields(fields or {}, unit_columns(labels))
    rows = []
    for index, span in enumerate(spans):
        row: dict[str, Any] = {
            "doc_id": doc_id, "sentence_index": index, "start": int(span.start),
            "end": int(span.end), "text": span.text,
            "labels": [label for label, on in zip(labels, decisions[index]) if on]}
        for label, value in zip(labels, scores[index]):
            row[score_column(label)] = round(float(value), SCORE_DIGITS)
        row.update(extra)
        rows.append(row)
    return rows


def summary_row(doc_id: str, decisions: np.ndarray, labels: Sequence[str],
                fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One row per document: number of units, and per label the count and share of its units."""
    n_units = int(len(decisions))
    counts = (np.asarray(decisions, dtype=bool).sum(axis=0) if n_units
              else np.zeros(len(labels), dtype=np.int64))
    row: dict[str, Any] = {"doc_id": doc_id, "units": n_units}
    for label, count in zip(labels, counts):
        row[f"count_{label}"] = int(count)
    for label, count in zip(labels, counts):
        row[f"share_{label}"] = round(int(count) / n_units, SCORE_DIGITS) if n_units else 0.0
    row.update(carried_fields(fields or {}, summary_columns(labels)))
    return row


def reject_row(source: str, line: int | None, reason: str, field: str | None = None,
               record: str | None = None) -> dict[str, Any]:
    """One row per rejected record: where it is, why, and the record itself."""
    return {"file": source, "line": line, "reason": reason, "field": field, "record": record}


def unit_template(labels: Sequence[str]) -> dict[str, Any]:
    """A typed example row: fixes column order and types even when a file has no rows."""
    return {"doc_id": "", "sentence_index": 0, "start": 0, "end": 0, "text": "", "labels": [],
            **{score_column(label): 0.0 for label in labels}}


def summary_template(labels: Sequence[str]) -> dict[str, Any]:
    return {"doc_id": "", "units": 0, **{f"count_{label}": 0 for label in labels},
            **{f"share_{label}": 0.0 for label in labels}}


REJECT_TEMPLATE: dict[str, Any] = {"file": "", "line": 0, "reason": "", "field": "", "record": ""}


# --------------------------------------------------------------------------- JSONL

def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def encode_row(row: Mapping[str, Any]) -> bytes:
    """One JSONL line (UTF-8, newline-terminated). Dates become ISO strings, bytes base64."""
    try:
        return (json.dumps(row, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the input: keep it as a JSON escape
        return (json.dumps(row, ensure_ascii=True, default=_json_default) + "\n").encode("ascii")


class PartialJsonl:
    """An append-only JSONL file, committed in whole units.

    ``PartialJsonl(path)`` starts the file afresh; ``PartialJsonl(path, committed=n)``
    reopens it at a committed size ``n``, dropping whatever an interrupted run wrote
    after its last commit (a half-written row, rows of a half-written document).
    """

    def __init__(self, path: str | Path, committed: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if committed is None:
            self._handle = open(self.path, "wb")
        else:
            try:
                size = self.path.stat().st_size
            except OSError:
                raise WaspadaError(f"{self.path}: partial file of the interrupted run is missing; "
                                   f"cannot resume") from None
            if size < committed:
                raise WaspadaError(f"{self.path}: partial file is shorter ({size} bytes) than its "
                                   f"checkpoint says ({committed}); cannot resume")
            self._handle = open(self.path, "r+b")
            self._handle.truncate(committed)
            self._handle.seek(committed)
        self.rows_written = 0

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        data = b"".join(encode_row(row) for row in rows)
        if data:
            self._handle.write(data)

    def commit(self) -> int:
        """Make everything written so far durable; returns the committed size in bytes."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return self._handle.tell()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "PartialJsonl":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as handle:
        for raw in handle:
            if raw.strip():
                yield json.loads(raw)


# --------------------------------------------------------------------------- final files

def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if _INT64[0] <= value <= _INT64[1] else "json"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "list_str"
    return "json"


def _column_type(kinds: set[str]) -> str:
    kinds = kinds - {"null"}
    if not kinds:
        return "str"
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= {"int", "float"}:
        return "float"
    return "json"


def scan_columns(partial: str | Path, template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Column name -> type (``bool int float str list_str json``) over a JSONL file, in order of first appearance."""
    kinds: dict[str, set[str]] = {name: {_kind(value)} for name, value in (template or {}).items()}
    for row in iter_jsonl(partial):
        for name, value in row.items():
            kinds.setdefault(name, set()).add(_kind(value))
    return {name: _column_type(found) for name, found in kinds.items()}


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _csv_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if name == "labels" and isinstance(value, list):
        return ";".join(value)
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _batches(partial: Path, size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in iter_jsonl(partial):
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_csv(partial: Path, tmp: Path, columns: dict[str, str], batch_rows: int) -> None:
    names = list(columns)
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for batch in _batches(partial, batch_rows):
            writer.writerows([[_csv_cell(n, row.get(n)) for n in names] for row in batch])


def _write_parquet(partial: Path, tmp: Path, columns: dict[str, str], batch_rows: int) -> None:
    from .readers import require_pyarrow

    pa = require_pyarrow("writing Parquet")
    import pyarrow.parquet as pq

    types = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "str": pa.string(),
             "list_str": pa.list_(pa.string()), "json": pa.string()}
    schema = pa.schema([(name, types[kind]) for name, kind in columns.items()])
    with pq.ParquetWriter(tmp, schema) as writer:
        wrote = False
        for batch in _batches(partial, batch_rows):
            data = {}
            for name, kind in columns.items():
                values = [row.get(name) for row in batch]
                if kind == "json":
                    values = [_as_text(v) for v in values]
                elif kind == "float":
                    values = [None if v is None else float(v) for v in values]
                data[name] = values
            writer.write_table(pa.Table.from_pydict(data, schema=schema))
            wrote = True
        if not wrote:
            writer.write_table(schema.empty_table())


def finalize(partial: str | Path, target: str | Path, template: Mapping[str, Any] | None = None,
             *, batch_rows: int = CONVERT_BATCH_ROWS) -> Path:
    """Turn a complete JSONL partial file into ``target`` (format from its extension).

    JSONL: the partial file is renamed. CSV/Parquet: converted in batches of
    ``batch_rows`` into a temporary file beside ``target`` that is then renamed, and the
    partial file removed. ``template`` (a typed example row) fixes the first columns and
    their types.
    """
    partial, target = Path(partial), Path(target)
    fmt = output_format(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        os.replace(partial, target)
        return target
    columns = scan_columns(partial, template)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if fmt == "csv":
            _write_csv(partial, tmp, columns, batch_rows)
        else:
            _write_parquet(partial, tmp, columns, batch_rows)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    partial.unlink()
    return target


def write_rows(path: str | Path, rows: Iterable[Mapping[str, Any]],
               template: Mapping[str, Any] | None = None) -> Path:
    """Write ``rows`` to ``path`` in the format of its extension (streamed, via a partial file)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with PartialJsonl(partial) as out:
            for row in rows:
                out.write([row])
            out.commit()
        return finalize(partial, path, template)
    finally:
        partial.unlink(missing_ok=True)


# --------------------------------------------------------------------------- reading back

_INT_COLUMNS = {"sentence_index", "start", "end", "units", "line"}


def _from_csv(name: str, value: str) -> Any:
    if name == "labels":
        return value.split(";") if value else []
    if name in _INT_COLUMNS or name.startswith("count_"):
        return int(value) if value != "" else None
    if name.startswith(("score_", "share_")):
        return float(value) if value != "" else None
    return value


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a file written by these writers, in order (CSV cells come back as text,
    except the fixed numeric columns and ``labels``)."""
    path = Path(path)
    fmt = output_format(path)
    if fmt == "jsonl":
        yield from iter_jsonl(path)
    elif fmt == "csv":
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield {name: _from_csv(name, value) for name, value in row.items()}
    else:
        from .readers import require_pyarrow

        require_pyarrow("reading Parquet")
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=CONVERT_BATCH_ROWS):
            yield from batch.to_pylist()


__all__ = ["OUTPUT_FORMATS", "UNIT_COLUMNS", "SUMMARY_COLUMNS", "REJECT_COLUMNS", "SCORE_DIGITS",
           "output_format", "carried_fields", "unit_rows", "summary_row", "reject_row",
           "unit_template", "summary_template", "REJECT_TEMPLATE", "encode_row", "PartialJsonl",
           "iter_jsonl", "scan_columns", "finalize", "write_rows", "read_rows"]
