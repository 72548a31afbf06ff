"""Input readers: every format, stdin, folders, ids, carried fields, located rejections."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from waspada.inference.errors import InputError
from waspada.inference.readers import (Document, ReadOptions, Rejected, list_inputs, read_file,
                                       read_inputs, total_size)


def items_of(path: Path, **options) -> list:
    return list(read_inputs(list_inputs([path]), ReadOptions(**options)))


def docs(items) -> list[Document]:
    return [item for item in items if isinstance(item, Document)]


def rejects(items) -> list[Rejected]:
    return [item for item in items if isinstance(item, Rejected)]


def key(item) -> tuple:
    if isinstance(item, Document):
        return ("doc", item.doc_id, item.text, item.fields, item.source, item.line)
    return ("bad", item.source, item.line, item.reason, item.field, item.record)


# --------------------------------------------------------------------------- JSONL

def test_jsonl_ids_line_numbers_and_carried_fields(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"id": "x1", "text": "Satu.", "date": "2024-11-24", "source": "kompas",
                         "region": "Lampung", "url": "https://k.id/1"}),
             "",
             json.dumps({"text": "Tanpa id."}),
             json.dumps({"id": 7, "text": "Id angka.", "n": 3}),
             json.dumps({"id": "", "text": "Id kosong."})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = items_of(path)
    assert rejects(got) == []
    assert [(d.doc_id, d.line) for d in got] == [
        ("x1", 1), (f"{path}:3", 3), ("7", 4), (f"{path}:5", 5)]
    assert got[0].fields == {"date": "2024-11-24", "source": "kompas", "region": "Lampung",
                             "url": "https://k.id/1"}
    assert got[2].fields == {"n": 3}
    assert got[1].text == "Tanpa id."
    assert sum(d.nbytes for d in got) == path.stat().st_size


def test_jsonl_bad_records_are_located_and_reading_goes_on(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join([
        b'{"id": "ok1", "text": "Baik."}',
        b'{"id": "broken", "text": ',
        b'["a", "list"]',
        b'{"id": "m"}',
        b'{"id": "n", "text": 12}',
        b'{"id": ["x"], "text": "Id daftar."}',
        b'{"id": "u", "text": "\xff\xfe"}',
        b'{"id": "ok2", "text": "Baik juga."}',
    ]) + b"\n")
    got = items_of(path)
    assert [d.doc_id for d in docs(got)] == ["ok1", "ok2"]
    bad = rejects(got)
    assert [(r.line, r.field) for r in bad] == [(2, None), (3, None), (4, "text"), (5, "text"),
                                                (6, "id"), (7, None)]
    assert bad[0].reason.startswith("invalid JSON")
    assert bad[0].record == '{"id": "broken", "text": '
    assert bad[1].reason == "a JSON list, not an object"
    assert bad[2].reason == "missing text"
    assert bad[3].reason == "text is a number, not a string"
    assert "not a string or an integer" in bad[4].reason
    assert bad[5].reason.startswith("not UTF-8")
    assert str(bad[2].error()) == f"{path}:4: field 'text': missing text"
    assert isinstance(bad[2].error(), InputError)


def test_jsonl_with_byte_order_mark(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "b", "text": "Ada BOM."}).encode() + b"\n")
    assert [d.doc_id for d in items_of(path)] == ["b"]


def test_stdin_is_jsonl():
    data = (json.dumps({"id": "s1", "text": "Dari stdin."}) + "\n" + json.dumps({"text": "Dua."}) + "\n")
    sources = list_inputs(["-"])
    assert total_size(sources) is None
    got = list(read_inputs(sources, stdin=io.BytesIO(data.encode())))
    assert [(d.doc_id, d.source) for d in got] == [("s1", "<stdin>"), ("<stdin>:2", "<stdin>")]
    with pytest.raises(InputError, match="more than once"):
        list_inputs(["-", "-"])


# --------------------------------------------------------------------------- CSV

def test_csv_multiline_fields_line_ids_and_wrong_column_count(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid,text,source\r\n"
        b'c1,"Baris satu.\r\nBaris dua.",kompas\r\n'
        b",Tanpa id.,tempo\r\n"
        b"\r\n"
        b"c3,Terlalu,banyak,kolom\r\n"
        b"c4,Kurang\r\n"
        b'c5,"Kutip ""dalam"".",antara\r\n')
    got = items_of(path)
    assert [(d.doc_id, d.line, d.fields) for d in docs(got)] == [
        ("c1", 2, {"source": "kompas"}), (f"{path}:4", 4, {"source": "tempo"}),
        ("c5", 8, {"source": "antara"})]
    assert docs(got)[0].text == "Baris satu.\r\nBaris dua."  # line ends kept: offsets stay exact
    assert docs(got)[2].text == 'Kutip "dalam".'
    bad = rejects(got)
    assert [(r.line, r.reason) for r in bad] == [(6, "4 columns, the header has 3"),
                                                 (7, "2 columns, the header has 3")]
    assert bad[0].record == "c3,Terlalu,banyak,kolom"
    assert sum(item.nbytes for item in got) == path.stat().st_size


def test_csv_without_the_text_column_is_one_rejection(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,body\n1,Teks.\n2,Teks lagi.\n", encoding="utf-8")
    got = items_of(path)
    assert len(got) == 1 and isinstance(got[0], Rejected)
    assert str(got[0].error()) == f"{path}:1: field 'text': no 'text' column (columns: id, body)"
    assert [d.text for d in items_of(path, text_field="body", id_field="id")] == ["Teks.", "Teks lagi."]


def test_csv_field_longer_than_the_csv_module_default(tmp_path):
    path = tmp_path / "long.csv"
    text = "Kalimat panjang. " * 20_000  # 340 kB, over csv's 128 KiB default limit
    path.write_text('id,text\nL,"' + text + '"\n', encoding="utf-8")
    assert [d.text for d in items_of(path)] == [text]


# --------------------------------------------------------------------------- Parquet

def test_parquet_rows_ids_and_types(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import datetime

    import pyarrow.parquet as pq

    path = tmp_path / "a.parquet"
    table = pa.table({"id": ["p1", None, "p3"], "text": ["Satu.", "Dua.", None],
                      "date": [datetime.date(2024, 11, 24)] * 3, "views": [1, 2, 3]})
    pq.write_table(table, path, row_group_size=2)
    got = items_of(path)
    assert [(d.doc_id, d.line, d.fields["views"]) for d in docs(got)] == [
        ("p1", 1, 1), (f"{path}:2", 2, 2)]
    assert docs(got)[0].fields["date"] == datetime.date(2024, 11, 24)
    assert [(r.line, r.reason, r.field) for r in rejects(got)] == [(3, "missing text", "text")]
    assert sum(item.nbytes for item in got) == path.stat().st_size


def test_unreadable_parquet_is_one_located_rejection(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    got = items_of(path)
    assert len(got) == 1 and isinstance(got[0], Rejected)
    assert got[0].reason.startswith("cannot read the file")
    assert str(got[0].error()).startswith(f"{path}: cannot read the file")


# --------------------------------------------------------------------------- text files

def test_txt_is_one_document_named_by_its_path(tmp_path):
    path = tmp_path / "berita.txt"
    path.write_bytes("\ufeffKapolres hadir.\r\nBawaslu mengawasi.\r\n".encode("utf-8"))
    (got,) = items_of(path)
    assert got.doc_id == str(path) and got.fields == {}
    assert got.text == "Kapolres hadir.\r\nBawaslu mengawasi.\r\n"
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Polisi ber\u00e9aksi.".encode("latin-1"))
    (rejected,) = items_of(bad)
    assert isinstance(rejected, Rejected) and "not UTF-8" in rejected.reason and rejected.line == 1


# --------------------------------------------------------------------------- folders

def make_tree(root: Path) -> None:
    (root / "2024" / "11").mkdir(parents=True)
    (root / "2023").mkdir()
    (root / ".cache").mkdir()
    (root / "b.jsonl").write_text(json.dumps({"id": "b", "text": "B."}) + "\n", encoding="utf-8")
    (root / "a.txt").write_text("A.", encoding="utf-8")
    (root / "2024" / "11" / "c.csv").write_text("id,text\nc,C.\n", encoding="utf-8")
    (root / "2024" / "d.jsonl").write_text(json.dumps({"id": "d", "text": "D."}) + "\n", encoding="utf-8")
    (root / "2023" / "e.txt").write_text("E.", encoding="utf-8")
    (root / ".cache" / "x.jsonl").write_text("not read\n", encoding="utf-8")
    (root / ".hidden.jsonl").write_text("not read\n", encoding="utf-8")
    (root / "notes.md").write_text("not read", encoding="utf-8")


def test_nested_folders_are_read_recursively_in_sorted_order(tmp_path):
    root = tmp_path / "archive"
    make_tree(root)
    sources = list_inputs([root])
    assert [Path(s.label).relative_to(root).as_posix() for s in sources] == [
        "2023/e.txt", "2024/11/c.csv", "2024/d.jsonl", "a.txt", "b.jsonl"]
    assert [d.doc_id for d in read_inputs(sources)] == [
        str(root / "2023" / "e.txt"), "c", "d", str(root / "a.txt"), "b"]
    assert total_size(sources) == sum(s.path.stat().st_size for s in sources)
    # The run's own output inside an input folder is never read back.
    assert [s.label for s in list_inputs([root], exclude=[root / "b.jsonl"])][-1] == str(root / "a.txt")
    # A file named twice is read once.
    assert len(list_inputs([root, root / "a.txt"])) == 5


def test_bad_arguments_are_errors(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        list_inputs([tmp_path / "missing.jsonl"])
    (tmp_path / "data.xml").write_text("<x/>", encoding="utf-8")
    with pytest.raises(InputError, match="unsupported input format .xml"):
        list_inputs([tmp_path / "data.xml"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .* files in this folder"):
        list_inputs([tmp_path / "empty"])


# --------------------------------------------------------------------------- resuming

def test_skipping_n_items_equals_dropping_the_first_n(tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "archive"
    make_tree(root)
    (root / "z.jsonl").write_text(
        json.dumps({"id": "z1", "text": "Z1."}) + "\n\nnot json\n" + json.dumps({"text": "Z3."}) + "\n",
        encoding="utf-8")
    pq.write_table(pa.table({"id": ["q1", "q2"], "text": ["Q1.", None]}), root / "q.parquet")
    stdin_data = (json.dumps({"id": "s", "text": "S."}) + "\nbad\n").encode()
    inputs = [root, "-"]
    full = [key(i) for i in read_inputs(list_inputs(inputs), stdin=io.BytesIO(stdin_data))]
    assert len(full) == 12 and sum(k[0] == "bad" for k in full) == 3
    for skip in range(len(full) + 1):
        got = [key(i) for i in read_inputs(list_inputs(inputs), skip=skip,
                                           stdin=io.BytesIO(stdin_data))]
        assert got == full[skip:], skip


def test_read_file_reads_one_input(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "Satu."}) + "\n", encoding="utf-8")
    (source,) = list_inputs([path])
    assert [d.doc_id for d in read_file(source)] == ["1"]
