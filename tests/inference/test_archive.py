"""The archive pipeline with a real (tiny, trained) model: offsets, formats, windows, bad
records, counts and resume."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_articles, write_jsonl

from waspada.inference import Classifier
from waspada.inference import archive as archive_module
from waspada.inference.archive import checkpoint_path, classify_archive, partial_path
from waspada.inference.errors import InputError, WaspadaError
from waspada.inference.segmenter import split_units
from waspada.inference.writers import read_rows

REPO = Path(__file__).resolve().parents[2]


class Crash(Exception):
    """Stands for a kill in the middle of a run."""


def articles(limit: int | None = None) -> list[dict]:
    return corpus_articles(limit)


def scores_of(row: dict) -> np.ndarray:
    return np.array([v for k, v in row.items() if k.startswith("score_")])


def without_scores(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("score_")}


def assert_same_rows(a: list[dict], b: list[dict], tol: float = 1e-5) -> None:
    assert [without_scores(r) for r in a] == [without_scores(r) for r in b]
    for x, y in zip(a, b):
        assert np.abs(scores_of(x) - scores_of(y)).max() <= tol


@pytest.fixture(scope="module")
def classifier(tiny_model) -> Classifier:
    return Classifier.load(tiny_model, batch_size=16, threads=2)


# --------------------------------------------------------------------------- Python API

def test_classify_documents_equals_predict_on_the_same_sentences(classifier):
    docs = articles(8) + ["Teks polos tanpa id. Dua kalimat."]
    results = list(classifier.classify_documents(docs, window=7))
    predictions = classifier.predict([r.text for r in results])
    assert len(results) == len(predictions) > 20
    for result, prediction in zip(results, predictions):
        assert result.labels == prediction.labels
        assert result.scores.keys() == prediction.scores.keys()
        assert max(abs(result.scores[k] - prediction.scores[k]) for k in result.scores) < 1e-5
    texts = {d["id"]: d["text"] for d in docs[:-1]}
    texts["8"] = docs[-1]
    for r in results:
        assert texts[r.doc_id][r.start:r.end] == r.text
    assert results[0].fields == {"date": docs[0]["date"], "source": docs[0]["source"],
                                 "region": docs[0]["region"]}


def test_archive_rows_equal_the_python_api(tmp_path, classifier):
    docs = articles(12)
    stats = classify_archive(classifier, [write_jsonl(tmp_path / "in.jsonl", docs)], tmp_path / "out.jsonl")
    rows = list(read_rows(tmp_path / "out.jsonl"))
    api = list(classifier.classify_documents(docs))
    assert len(rows) == len(api) == stats.units
    for row, r in zip(rows, api):
        assert (row["doc_id"], row["sentence_index"], row["start"], row["end"], row["text"], row["labels"]) == (
            r.doc_id, r.index, r.start, r.end, r.text, r.labels)
        assert all(abs(row[f"score_{k}"] - v) <= 1e-5 for k, v in r.scores.items())
        assert {k: row[k] for k in ("date", "source", "region")} == r.fields
    assert (stats.read, stats.classified, stats.rejected) == (12, 12, 0)
    assert not partial_path(tmp_path / "out.jsonl").exists()
    assert not checkpoint_path(tmp_path / "out.jsonl").exists()


# --------------------------------------------------------------------------- inputs and offsets

def test_every_input_format_keeps_exact_offsets(tmp_path, classifier):
    pa = pytest.importorskip("pyarrow")
    import csv

    import pyarrow.parquet as pq

    docs = articles(20)
    docs[1]["text"] = docs[1]["text"].replace("\n\n", "\r\n\r\n")  # CRLF inside a CSV field
    docs[14]["text"] = docs[14]["text"].replace("\n\n", "\r\n\r\n")  # and inside a .txt file
    root = tmp_path / "archive"
    write_jsonl(root / "2024" / "a.jsonl", [docs[0]] + docs[2:5])
    (root / "2024" / "11").mkdir(parents=True)
    with open(root / "2024" / "11" / "b.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "date", "source", "region"])
        writer.writeheader()
        writer.writerows([docs[1]] + docs[5:9])
    pq.write_table(pa.Table.from_pylist(docs[9:13]), root / "c.parquet")
    originals = {d["id"]: d["text"] for d in docs}
    txt_ids = []
    for d in docs[13:16]:
        path = root / "txt" / f"{d['id']}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(d["text"].encode("utf-8"))
        originals[str(path)] = d["text"]
        txt_ids.append(str(path))
    stdin = io.BytesIO("".join(json.dumps(d) + "\n" for d in docs[16:20]).encode())
    out = tmp_path / "out.jsonl"
    stats = classify_archive(classifier, [root, "-"], out, stdin=stdin, window=16)
    rows = list(read_rows(out))
    assert (stats.read, stats.classified) == (20, 20)
    for row in rows:
        assert originals[row["doc_id"]][row["start"]:row["end"]] == row["text"]
    per_doc: dict[str, int] = {}
    for row in rows:
        per_doc[row["doc_id"]] = per_doc.get(row["doc_id"], 0) + 1
    # Sorted folder order (2024/11/b.csv, 2024/a.jsonl, c.parquet, txt/), then stdin.
    ids = lambda chunk: [d["id"] for d in chunk]  # noqa: E731
    assert list(per_doc) == (ids([docs[1]] + docs[5:9]) + ids([docs[0]] + docs[2:5]) + ids(docs[9:13])
                             + sorted(txt_ids) + ids(docs[16:20]))
    for doc_id, n in per_doc.items():
        assert n == len(split_units(originals[doc_id], "sentence"))
    carried = {row["doc_id"]: (row.get("date"), row.get("source")) for row in rows}
    for d in docs[:13] + docs[16:]:  # JSONL, CSV, Parquet and stdin carry their fields
        assert carried[d["id"]] == (d["date"], d["source"])


@pytest.mark.parametrize("unit", ["paragraph", "document"])
def test_other_units_keep_offsets(tmp_path, classifier, unit):
    docs = articles(6)
    out = tmp_path / "out.jsonl"
    classify_archive(classifier, [write_jsonl(tmp_path / "in.jsonl", docs)], out, unit=unit)
    rows = list(read_rows(out))
    texts = {d["id"]: d["text"] for d in docs}
    assert len(rows) == sum(len(split_units(d["text"], unit)) for d in docs)
    for row in rows:
        assert texts[row["doc_id"]][row["start"]:row["end"]] == row["text"]


# --------------------------------------------------------------------------- outputs

def test_output_formats_hold_the_same_rows(tmp_path, classifier):
    pytest.importorskip("pyarrow")
    source = write_jsonl(tmp_path / "in.jsonl", articles(10) + [{"id": "empty", "text": "   ",
                                                                 "date": "", "source": "", "region": ""}])
    results = {}
    for fmt in ("jsonl", "csv", "parquet"):
        out, summary = tmp_path / f"out.{fmt}", tmp_path / f"docs.{fmt}"
        classify_archive(classifier, [source], out, summary=summary, window=64)
        results[fmt] = (list(read_rows(out)), list(read_rows(summary)))
    assert results["jsonl"][0] and results["jsonl"] == results["csv"] == results["parquet"]


def test_summary_rows_agree_with_the_unit_rows(tmp_path, classifier):
    docs = articles(10) + [{"id": "empty", "text": ""}]
    out, summary = tmp_path / "out.jsonl", tmp_path / "docs.jsonl"
    classify_archive(classifier, [write_jsonl(tmp_path / "in.jsonl", docs)], out, summary=summary)
    rows, per_doc = list(read_rows(out)), list(read_rows(summary))
    assert [s["doc_id"] for s in per_doc] == [d["id"] for d in docs]
    for s in per_doc:
        mine = [r for r in rows if r["doc_id"] == s["doc_id"]]
        assert s["units"] == len(mine)
        for label in classifier.labels:
            count = sum(label in r["labels"] for r in mine)
            assert s[f"count_{label}"] == count
            assert s[f"share_{label}"] == (round(count / len(mine), 6) if mine else 0.0)
    assert per_doc[0]["date"] == docs[0]["date"]
    assert per_doc[-1]["units"] == 0


def test_window_size_does_not_change_results(tmp_path, classifier):
    source = write_jsonl(tmp_path / "in.jsonl", articles(15))
    outputs = []
    for window in (1, 13, 100_000):
        out = tmp_path / f"w{window}.jsonl"
        classify_archive(classifier, [source], out, window=window)
        outputs.append(list(read_rows(out)))
    assert len(outputs[0]) > 50
    assert_same_rows(outputs[0], outputs[1])
    assert_same_rows(outputs[0], outputs[2])


def test_own_output_inside_the_input_folder_is_never_read(tmp_path, classifier):
    root = tmp_path / "archive"
    write_jsonl(root / "a.jsonl", articles(3))
    first = classify_archive(classifier, [root], root / "labels.jsonl", summary=root / "docs.jsonl")
    again = classify_archive(classifier, [root], root / "labels.jsonl", summary=root / "docs.jsonl")
    assert first.read == again.read == 3


# --------------------------------------------------------------------------- bad records

def bad_archive(root: Path) -> tuple[list[dict], int]:
    """Six good articles, four bad records (three kinds of file); returns the good ones."""
    docs = articles(6)
    lines = [json.dumps(docs[0]), json.dumps(docs[1]), '{"id": "cut", "text": "Kalimat',
             json.dumps(docs[2]), json.dumps({"id": "notext", "body": "x"})]
    (root / "a").mkdir(parents=True)
    (root / "a" / "one.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "b.csv").write_text(
        "id,text\n" + f'{docs[3]["id"]},"{docs[3]["text"]}"\n' + "x,too,many\n"
        + f'{docs[4]["id"]},"{docs[4]["text"]}"\n', encoding="utf-8")
    write_jsonl(root / "c.jsonl", [docs[5]])
    (root / "d.parquet").write_bytes(b"garbage, not parquet")
    return docs, 4


def test_skip_bad_sets_bad_records_aside_and_read_equals_classified_plus_rejected(tmp_path, classifier):
    pytest.importorskip("pyarrow")
    root = tmp_path / "archive"
    docs, n_bad = bad_archive(root)
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    stats = classify_archive(classifier, [root], out, rejects=rejects, window=8)
    assert stats.classified == len(docs) == 6 and stats.rejected == n_bad == 4
    assert stats.read == stats.classified + stats.rejected == 10
    assert [r["doc_id"] for r in read_rows(out) if r["sentence_index"] == 0] == [d["id"] for d in docs]
    bad = list(read_rows(rejects))
    csv_line = 3 + docs[3]["text"].count("\n")  # the good record before it spans several lines
    assert [(Path(r["file"]).name, r["line"], r["field"]) for r in bad] == [
        ("one.jsonl", 3, None), ("one.jsonl", 5, "text"), ("b.csv", csv_line, None),
        ("d.parquet", None, None)]
    assert bad[0]["reason"].startswith("invalid JSON") and bad[0]["record"] == '{"id": "cut", "text": "Kalimat'
    assert bad[1]["reason"] == "missing text"
    assert bad[2]["reason"] == "3 columns, the header has 2" and bad[2]["record"] == "x,too,many"
    assert bad[3]["reason"].startswith("cannot read the file")


def test_a_bad_record_stops_the_run_with_its_location_and_resume_continues_after_the_fix(
        tmp_path, classifier):
    docs = articles(6)
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(d) for d in docs]
    good = lines[2]
    lines[2] = '{"id": "cut", "text": "Kalimat'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputError) as info:
        classify_archive(classifier, [path], out)
    assert str(info.value).startswith(f"{path}:3: invalid JSON")
    state = json.loads(checkpoint_path(out).read_text())
    assert state["counts"] == {"read": 2, "classified": 2, "rejected": 0, "units": state["counts"]["units"],
                               "bytes_done": len(lines[0]) + len(lines[1]) + 2}
    assert not out.exists()
    lines[2] = good
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stats = classify_archive(classifier, [path], out, resume=True)
    assert (stats.read, stats.resumed_from) == (6, 2)
    reference = tmp_path / "reference.jsonl"
    classify_archive(classifier, [path], reference)
    assert_same_rows(list(read_rows(out)), list(read_rows(reference)))


# --------------------------------------------------------------------------- resume

def interrupted_then_resumed(classifier, inputs, out, after: int, **kw):
    def crash(stats):
        if stats.read >= after:
            raise Crash(f"killed after {stats.read} documents")

    with pytest.raises(Crash):
        classify_archive(classifier, inputs, out, on_commit=crash, **kw)
    assert checkpoint_path(out).is_file() and not out.exists()
    committed = json.loads(checkpoint_path(out).read_text())["counts"]["read"]
    assert 0 < committed
    # A kill rarely lands between two windows: add a half-written next window, longer
    # than everything still to come, so leftovers would show if it were not cut off.
    for target in [out] + [p for p in (kw.get("summary"), kw.get("rejects")) if p]:
        with open(partial_path(Path(target)), "ab") as handle:
            handle.write(b'{"doc_id": "uncommitted", "sentence_index": 0}\n' * 20_000
                         + b'{"doc_id": "half-written", "sentence_index": 0, "sta')
    stats = classify_archive(classifier, inputs, out, resume=True, **kw)
    assert stats.resumed_from == committed
    return stats


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_resume_after_an_interruption_writes_exactly_the_uninterrupted_output(tmp_path, classifier, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    root = tmp_path / "archive"
    bad_archive(root) if fmt == "parquet" else write_jsonl(root / "a.jsonl", articles(12))
    (root / "z.jsonl").write_text("\n".join(json.dumps(d) for d in articles(20)[12:]) + "\nnot json\n",
                                  encoding="utf-8")
    kw = dict(window=9)
    whole = tmp_path / "whole"
    ref = classify_archive(classifier, [root], whole / f"out.{fmt}", summary=whole / "docs.csv",
                           rejects=whole / "rejects.jsonl", **kw)
    again = tmp_path / "again"
    stats = interrupted_then_resumed(classifier, [root], again / f"out.{fmt}", after=7,
                                     summary=again / "docs.csv", rejects=again / "rejects.jsonl", **kw)
    assert (stats.read, stats.classified, stats.rejected, stats.units) == (
        ref.read, ref.classified, ref.rejected, ref.units)
    assert stats.read == stats.classified + stats.rejected
    for name in (f"out.{fmt}", "docs.csv", "rejects.jsonl"):
        assert (again / name).read_bytes() == (whole / name).read_bytes(), name
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in whole.iterdir())


def test_resume_is_refused_with_other_settings_and_needed_to_continue(tmp_path, classifier):
    source = write_jsonl(tmp_path / "in.jsonl", articles(10))
    out = tmp_path / "out.jsonl"

    def crash(stats):
        raise Crash()

    with pytest.raises(Crash):
        classify_archive(classifier, [source], out, window=5, on_commit=crash)
    with pytest.raises(WaspadaError, match="pass --resume"):
        classify_archive(classifier, [source], out, window=5)
    with pytest.raises(WaspadaError, match=r"other settings \(unit, window\)"):
        classify_archive(classifier, [source], out, window=6, unit="paragraph", resume=True)
    assert classify_archive(classifier, [source], out, window=5, resume=True).read == 10
    # --resume with nothing to resume starts afresh.
    fresh = tmp_path / "fresh.jsonl"
    assert classify_archive(classifier, [source], fresh, window=5, resume=True).resumed_from == 0
    assert fresh.read_bytes() == out.read_bytes()


def test_a_run_stopped_while_finalizing_finishes_on_resume(tmp_path, classifier, monkeypatch):
    source = write_jsonl(tmp_path / "in.jsonl", articles(5))
    out, summary = tmp_path / "out.jsonl", tmp_path / "docs.csv"
    classify_archive(classifier, [source], tmp_path / "ref.jsonl", summary=tmp_path / "ref.csv")
    real = archive_module.finalize
    calls = []

    def finalize_then_die(partial, target, template=None, **kw):
        calls.append(target)
        if len(calls) == 2:
            raise Crash("killed while converting the summary")
        return real(partial, target, template, **kw)

    monkeypatch.setattr(archive_module, "finalize", finalize_then_die)
    with pytest.raises(Crash):
        classify_archive(classifier, [source], out, summary=summary)
    assert out.exists() and not summary.exists()
    monkeypatch.setattr(archive_module, "finalize", real)
    stats = classify_archive(classifier, [source], out, summary=summary, resume=True)
    assert stats.read == 5 and not checkpoint_path(out).exists()
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    assert summary.read_bytes() == (tmp_path / "ref.csv").read_bytes()


def test_progress_bar_reports_documents_and_speed(tmp_path, classifier, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", articles(4))
    classify_archive(classifier, [source], tmp_path / "out.jsonl", progress=True, window=4)
    err = capsys.readouterr().err
    assert "classify" in err and "4 docs" in err and "sentences/s" in err
