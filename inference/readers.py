"""Input readers: files, folders and stdin become one ordered stream of documents.

Formats, chosen by file extension:

``.jsonl`` / ``.ndjson``
    one JSON object per line; ``-`` on the command line reads this format from stdin.
``.csv``
    a header row, then one document per row (quoted fields may span lines).
``.parquet`` / ``.pq``
    one document per row (needs ``pyarrow``).
``.txt``
    the whole file is one document; its id is its path.

Folders are walked recursively in sorted order (hidden files and folders and files with
other extensions are left out), so the same inputs always give the same stream.

Every record becomes one *item*: a :class:`Document`, or a :class:`Rejected` saying
where and why a record is unusable (invalid JSON, missing or non-string text, a CSV row
with the wrong number of columns, an unreadable file). Readers never raise on bad
records; the caller decides whether a rejection stops the run. Blank lines and blank
CSV rows are not records. A file that cannot be read at all is one rejected item.

Ids: the ``id_field`` value (a string or an integer) when present and non-empty, else
``FILE:LINE`` (JSONL, and CSV, where LINE is the line the record starts on) or
``FILE:ROW`` (Parquet, rows counted from 1), so a missing id never becomes a number
that collides with another document's. Every other field is carried along.

Text offsets refer to the text exactly as read: line ends are kept as they are in the
file (``\\r\\n`` stays two characters); only a leading UTF-8 byte-order mark is dropped.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Mapping, Sequence, Union

from .errors import InputError, WaspadaError

logger = logging.getLogger(__name__)

#: File extension -> input format.
INPUT_FORMATS: dict[str, str] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".txt": "txt",
}
_EXTENSIONS = ", ".join(INPUT_FORMATS)
STDIN = "-"
STDIN_LABEL = "<stdin>"
_BOM = b"\xef\xbb\xbf"
_PARQUET_BATCH = 1024


@dataclass(frozen=True)
class InputFile:
    """One input: a file, or stdin (``path is None``)."""

    path: Path | None
    label: str
    """How ids and messages name it: the path as given (joined under its folder), or ``<stdin>``."""
    format: str
    size: int | None
    """Bytes, for progress; ``None`` for stdin."""


@dataclass
class Document:
    """One usable record."""

    doc_id: str
    text: str
    fields: dict[str, Any]
    """Every other field of the record (date, source, url...)."""
    source: str
    """Label of the input it came from."""
    line: int
    """Line (JSONL, CSV) or row (Parquet) of the record; 1 for a ``.txt`` file."""
    nbytes: int = 0
    """Input bytes consumed since the previous item (for progress)."""


@dataclass
class Rejected:
    """A record (or a whole file) that cannot be classified, and why."""

    source: str
    line: int | None
    reason: str
    field: str | None = None
    record: str | None = None
    """The raw record as text, when there is one (for the rejects file)."""
    nbytes: int = 0

    def error(self) -> InputError:
        """The located error to stop a run with: ``FILE:LINE: field 'F': REASON``."""
        error = InputError(self.reason, path=self.source, line=self.line, field=self.field)
        error.rejected = self  # type: ignore[attr-defined]
        return error


Item = Union[Document, Rejected]


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str = "id"


# --------------------------------------------------------------------------- listing

def input_format(path: str | Path) -> str | None:
    """The input format of a file name, or ``None`` when the extension is not one we read."""
    return INPUT_FORMATS.get(Path(path).suffix.lower())


def _key(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path.absolute())


def list_inputs(inputs: Sequence[str | Path], exclude: Iterable[str | Path] = ()) -> list[InputFile]:
    """Expand files, folders and ``-`` into the ordered list of inputs to read.

    ``exclude`` names files never to read (the run's own output files, which may lie
    inside an input folder). Raises :class:`InputError` for a path that does not exist,
    a file of an unsupported format, a folder without readable files, or ``-`` twice.
    """
    excluded = {_key(Path(p)) for p in exclude}
    found: list[InputFile] = []
    seen: set[str] = set()
    stdin_used = False
    for given in inputs:
        if str(given) == STDIN:
            if stdin_used:
                raise InputError("stdin ('-') given more than once", path=STDIN)
            stdin_used = True
            found.append(InputFile(None, STDIN_LABEL, "jsonl", None))
            continue
        path = Path(given)
        if path.is_dir():
            files, ignored = _walk(path, excluded)
            if ignored:
                logger.warning("%s: left out %d file(s) that are not %s", path, ignored,
                               _EXTENSIONS)
            if not files:
                raise InputError(f"no {_EXTENSIONS} files in this folder",
                                 path=given)
        elif path.exists():
            if input_format(path) is None:
                raise InputError(f"unsupported input format {path.suffix or '(no extension)'}; "
                                 f"use {_EXTENSIONS} files or a folder", path=given)
            files = [path] if _key(path) not in excluded else []
        else:
            raise InputError("no such file or folder", path=given)
        for file in files:
            key = _key(file)
            if key in seen:
                logger.warning("%s is named twice in the inputs; reading it once", file)
                continue
            seen.add(key)
            try:
                size: int | None = file.stat().st_size
            except OSError:
                size = None  # reported as unreadable when read
            found.append(InputFile(file, str(file), input_format(file) or "", size))
    return found


def _walk(folder: Path, excluded: set[str]) -> tuple[list[Path], int]:
    files: list[tuple[tuple[str, ...], Path]] = []
    ignored = 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.startswith("."):
                continue
            path = Path(root) / name
            if input_format(name) is None:
                ignored += 1
            elif _key(path) not in excluded:
                files.append((path.relative_to(folder).parts, path))
    files.sort(key=lambda pair: pair[0])
    return [path for _, path in files], ignored


def total_size(sources: Sequence[InputFile]) -> int | None:
    """Bytes of all inputs, or ``None`` when one of them (stdin) has no known size."""
    sizes = [s.size for s in sources]
    return None if any(size is None for size in sizes) else sum(sizes)  # type: ignore[misc]


# --------------------------------------------------------------------------- reading

def read_inputs(sources: Sequence[InputFile], options: ReadOptions = ReadOptions(), *,
                skip: int = 0, stdin: BinaryIO | None = None) -> Iterator[Item]:
    """Items of all ``sources`` in order, leaving out the first ``skip`` (for resuming).

    Whole files are skipped without parsing where their item count is cheap to know
    (JSONL, ``.txt``); otherwise skipped records are parsed and dropped, never split or
    scored. ``stdin`` replaces ``sys.stdin.buffer`` (tests).
    """
    for source in sources:
        if skip and source.path is not None:
            count = _cheap_count(source)
            if count is not None and count <= skip:
                skip -= count
                continue
        for item in read_file(source, options, stdin=stdin):
            if skip:
                skip -= 1
                continue
            yield item


def read_file(source: InputFile, options: ReadOptions = ReadOptions(), *,
              stdin: BinaryIO | None = None) -> Iterator[Item]:
    """Items of one input, in order."""
    if source.path is None:
        yield from _read_jsonl_stream(stdin if stdin is not None else sys.stdin.buffer,
                                      source.label, options)
        return
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet,
              "txt": _read_txt}[source.format]
    yield from reader(source, options)


def _cheap_count(source: InputFile) -> int | None:
    """Items in a file when knowable without parsing records (must match :func:`read_file`)."""
    if source.format == "txt":
        return 1
    if source.format == "jsonl" and source.path is not None:
        count = 0
        try:
            with open(source.path, "rb") as handle:
                for _, raw in _numbered_lines(handle):
                    if raw.strip():
                        count += 1
        except OSError:
            return count + 1  # read_file yields one rejection for the unreadable rest
        return count
    return None


def _unreadable(source: str, exc: BaseException, line: int | None = None, nbytes: int = 0,
                rest: bool = False) -> Rejected:
    if isinstance(exc, UnicodeDecodeError):
        why = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    elif isinstance(exc, OSError):
        why = exc.strerror or str(exc)
    else:
        why = str(exc) or type(exc).__name__
    what = "cannot read the rest of the file" if rest else "cannot read the file"
    return Rejected(source, line, f"{what}: {why}", nbytes=nbytes)


def _numbered_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(handle, 1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        yield number, raw


def _read_jsonl(source: InputFile, options: ReadOptions) -> Iterator[Item]:
    try:
        handle = open(source.path, "rb")  # type: ignore[arg-type]
    except OSError as exc:
        yield _unreadable(source.label, exc, nbytes=source.size or 0)
        return
    with handle:
        yield from _read_jsonl_stream(handle, source.label, options)


def _read_jsonl_stream(handle: BinaryIO, label: str, options: ReadOptions) -> Iterator[Item]:
    pending = 0
    number = 0
    lines = _numbered_lines(handle)
    while True:
        try:
            number, raw = next(lines)
        except StopIteration:
            return
        except OSError as exc:
            yield _unreadable(label, exc, line=number + 1, nbytes=pending, rest=True)
            return
        pending += len(raw)
        if not raw.strip():
            continue
        nbytes, pending = pending, 0
        try:
            line_text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Rejected(label, number, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                           record=raw.decode("utf-8", "replace").rstrip("\r\n"), nbytes=nbytes)
            continue
        try:
            record = json.loads(line_text)
        except json.JSONDecodeError as exc:
            yield Rejected(label, number, f"invalid JSON: {exc.msg} (column {exc.colno})",
                           record=line_text.rstrip("\r\n"), nbytes=nbytes)
            continue
        except (ValueError, RecursionError) as exc:
            yield Rejected(label, number, f"invalid JSON: {exc}", record=line_text.rstrip("\r\n"),
                           nbytes=nbytes)
            continue
        if not isinstance(record, dict):
            yield Rejected(label, number, f"a JSON {_json_type(record)}, not an object",
                           record=line_text.rstrip("\r\n"), nbytes=nbytes)
            continue
        yield make_document(record, label, number, options, nbytes=nbytes,
                            raw=lambda: line_text.rstrip("\r\n"))


def _read_csv(source: InputFile, options: ReadOptions) -> Iterator[Item]:
    label = source.label
    try:
        raw = open(source.path, "rb")  # type: ignore[arg-type]
    except OSError as exc:
        yield _unreadable(label, exc, nbytes=source.size or 0)
        return
    with raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        _allow_long_csv_fields()
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError, OSError) as exc:
            yield _unreadable(label, exc, line=1, nbytes=source.size or 0)
            return
        if header is None:
            return  # an empty file holds no documents
        if options.text_field not in header:
            yield Rejected(label, 1, f"no '{options.text_field}' column (columns: {', '.join(header)})",
                           field=options.text_field, nbytes=source.size or 0)
            return
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if duplicates:
            yield Rejected(label, 1, f"duplicate column names {duplicates}", nbytes=source.size or 0)
            return
        last_pos = 0  # the header's bytes count with the first row (progress is by chunk)
        start_line = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line, start_line = start_line, reader.line_num + 1
                yield Rejected(label, line, f"invalid CSV: {exc}")
                continue
            except (UnicodeDecodeError, OSError) as exc:
                yield _unreadable(label, exc, line=start_line, nbytes=source.size or 0, rest=True)
                return
            line, start_line = start_line, reader.line_num + 1
            if not row:
                continue  # a blank line
            pos = raw.tell()
            nbytes, last_pos = pos - last_pos, pos
            if len(row) != len(header):
                yield Rejected(label, line, f"{len(row)} columns, the header has {len(header)}",
                               record=_csv_line(row), nbytes=nbytes)
                continue
            yield make_document(dict(zip(header, row)), label, line, options, nbytes=nbytes,
                                raw=lambda row=row: _csv_line(row))


def _allow_long_csv_fields() -> None:
    # Articles are longer than the csv module's default 128 KiB field limit.
    limit = 2**31 - 1
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


def _csv_line(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    return buffer.getvalue()


def _read_parquet(source: InputFile, options: ReadOptions) -> Iterator[Item]:
    label = source.label
    pq = require_pyarrow("reading Parquet").parquet
    size = source.size or 0
    try:
        parquet = pq.ParquetFile(source.path)
        names = parquet.schema_arrow.names
        total = parquet.metadata.num_rows
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        yield _unreadable(label, exc, nbytes=size)
        return
    if options.text_field not in names:
        yield Rejected(label, None, f"no '{options.text_field}' column (columns: {', '.join(names)})",
                       field=options.text_field, nbytes=size)
        return
    row_number = 0
    done_bytes = 0
    batches = parquet.iter_batches(batch_size=_PARQUET_BATCH)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001
            yield _unreadable(label, exc, line=row_number + 1, nbytes=size - done_bytes, rest=True)
            return
        for record in batch.to_pylist():
            row_number += 1
            target = size * row_number // max(total, 1)
            nbytes, done_bytes = target - done_bytes, target
            yield make_document(record, label, row_number, options, nbytes=nbytes,
                                raw=lambda record=record: json.dumps(record, ensure_ascii=False,
                                                                     default=str))


def _read_txt(source: InputFile, options: ReadOptions) -> Iterator[Item]:
    size = source.size or 0
    try:
        data = source.path.read_bytes()  # type: ignore[union-attr]
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        yield _unreadable(source.label, exc, line=1, nbytes=size)
        return
    yield Document(source.label, text, {}, source.label, 1, nbytes=len(data))


# --------------------------------------------------------------------------- records

def make_document(record: Mapping[str, Any], source: str, line: int,
                  options: ReadOptions = ReadOptions(), *, nbytes: int = 0,
                  raw: Any = None) -> Item:
    """A :class:`Document` from one parsed record, or a :class:`Rejected` saying what is wrong.

    ``raw`` is the record as text (or a callable returning it), kept on rejections.
    """
    def reject(reason: str, field_name: str) -> Rejected:
        return Rejected(source, line, reason, field=field_name,
                        record=raw() if callable(raw) else raw, nbytes=nbytes)

    text_field, id_field = options.text_field, options.id_field
    text = record.get(text_field)
    if text is None:
        return reject("missing text", text_field)
    if not isinstance(text, str):
        return reject(f"text is a {_json_type(text)}, not a string", text_field)
    raw_id = record.get(id_field)
    if raw_id is None or raw_id == "":
        doc_id = f"{source}:{line}"
    elif isinstance(raw_id, str) or (isinstance(raw_id, int) and not isinstance(raw_id, bool)):
        doc_id = str(raw_id)
    else:
        return reject(f"id is a {_json_type(raw_id)}, not a string or an integer", id_field)
    fields = {k: v for k, v in record.items() if k != text_field and k != id_field}
    return Document(doc_id, text, fields, source, line, nbytes=nbytes)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def require_pyarrow(purpose: str):
    """Import pyarrow (with ``pyarrow.parquet``), or explain how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise WaspadaError(f"{purpose} needs pyarrow: pip install 'waspada[parquet]'") from None
    return pyarrow


__all__ = ["INPUT_FORMATS", "InputFile", "Document", "Rejected", "Item", "ReadOptions",
           "input_format", "list_inputs", "total_size", "read_inputs", "read_file",
           "make_document", "require_pyarrow"]
