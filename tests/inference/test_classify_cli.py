"""``waspada classify`` as a user runs it, on the tiny trained model."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_jsonl

from waspada.cli import main
from waspada.inference import Classifier
from waspada.inference.archive import checkpoint_path, classify_archive
from waspada.inference.writers import read_rows

DOCS = [
    {"id": "k1", "text": "Kapolres memerintahkan patroli malam di seluruh TPS. Bawaslu mengawasi "
                         "netralitas ASN.\n\nWarga diminta tidak menyebarkan hoaks.",
     "date": "2024-11-24", "source": "kompas", "region": "Lampung", "url": "https://example.id/k1"},
    {"id": "k2", "text": "Babinsa dan Bhabinkamtibmas bersiaga di kecamatan rawan konflik.",
     "date": "2024-11-25", "source": "tempo", "region": "Papua", "url": "https://example.id/k2"},
    {"text": "Dokumen tanpa id. Kalimat kedua tentang pengamanan logistik pemilu.",
     "date": "2024-11-26", "source": "antara", "region": "Aceh", "url": ""},
]


def archive(root: Path) -> Path:
    write_jsonl(root / "2024" / "news.jsonl", DOCS)
    (root / "2024" / "11").mkdir(parents=True)
    (root / "2024" / "11" / "more.csv").write_text(
        "id,text,source\nc1,\"Polisi menjaga gudang logistik KPU.\nPatroli dilakukan tiap malam.\",detik\n",
        encoding="utf-8")
    (root / "note.txt").write_text("Satu berita pendek. Tentang pengawasan pemilu.", encoding="utf-8")
    return root


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["classify", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--model", "--output", "--summary", "--skip-bad", "--resume", "--unit", "--text-field",
                   "--id-field", "--backend", "--batch-size", "--threads", "--device"):
        assert option in out


def test_classify_a_folder_to_jsonl(tmp_path, tiny_model, capsys):
    root = archive(tmp_path / "archive")
    out = tmp_path / "labels.jsonl"
    assert main(["classify", str(root), "--model", str(tiny_model), "--output", str(out),
                 "--threads", "2", "--batch-size", "8"]) == 0
    printed = capsys.readouterr().out
    assert "read 5 documents: 5 classified, 0 rejected" in printed
    rows = list(read_rows(out))
    assert [r["doc_id"] for r in rows if r["sentence_index"] == 0] == [
        "c1", "k1", "k2", f"{root / '2024' / 'news.jsonl'}:3", str(root / "note.txt")]
    k1 = [r for r in rows if r["doc_id"] == "k1"]
    assert [DOCS[0]["text"][r["start"]:r["end"]] for r in k1] == [r["text"] for r in k1]
    assert k1[0]["url"] == "https://example.id/k1" and k1[0]["region"] == "Lampung"
    assert set(k1[0]) >= {"labels", "score_preemptive", "score_preventive", "score_neutrality",
                          "score_threat_awareness"}


def test_stdin_parquet_output_csv_summary_and_custom_fields(tmp_path, tiny_model, capsys, monkeypatch):
    pytest.importorskip("pyarrow")
    data = "".join(json.dumps({"nomor": f"s{i}", "isi": d["text"], "date": d["date"]}) + "\n"
                   for i, d in enumerate(DOCS))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    out, summary = tmp_path / "labels.parquet", tmp_path / "docs.csv"
    assert main(["classify", "-", "--model", str(tiny_model), "-o", str(out), "--summary", str(summary),
                 "--text-field", "isi", "--id-field", "nomor", "--unit", "paragraph"]) == 0
    assert "read 3 documents: 3 classified, 0 rejected" in capsys.readouterr().out
    rows = list(read_rows(out))
    assert [(r["doc_id"], r["sentence_index"]) for r in rows] == [("s0", 0), ("s0", 1), ("s1", 0), ("s2", 0)]
    assert rows[1]["text"] == "Warga diminta tidak menyebarkan hoaks." and rows[1]["date"] == "2024-11-24"
    per_doc = list(read_rows(summary))
    assert [(s["doc_id"], s["units"]) for s in per_doc] == [("s0", 2), ("s1", 1), ("s2", 1)]


def test_a_bad_record_fails_with_its_location_unless_skip_bad(tmp_path, tiny_model, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(DOCS[0]) + "\n" + '{"id": "x", "text": 5}\n' + json.dumps(DOCS[1]) + "\n",
                    encoding="utf-8")
    out = tmp_path / "labels.jsonl"
    assert main(["classify", str(path), "--model", str(tiny_model), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"waspada classify: error: {path}:2: field 'text': text is a number, not a string" in err
    assert "--skip-bad" in err and not out.exists()
    checkpoint_path(out).unlink()
    rejects = tmp_path / "rejects.jsonl"
    assert main(["classify", str(path), "--model", str(tiny_model), "-o", str(out),
                 "--skip-bad", str(rejects)]) == 0
    assert "read 3 documents: 2 classified, 1 rejected" in capsys.readouterr().out
    (bad,) = read_rows(rejects)
    assert (bad["file"], bad["line"], bad["field"]) == (str(path), 2, "text")


def test_resume_continues_an_interrupted_run(tmp_path, tiny_model, capsys):
    root = archive(tmp_path / "archive")
    args = ["classify", str(root), "--model", str(tiny_model), "--window", "3"]
    reference = tmp_path / "reference.jsonl"
    assert main(args + ["-o", str(reference)]) == 0
    out = tmp_path / "labels.jsonl"
    classifier = Classifier.load(tiny_model)

    def crash(stats):
        if stats.read >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        classify_archive(classifier, [str(root)], out, window=3, on_commit=crash)
    capsys.readouterr()
    assert main(args + ["-o", str(out)]) == 1
    assert "--resume" in capsys.readouterr().err
    assert main(args + ["-o", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "read 5 documents: 5 classified, 0 rejected" in printed and "resumed after" in printed
    assert out.read_bytes() == reference.read_bytes()


def test_default_model_comes_from_the_training_package(tmp_path, tiny_model, monkeypatch, capsys):
    import waspada.train.default_model as default_model

    monkeypatch.setattr(default_model, "ensure_default_model", lambda: Path(tiny_model))
    source = write_jsonl(tmp_path / "in.jsonl", DOCS[:1])
    assert main(["classify", str(source), "-o", str(tmp_path / "out.jsonl")]) == 0
    assert "read 1 document: 1 classified" in capsys.readouterr().out


def test_without_the_training_package_the_default_folder_is_used(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "waspada.train.default_model", None)  # import fails
    monkeypatch.setenv("WASPADA_HOME", str(tmp_path / "home"))
    source = write_jsonl(tmp_path / "in.jsonl", DOCS[:1])
    assert main(["classify", str(source), "-o", str(tmp_path / "out.jsonl")]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "home" / "models" / "default") in err and "waspada quickstart" in err


def test_argument_errors_come_before_loading_a_model(tmp_path, tiny_model, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", DOCS[:1])
    assert main(["classify", str(tmp_path / "missing"), "--model", "nowhere", "-o", "x.jsonl"]) == 1
    assert "missing: no such file or folder" in capsys.readouterr().err
    assert main(["classify", str(source), "--model", "nowhere", "-o", "labels.xlsx"]) == 1
    assert "cannot tell the output format" in capsys.readouterr().err
    assert main(["classify", str(source), "--model", str(tiny_model), "-o", str(tmp_path / "o.jsonl"),
                 "--backend", "nope"]) == 1
    assert "unknown backend 'nope'" in capsys.readouterr().err


def test_console_script_reads_stdin(tmp_path, tiny_model):
    out = tmp_path / "labels.csv"
    data = "".join(json.dumps(d) + "\n" for d in DOCS)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "waspada", "classify", "-", "--model", str(tiny_model),
                           "-o", str(out), "--threads", "1", "--no-progress"],
                          input=data, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "read 3 documents: 3 classified, 0 rejected" in done.stdout
    rows = list(read_rows(out))
    assert rows[-1]["doc_id"] == "<stdin>:3" and rows[0]["url"] == "https://example.id/k1"
