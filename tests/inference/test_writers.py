"""Output rows and files: row contents, format round trips, partial files, streamed conversion."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pytest

from waspada.inference.errors import WaspadaError
from waspada.inference.segmenter import Span
from waspada.inference.writers import (PartialJsonl, encode_row, finalize, output_format, read_rows,
                                       reject_row, scan_columns, summary_row, unit_rows,
                                       unit_template, write_rows)

LABELS = ["preemptive", "preventive", "neutrality", "threat_awareness"]
FORMATS = ["jsonl", "csv", "parquet"]


def needs(fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")


def example_rows() -> list[dict]:
    text = "Kapolres hadir. Bawaslu mengawasi.\n\nWarga tenang."
    spans = [Span(0, 15, "Kapolres hadir."), Span(16, 34, "Bawaslu mengawasi."), Span(36, 49, "Warga tenang.")]
    for span in spans:
        assert text[span.start:span.end] == span.text
    scores = np.array([[0.9, 0.1, 0.2, 0.7], [0.1, 0.2, 0.95, 0.3], [0.123456789, 0.5, 0.5, 0.5]],
                      dtype=np.float32)
    decisions = scores >= 0.5
    rows = unit_rows("a1", spans, scores, decisions, LABELS,
                     {"date": "2024-11-24", "source": "kompas", "labels": "gold"})
    rows += unit_rows("b2", [Span(0, 5, "Satu.")], np.array([[0.2, 0.6, 0.1, 0.0]], np.float32),
                      np.array([[False, True, False, False]]), LABELS, {"date": "2024-11-25", "source": "", "labels": "silver"})
    return rows


def test_output_format_by_extension():
    assert [output_format(p) for p in ("a.jsonl", "a.ndjson", "A.CSV", "a.parquet", "a.pq")] == [
        "jsonl", "jsonl", "csv", "parquet", "parquet"]
    with pytest.raises(WaspadaError, match="cannot tell the output format"):
        output_format("labels.xlsx")


def test_unit_rows_hold_offsets_labels_scores_and_carried_fields():
    rows = example_rows()
    assert rows[0] == {"doc_id": "a1", "sentence_index": 0, "start": 0, "end": 15,
                       "text": "Kapolres hadir.", "labels": ["preemptive", "threat_awareness"],
                       "score_preemptive": 0.9, "score_preventive": 0.1, "score_neutrality": 0.2,
                       "score_threat_awareness": 0.7, "date": "2024-11-24", "source": "kompas",
                       "input_labels": "gold"}  # a carried field never overwrites an output column
    assert rows[2]["score_preemptive"] == 0.123457  # rounded to 6 decimals in files
    assert [r["sentence_index"] for r in rows] == [0, 1, 2, 0]


def test_summary_row_counts_and_shares():
    decisions = np.array([[True, False, False, True], [False, False, True, True], [False, False, False, True]])
    row = summary_row("a1", decisions, LABELS, {"date": "2024-11-24", "units": "x"})
    assert row == {"doc_id": "a1", "units": 3,
                   "count_preemptive": 1, "count_preventive": 0, "count_neutrality": 1,
                   "count_threat_awareness": 3,
                   "share_preemptive": 0.333333, "share_preventive": 0.0, "share_neutrality": 0.333333,
                   "share_threat_awareness": 1.0, "date": "2024-11-24", "input_units": "x"}
    empty = summary_row("e", np.zeros((0, 4), dtype=bool), LABELS)
    assert empty["units"] == 0 and empty["count_neutrality"] == 0 and empty["share_neutrality"] == 0.0


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_round_trips_the_same_rows(tmp_path, fmt):
    needs(fmt)
    rows = example_rows()
    path = write_rows(tmp_path / f"labels.{fmt}", rows, unit_template(LABELS))
    back = list(read_rows(path))
    assert back == rows
    assert [p.name for p in tmp_path.iterdir()] == [f"labels.{fmt}"]  # no temporary files left


@pytest.mark.parametrize("fmt", FORMATS)
def test_reject_rows_round_trip(tmp_path, fmt):
    needs(fmt)
    rows = [reject_row("a.jsonl", 3, "invalid JSON: Expecting value (column 1)", None, "{oops"),
            reject_row("b.csv", 7, "missing text", "text", "x,")]
    back = list(read_rows(write_rows(tmp_path / f"rejects.{fmt}", rows)))
    if fmt == "csv":  # CSV cannot tell a missing field from an empty one
        rows[0]["field"] = ""
    assert back == rows


def test_parquet_keeps_types_and_unions_columns_across_batches(tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [{"doc_id": str(i), "n": i, "x": 1, "tags": ["a"]} for i in range(5)]
    rows[3]["x"] = 2.5                            # int + float -> float
    rows[4]["late"] = "only in the last row"      # a column seen after the first batch
    rows[1]["mixed"] = {"a": 1}
    rows[2]["mixed"] = "text"                     # object + string -> text
    rows[0]["when"] = datetime.date(2024, 11, 24)  # dates become ISO strings
    partial = tmp_path / "rows.partial"
    with PartialJsonl(partial) as out:
        out.write(rows)
        out.commit()
    assert scan_columns(partial) == {"doc_id": "str", "n": "int", "x": "float", "tags": "list_str",
                                     "when": "str", "mixed": "json", "late": "str"}
    target = finalize(partial, tmp_path / "rows.parquet", batch_rows=2)
    assert not partial.exists()
    assert pq.ParquetFile(target).metadata.num_row_groups == 3  # streamed in batches of 2
    back = list(read_rows(target))
    assert [r["x"] for r in back] == [1.0, 1.0, 1.0, 2.5, 1.0]
    assert [r["late"] for r in back] == [None] * 4 + ["only in the last row"]
    assert [r["mixed"] for r in back][1:3] == ['{"a": 1}', "text"]
    assert back[0]["when"] == "2024-11-24" and back[0]["tags"] == ["a"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_run_still_writes_a_valid_file_with_the_columns(tmp_path, fmt):
    needs(fmt)
    path = write_rows(tmp_path / f"empty.{fmt}", [], unit_template(LABELS))
    assert list(read_rows(path)) == []
    if fmt == "csv":
        assert path.read_text(encoding="utf-8").splitlines()[0].startswith(
            "doc_id,sentence_index,start,end,text,labels,score_preemptive")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_schema(path).names[:6] == ["doc_id", "sentence_index", "start", "end", "text",
                                                  "labels"]


def test_partial_file_reopened_at_a_commit_drops_what_came_after(tmp_path):
    path = tmp_path / "out.partial"
    out = PartialJsonl(path)
    out.write([{"doc_id": "a", "i": 0}, {"doc_id": "a", "i": 1}])
    committed = out.commit()
    out.write([{"doc_id": "b", "i": 0}])
    out.close()
    with open(path, "ab") as handle:
        handle.write(b'{"doc_id": "b", "i"')  # a row cut by a crash
    again = PartialJsonl(path, committed=committed)
    again.write([{"doc_id": "c", "i": 0}])
    again.commit()
    again.close()
    assert [json.loads(line)["doc_id"] for line in path.read_text().splitlines()] == ["a", "a", "c"]
    with pytest.raises(WaspadaError, match="shorter"):
        PartialJsonl(path, committed=10_000)
    with pytest.raises(WaspadaError, match="missing"):
        PartialJsonl(tmp_path / "gone.partial", committed=0)


def test_encode_row_handles_dates_numpy_and_lone_surrogates():
    line = encode_row({"d": datetime.datetime(2024, 11, 24, 7, 30), "n": np.int64(3), "f": np.float32(0.5)})
    assert json.loads(line) == {"d": "2024-11-24T07:30:00", "n": 3, "f": 0.5}
    surrogate = encode_row({"text": "a\ud800b"})
    assert json.loads(surrogate) == {"text": "a\ud800b"}
