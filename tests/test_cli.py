"""The command line as a user meets it."""

import json
import re
import subprocess
import sys

import pytest

from waspada.cli import main


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("data", "train", "baseline", "evaluate"):
        assert command in out


def test_console_script_runs():
    done = subprocess.run([sys.executable, "-m", "waspada", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("waspada ")


def test_data_check_reports_bad_record_and_fails(tmp_path, capsys):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "Patroli.", "labels": ["patrol"]}) + "\n", encoding="utf-8")
    assert main(["data", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1: field 'labels': unknown label 'patrol'" in err


def test_data_check_prints_statistics(tmp_path, capsys):
    rows = [{"id": f"{d}-{i}", "doc_id": d, "text": f"Kalimat nomor {i} dari dokumen {d} tentang patroli.",
             "labels": ["preventive"] if i % 2 else []} for d in "ab" for i in range(3)]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["data", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "6 sentences in 2 documents" in out and "| preventive | 2 |" in out


def test_train_with_a_missing_config_says_so(capsys):
    assert main(["train", "--config", "does/not/exist.yaml"]) == 1
    assert "does/not/exist.yaml: config file not found" in capsys.readouterr().err


def test_quickstart_classifies_the_sample_archive(tiny_model, tmp_path, monkeypatch, capsys):
    """The quickstart runs the real archive pipeline; only the model build is swapped for the tiny model."""
    import waspada.train.default_model as default_model
    from waspada.inference.writers import read_rows

    monkeypatch.setattr(default_model, "ensure_default_model", lambda **_: tiny_model)
    out = tmp_path / "qs"
    assert main(["quickstart", "--output", str(out)]) == 0
    rows = list(read_rows(out / "sentences.jsonl"))
    samples = [json.loads(l) for l in (default_model.project_root() / "data" / "sample" / "articles.jsonl")
               .read_text(encoding="utf-8").splitlines() if l.strip()]
    texts = {d["id"]: d["text"] for d in samples}
    assert {r["doc_id"] for r in rows} >= set(texts)
    for r in rows:
        if r["doc_id"] in texts:
            assert texts[r["doc_id"]][r["start"]:r["end"]] == r["text"]
    printed = capsys.readouterr().out
    assert f"{len(rows)} sentences from" in printed and "sample-01" in printed
    # Every row's text starts in the same column, however long its label set.
    label_width = max([len(", ".join(r["labels"]) or "-") for r in rows] + [10])
    row_lines = [line for line in printed.splitlines() if re.match(r"^\s*\d+  \S", line)]
    assert len(row_lines) == len(rows)
    for line, r in zip(row_lines, rows):
        assert line[3 + 2 + label_width + 1:].startswith(r["text"].split()[0]), line
