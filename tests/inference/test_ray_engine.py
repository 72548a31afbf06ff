"""The Ray engine writes what the local engine writes: same rows, summaries, rejects and
counts, on a real (tiny, trained) model and a local Ray with 2 CPUs."""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_articles

from waspada.inference import Classifier
from waspada.inference.archive import classify_archive
from waspada.inference.errors import InputError, WaspadaError
from waspada.inference.ray_engine import classify_archive_ray
from waspada.inference.writers import read_rows

REPO = Path(__file__).resolve().parents[2]
RAY_KW = dict(workers=2, threads=1, batch_size=16, docs_per_batch=3, docs_per_part=4)
# Skips before any fixture is built (the session's tiny model is built before module fixtures).
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None or importlib.util.find_spec("pyarrow") is None,
                               reason="the ray extra is not installed (pip install 'waspada[ray]')")


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray with 2 CPUs for the module (the engine uses it and leaves it running)."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    pytest.importorskip("pyarrow")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def classifier(tiny_model) -> Classifier:
    return Classifier.load(tiny_model, batch_size=16, threads=2)


def articles(limit: int) -> list[dict]:
    return corpus_articles(limit, region=False)


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def fixture_archive(root: Path) -> Path:
    """Four formats, nested folders, carried fields whose types differ between files
    (``views``: int, then float; ``tags``: a list, then a string; ``url`` only late),
    an empty document and four bad records."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    docs = articles(12)
    (root / "a").mkdir(parents=True)
    (root / "a" / "one.jsonl").write_text(
        jsonl([docs[0], {**docs[1], "views": 3}]) + '{"id": "cut", "text": "Kalimat\n'
        + jsonl([docs[2], {"id": "notext", "body": "x"}]), encoding="utf-8")
    with open(root / "b.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "date"])
        writer.writerow([docs[3]["id"], docs[3]["text"], docs[3]["date"]])
        writer.writerow(["x", "too", "many", "columns"])
        writer.writerow([docs[4]["id"], docs[4]["text"], docs[4]["date"]])
    pq.write_table(pa.Table.from_pylist([{**d, "views": 1.5 + n, "tags": ["pilkada", "tps"]}
                                         for n, d in enumerate(docs[5:9])]), root / "c.parquet")
    (root / "d.jsonl").write_text(jsonl([{**docs[9], "tags": "satu"}, {"id": "empty", "text": "  "},
                                         {**docs[10], "url": "https://example.org/x"}]), encoding="utf-8")
    (root / "txt").mkdir()
    (root / "txt" / "e.txt").write_text(docs[11]["text"], encoding="utf-8")
    (root / "z.parquet").write_bytes(b"not parquet at all")
    return root


def scores_of(row: dict) -> np.ndarray:
    return np.array([v for k, v in row.items() if k.startswith("score_")], dtype=float)


def assert_same_rows(ray_rows: list[dict], local_rows: list[dict], tol: float = 1e-5) -> None:
    assert len(ray_rows) == len(local_rows)
    for a, b in zip(ray_rows, local_rows):
        assert list(a) == list(b)  # same columns, same order
        assert {k: v for k, v in a.items() if not k.startswith("score_")} == \
               {k: v for k, v in b.items() if not k.startswith("score_")}
        assert np.abs(scores_of(a) - scores_of(b)).max() <= tol


def part_rows(folder: Path, ext: str) -> list[dict]:
    parts = sorted(folder.iterdir())
    assert parts and all(p.name.startswith("part-") and p.suffix == ext for p in parts), parts
    return [row for part in parts for row in read_rows(part)]


def counts(stats) -> tuple:
    return stats.read, stats.classified, stats.rejected, stats.units, stats.bytes_done


@needs_ray
def test_ray_engine_writes_the_local_engines_rows_rejects_and_counts(tmp_path, tiny_model, classifier,
                                                                     ray_local, monkeypatch):
    import pyarrow.parquet as pq

    root = fixture_archive(tmp_path / "archive")
    local, ray_dir = tmp_path / "local", tmp_path / "ray"
    ref = classify_archive(classifier, [root], local / "out.parquet", summary=local / "docs.jsonl",
                           rejects=local / "rejects.jsonl")
    ref_jsonl = classify_archive(classifier, [root], local / "out.jsonl", summary=local / "docs.parquet",
                                 rejects=local / "rejects-2.jsonl")
    assert counts(ref)[:3] == (17, 13, 4)

    # Parquet rows, JSONL summaries, rejects in one JSONL file.
    stats = classify_archive_ray(tiny_model, [root], ray_dir / "out.parquet", summary=ray_dir / "docs.jsonl",
                                 skip_bad=ray_dir / "rejects.jsonl", **RAY_KW)
    assert counts(stats) == counts(ref)
    assert stats.read == stats.classified + stats.rejected
    schema = pq.read_schema(local / "out.parquet")
    parts = sorted((ray_dir / "out.parquet").iterdir())
    assert len(parts) > 1  # several parts, one schema: the local file's
    for part in parts:
        assert pq.read_schema(part).equals(schema, check_metadata=False), part.name
    assert schema.field("views").type == "double" and str(schema.field("tags").type) == "string"
    local_rows = list(read_rows(local / "out.parquet"))
    assert_same_rows(part_rows(ray_dir / "out.parquet", ".parquet"), local_rows)
    assert part_rows(ray_dir / "docs.jsonl", ".jsonl") == list(read_rows(local / "docs.jsonl"))
    assert (ray_dir / "rejects.jsonl").read_bytes() == (local / "rejects.jsonl").read_bytes()
    assert len({r["doc_id"] for r in local_rows}) == 12  # "empty" has no sentence

    # JSONL rows, Parquet summaries, rejects as a folder (an earlier run's parts are replaced);
    # one worker with two threads; output paths relative to the working directory.
    (ray_dir / "rejects").mkdir()
    (ray_dir / "rejects" / "part-00007.jsonl").write_text("stale\n")
    monkeypatch.chdir(tmp_path)
    again = classify_archive_ray(tiny_model, [root], Path("ray/out.jsonl"), summary="ray/docs.parquet",
                                 skip_bad="ray/rejects", **{**RAY_KW, "workers": 1, "threads": 2})
    assert counts(again) == counts(ref_jsonl)
    assert_same_rows(part_rows(ray_dir / "out.jsonl", ".jsonl"), list(read_rows(local / "out.jsonl")))
    summary_schema = pq.read_schema(local / "docs.parquet")
    for part in (ray_dir / "docs.parquet").iterdir():
        assert pq.read_schema(part).equals(summary_schema, check_metadata=False)
    assert part_rows(ray_dir / "docs.parquet", ".parquet") == list(read_rows(local / "docs.parquet"))
    assert part_rows(ray_dir / "rejects", ".jsonl") == list(read_rows(local / "rejects.jsonl"))
    assert not [p for p in ray_dir.iterdir() if p.name.startswith(".")]  # no staging left


@needs_ray
def test_a_bad_record_stops_the_run_with_its_location(tmp_path, tiny_model, ray_local):
    docs = articles(3)
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl(docs[:2]) + '{"id": "cut", "text": "Kalimat\n' + jsonl(docs[2:]), encoding="utf-8")
    out = tmp_path / "out" / "labels.parquet"
    with pytest.raises(InputError) as info:
        classify_archive_ray(tiny_model, [path], out, **RAY_KW)
    assert str(info.value).startswith(f"{path}:3: invalid JSON")
    assert info.value.rejected.line == 3  # the CLI's --skip-bad hint keys on this
    assert not out.exists() and list(out.parent.iterdir()) == []  # no partial output, no staging


@needs_ray
def test_arguments_the_ray_engine_cannot_take_fail_before_ray_starts(tmp_path, tiny_model):
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(articles(1)), encoding="utf-8")
    with pytest.raises(WaspadaError, match="folder of Parquet"):
        classify_archive_ray(tiny_model, [source], tmp_path / "out.csv")
    with pytest.raises(WaspadaError, match="unknown backend 'nope'"):
        classify_archive_ray(tiny_model, [source], tmp_path / "out", backend="nope")
    with pytest.raises(WaspadaError, match="stdin"):
        classify_archive_ray(tiny_model, ["-"], tmp_path / "out")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(WaspadaError, match="other files than part files"):
        classify_archive_ray(tiny_model, [source], tmp_path / "busy")


def test_without_ray_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(WaspadaError, match=r"pip install 'waspada\[ray\]'"):
        classify_archive_ray(tmp_path, [tmp_path], tmp_path / "out.parquet")


@needs_ray
def test_cli_engine_ray_matches_local(ray_local, tiny_model, tmp_path):
    """`waspada classify --engine ray` is a thin layer over classify_archive_ray."""
    import json as _json

    from waspada.cli import main

    archive = tmp_path / "in.jsonl"
    archive.write_text("".join(_json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate([
        "Kapolres memerintahkan patroli. Warga diimbau menolak politik uang.",
        "ASN wajib netral selama Pilkada. Harga cabai naik."])), encoding="utf-8")
    assert main(["classify", str(archive), "--model", str(tiny_model), "--output",
                 str(tmp_path / "local.jsonl"), "--no-progress"]) == 0
    assert main(["classify", str(archive), "--model", str(tiny_model), "--output",
                 str(tmp_path / "ray.jsonl"), "--engine", "ray", "--workers", "1", "--threads", "1",
                 "--no-progress"]) == 0
    local = [_json.loads(l) for l in (tmp_path / "local.jsonl").read_text().splitlines()]
    parts = sorted((tmp_path / "ray.jsonl").glob("part-*.jsonl"))
    ray_rows = [_json.loads(l) for p in parts for l in p.read_text().splitlines()]
    assert [(r["doc_id"], r["sentence_index"], r["labels"]) for r in ray_rows] == \
        [(r["doc_id"], r["sentence_index"], r["labels"]) for r in local]
    assert main(["classify", str(archive), "--model", str(tiny_model), "--output",
                 str(tmp_path / "x.jsonl"), "--engine", "ray", "--resume"]) == 1
