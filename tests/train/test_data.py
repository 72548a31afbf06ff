"""Every kind of bad record gets a message naming file, line and field."""

import json
from pathlib import Path

import pytest

from waspada.train.config import DEFAULT_LABELS
from waspada.train.data import DataValidationError, compute_stats, read_records

GOOD = {"id": "a-s0", "doc_id": "a", "text": "Patroli malam ditambah menjadi tiga kali.", "labels": ["preventive"]}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def problems_of(*paths, names=None) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        read_records(paths, DEFAULT_LABELS, split_names=names)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("bad_line, field, fragment", [
    ('{"id": "b", "text": "x", "labels": [', None, "invalid JSON"),
    (json.dumps({"id": "b", "labels": []}), "text", "missing"),
    (json.dumps({"id": "b", "text": "   ", "labels": []}), "text", "empty text"),
    (json.dumps({"id": "b", "text": 5, "labels": []}), "text", "must be a string"),
    (json.dumps({"id": "b", "text": "Imbauan tolak hoaks.", "labels": ["hoax"]}), "labels", "unknown label 'hoax'"),
    (json.dumps({"id": "b", "text": "Imbauan tolak hoaks.", "labels": "preemptive"}), "labels", "must be a list"),
    (json.dumps({"id": "b", "text": "Imbauan tolak hoaks."}), "labels", "missing"),
    (json.dumps({"id": "a-s0", "text": "Kalimat lain.", "labels": []}), "id", "duplicate id 'a-s0'"),
    ('[1, 2]', None, "expected a JSON object"),
])
def test_bad_record_is_located(tmp_path, bad_line, field, fragment):
    path = write_lines(tmp_path / "train.jsonl", [json.dumps(GOOD), bad_line])
    (message,) = problems_of(path)
    assert message.startswith(f"{path}:2: ")
    if field:
        assert f"field '{field}'" in message
    assert fragment in message


def test_doc_id_in_two_splits(tmp_path):
    train = write_lines(tmp_path / "train.jsonl", [json.dumps(GOOD)])
    dev = write_lines(tmp_path / "dev.jsonl", [json.dumps({**GOOD, "id": "a-s1"})])
    (message,) = problems_of(train, dev, names=["train", "dev"])
    assert message.startswith(f"{dev}:1: field 'doc_id'")
    assert "two splits (train and dev)" in message


def test_duplicate_id_across_files(tmp_path):
    train = write_lines(tmp_path / "train.jsonl", [json.dumps(GOOD)])
    dev = write_lines(tmp_path / "dev.jsonl", [json.dumps({**GOOD, "doc_id": "other"})])
    (message,) = problems_of(train, dev, names=["train", "dev"])
    assert f"first at {train}:1" in message


def test_all_problems_reported_at_once(tmp_path):
    path = write_lines(tmp_path / "x.jsonl", [
        json.dumps({"id": "1", "text": "", "labels": []}),
        "",  # blank lines are allowed and keep numbering honest
        json.dumps({"id": "2", "text": "ok", "labels": ["nope"]}),
    ])
    messages = problems_of(path)
    assert [m.split(": ")[0] for m in messages] == [f"{path}:1", f"{path}:3"]


def test_missing_file(tmp_path):
    (message,) = problems_of(tmp_path / "absent.jsonl")
    assert "absent.jsonl" in message and "file not found" in message


def test_csv_records_with_semicolon_and_json_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,doc_id,text,labels,region\n'
                    '1,d1,"Patroli, penjagaan TPS.",preventive;threat_awareness,Aceh\n'
                    '2,d1,Jadwal rapat pleno.,,Aceh\n'
                    '3,d2,Netralitas ASN.,"[""neutrality""]",Bali\n', encoding="utf-8")
    (records,) = read_records([path], DEFAULT_LABELS)
    assert [r.labels for r in records] == [["preventive", "threat_awareness"], [], ["neutrality"]]
    assert records[0].extra == {"region": "Aceh"} and records[0].line == 2


def test_csv_unknown_label_names_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,labels\nSatu.,preventive\nDua.,patrol\n", encoding="utf-8")
    (message,) = problems_of(path)
    assert message.startswith(f"{path}:3: field 'labels': unknown label 'patrol'")


def test_stats(tmp_path):
    rows = [
        {"id": "1", "doc_id": "a", "text": "satu dua tiga", "labels": []},
        {"id": "2", "doc_id": "a", "text": "satu dua", "labels": ["preventive", "neutrality"]},
        {"id": "3", "doc_id": "b", "text": "satu", "labels": ["preventive"]},
        {"id": "4", "doc_id": "b", "text": "satu dua tiga empat", "labels": []},
    ]
    path = write_lines(tmp_path / "s.jsonl", [json.dumps(r) for r in rows])
    (records,) = read_records([path], DEFAULT_LABELS)
    stats = compute_stats(records, DEFAULT_LABELS)
    assert (stats.sentences, stats.documents) == (4, 2)
    assert stats.positives == {"preemptive": 0, "preventive": 2, "neutrality": 1, "threat_awareness": 0}
    assert stats.no_label_share == 0.5 and stats.multi_label_share == 0.25
    assert stats.length_percentiles["p100"] == 4 and stats.length_percentiles["p50"] == 2.5
