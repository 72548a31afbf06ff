"""ONNX back ends: export, parity with torch, int8 agreement, errors, atomicity.

Everything runs on the session's tiny model (a real 2-layer BERT trained through the
project code), copied per test module so exports never touch the shared fixture.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from waspada.inference import Classifier, ModelFolderError, WaspadaError

HAVE_ORT = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))
needs_ort = pytest.mark.skipif(not HAVE_ORT, reason="onnxruntime/onnx not installed "
                                                    "(pip install 'waspada[onnx]')")

FP32_TOLERANCE = 1e-4


def copy_model(src: Path, dst: Path, *, with_export: bool = False) -> Path:
    ignore = None if with_export else shutil.ignore_patterns("onnx")
    shutil.copytree(src, dst, ignore=ignore)
    return dst


def dev_texts(small_corpus) -> list[str]:
    rows = [json.loads(line) for line in small_corpus["dev"].read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [r["text"] for r in rows]


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory) -> Path:
    """A copy of the tiny model with both ONNX graphs exported."""
    if not HAVE_ORT:
        pytest.skip("onnxruntime/onnx not installed")
    from waspada.inference.onnx_backend import export_onnx

    folder = copy_model(tiny_model, tmp_path_factory.mktemp("onnx") / "model")
    result = export_onnx(folder, quantize="int8")
    assert result.written == ["fp32", "int8"]
    return folder


@pytest.fixture(scope="module")
def torch_scores(exported, small_corpus) -> np.ndarray:
    return Classifier.load(exported, backend="torch", batch_size=64).predict_proba(dev_texts(small_corpus))


# ------------------------------------------------------------------------- the files


@needs_ort
def test_export_writes_both_graphs_with_dynamic_axes(exported):
    import onnx

    labels = json.loads((exported / "waspada.json").read_text())["labels"]
    for name in ("model.onnx", "model-int8.onnx"):
        graph = onnx.load(str(exported / "onnx" / name)).graph
        inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
                  for i in graph.input}
        assert inputs == {"input_ids": ["batch", "sequence"], "attention_mask": ["batch", "sequence"]}
        (output,) = graph.output
        assert output.name == "logits"
        assert [d.dim_param or d.dim_value for d in output.type.tensor_type.shape.dim] == ["batch", len(labels)]
    manifest = json.loads((exported / "onnx" / "export.json").read_text())
    assert set(manifest["variants"]) == {"fp32", "int8"}
    assert manifest["variants"]["fp32"]["max_abs_logit_diff"] <= 1e-4
    assert set(manifest["source"]) >= {"config.json", "model.safetensors"}
    assert not list((exported / "onnx").glob(".tmp-export-*"))


# ------------------------------------------------------------------------- parity


@needs_ort
@pytest.mark.parametrize("batch_size", [1, 3, 16, 64])
def test_fp32_scores_match_torch_across_batch_sizes(exported, small_corpus, torch_scores, batch_size):
    clf = Classifier.load(exported, backend="onnx", batch_size=batch_size)
    scores = clf.predict_proba(dev_texts(small_corpus))
    assert scores.shape == torch_scores.shape and scores.dtype == np.float32
    assert np.abs(scores - torch_scores).max() <= FP32_TOLERANCE
    assert (clf.decide(scores) == clf.decide(torch_scores)).all()


@needs_ort
def test_fp32_scores_match_torch_across_sequence_lengths(exported, small_corpus):
    """From an empty text (2 tokens) to one truncated at max_length, alone and mixed."""
    texts = dev_texts(small_corpus)
    long_text = " ".join(texts[:12])  # far beyond max_length: truncated
    probe = ["", "Ya.", texts[0], texts[0] + " " + texts[1], long_text]
    torch_clf = Classifier.load(exported, backend="torch")
    onnx_clf = Classifier.load(exported, backend="onnx")
    lengths = {len(ids) for ids in onnx_clf.backend.tokenize(probe)}
    assert min(lengths) == 2 and max(lengths) == onnx_clf.metadata.max_length
    for batch_size in (1, 2, 5):  # each alone, in pairs of different lengths, all padded together
        torch_clf.backend.batch_size = onnx_clf.backend.batch_size = batch_size
        diff = np.abs(onnx_clf.predict_proba(probe) - torch_clf.predict_proba(probe)).max()
        assert diff <= FP32_TOLERANCE, (batch_size, diff)


@needs_ort
def test_onnx_classifier_output_is_the_torch_output(exported):
    onnx_pred = Classifier.load(exported, backend="onnx").predict(["Patroli malam ditambah."])[0]
    torch_pred = Classifier.load(exported, backend="torch").predict(["Patroli malam ditambah."])[0]
    assert onnx_pred.labels == torch_pred.labels
    assert list(onnx_pred.scores) == list(torch_pred.scores)
    assert onnx_pred.scores == pytest.approx(torch_pred.scores, abs=FP32_TOLERANCE)
    assert Classifier.load(exported, backend="onnx").predict_proba([]).shape == (0, len(onnx_pred.scores))


@needs_ort
def test_int8_agrees_with_torch_through_evaluate(exported, small_corpus):
    from waspada.train.evaluate import evaluate

    result = evaluate(exported, small_corpus["dev"], backend="onnx-int8", compare_backend="torch")
    c = result.comparison
    assert result.metrics["backend"] == "onnx-int8" and c["backend"] == "torch"
    assert c["label_agreement"] >= 0.99, c
    assert abs(c["macro_f1_change"]) <= 0.01, c
    assert 0 < c["max_abs_score_diff"] < 0.05, c  # quantized: close, but not the fp32 graph


@needs_ort
def test_int8_agrees_with_torch_through_the_cli(exported, small_corpus, capsys):
    from waspada.cli import main

    assert main(["evaluate", "--model", str(exported), "--data", str(small_corpus["dev"]),
                 "--backend", "onnx-int8", "--compare-backend", "torch"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"vs torch: label agreement ([0-9.]+), max \|score diff\| ([0-9.e+-]+), "
                      r"macro-F1 change ([+-][0-9.]+)", out)
    assert found, out
    agreement, _, change = map(float, found.groups())
    assert agreement >= 0.99 and abs(change) <= 0.01


@needs_ort
def test_threads_option_sets_intra_op_threads(exported):
    from waspada.inference.backends import default_threads

    one = Classifier.load(exported, backend="onnx-int8", threads=1).backend
    assert one.session.get_session_options().intra_op_num_threads == 1
    assert one.session.get_session_options().inter_op_num_threads == 1
    default = Classifier.load(exported, backend="onnx").backend
    assert default.threads == default_threads()
    assert default.session.get_session_options().intra_op_num_threads == default_threads()


# ------------------------------------------------------------------------- export behaviour


@needs_ort
def test_export_is_idempotent_and_force_rebuilds(exported):
    from waspada.inference.onnx_backend import export_onnx

    files = [exported / "onnx" / n for n in ("model.onnx", "model-int8.onnx", "export.json")]
    before = [(p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in files]
    again = export_onnx(exported, quantize="int8")
    assert again.written == []
    assert [(p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in files] == before
    assert export_onnx(exported).written == []  # fp32 only asked: the int8 twin stays
    assert (exported / "onnx" / "model-int8.onnx").is_file()
    forced = export_onnx(exported, force=True)
    assert forced.written == ["fp32"]
    assert files[0].stat().st_ino != before[0][0]  # a new file renamed over the old one
    assert files[1].read_bytes() == before[1][2]  # same weights: the int8 twin is kept
    assert set(forced.manifest["variants"]) == {"fp32", "int8"}


@needs_ort
def test_failed_export_leaves_the_old_one_in_place(exported, tmp_path, monkeypatch):
    from waspada.inference import onnx_backend

    folder = copy_model(exported, tmp_path / "model", with_export=True)
    names = ("model.onnx", "model-int8.onnx", "export.json")
    before = {n: (folder / "onnx" / n).read_bytes() for n in names}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while quantizing")

    monkeypatch.setattr(onnx_backend, "_quantize", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        onnx_backend.export_onnx(folder, quantize="int8", force=True)
    assert {n: (folder / "onnx" / n).read_bytes() for n in names} == before
    assert not list((folder / "onnx").glob(".tmp-export-*"))
    assert Classifier.load(folder, backend="onnx-int8").predict_proba(["Patroli."]).shape == (1, 4)


@needs_ort
def test_cli_export_then_classify(tiny_model, tmp_path, capsys):
    from waspada.cli import main

    folder = copy_model(tiny_model, tmp_path / "model")
    assert main(["export", "--model", str(folder), "--format", "onnx"]) == 0
    out = capsys.readouterr().out
    assert "model.onnx" in out and "written" in out
    assert (folder / "onnx" / "model.onnx").is_file()
    assert not (folder / "onnx" / "model-int8.onnx").exists()
    with pytest.raises(ModelFolderError, match=r"waspada export --model .* --format onnx --quantize int8"):
        Classifier.load(folder, backend="onnx-int8")
    assert main(["export", "--model", str(folder), "--format", "onnx", "--quantize", "int8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"model\.onnx \([0-9.]+ MB\): up to date", out), out
    assert re.search(r"model-int8\.onnx \([0-9.]+ MB\): written", out), out
    assert Classifier.load(folder, backend="onnx-int8").predict(["Patroli malam."])[0].scores


@needs_ort
def test_large_model_path_writes_external_data(tiny_model, tmp_path, monkeypatch):
    """Graphs over 2 GiB keep weights in a side file; forced here on the tiny model."""
    from waspada.inference import onnx_backend

    monkeypatch.setattr(onnx_backend, "_EXTERNAL_DATA_BYTES", 0)
    folder = copy_model(tiny_model, tmp_path / "model")
    onnx_backend.export_onnx(folder, quantize="int8")
    assert (folder / "onnx" / "model.onnx.data").is_file()
    assert (folder / "onnx" / "model-int8.onnx.data").is_file()
    assert sorted(p.name for p in (folder / "onnx").iterdir() if not p.name.startswith(".")) == [
        "export.json", "model-int8.onnx", "model-int8.onnx.data", "model.onnx", "model.onnx.data"]
    texts = ["Patroli malam ditambah.", "Warga diimbau menjaga netralitas selama kampanye."]
    diff = np.abs(Classifier.load(folder, backend="onnx").predict_proba(texts)
                  - Classifier.load(folder, backend="torch").predict_proba(texts)).max()
    assert diff <= FP32_TOLERANCE
    assert Classifier.load(folder, backend="onnx-int8").predict_proba(texts).shape == (2, 4)


@needs_ort
def test_dynamo_exporter_takes_over_when_torchscript_fails(tiny_model, small_corpus, tmp_path, monkeypatch):
    import torch

    from waspada.inference.onnx_backend import export_onnx

    real_export = torch.onnx.export

    def without_torchscript(*args, **kwargs):
        if kwargs.get("dynamo") is False:
            raise RuntimeError("the TorchScript exporter is gone")
        return real_export(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", without_torchscript)
    folder = copy_model(tiny_model, tmp_path / "model")
    result = export_onnx(folder)
    assert result.manifest["variants"]["fp32"]["exporter_used"] == "dynamo"
    texts = dev_texts(small_corpus)
    for batch_size in (1, 64):
        diff = np.abs(Classifier.load(folder, backend="onnx", batch_size=batch_size).predict_proba(texts)
                      - Classifier.load(folder, backend="torch").predict_proba(texts)).max()
        assert diff <= FP32_TOLERANCE


# ------------------------------------------------------------------------- errors


def test_missing_export_says_to_run_waspada_export(tiny_model, tmp_path):
    folder = copy_model(tiny_model, tmp_path / "model")
    if not HAVE_ORT:
        pytest.skip("onnxruntime/onnx not installed")
    with pytest.raises(ModelFolderError, match=r"no ONNX export .*`waspada export --model .* --format onnx`"):
        Classifier.load(folder, backend="onnx")


def test_missing_onnxruntime_says_how_to_install(tiny_model, tmp_path, monkeypatch):
    import sys

    folder = copy_model(tiny_model, tmp_path / "model")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    for backend in ("onnx", "onnx-int8"):
        with pytest.raises(WaspadaError, match=re.escape("pip install 'waspada[onnx]'")):
            Classifier.load(folder, backend=backend)
    from waspada.inference.onnx_backend import export_onnx

    with pytest.raises(WaspadaError, match=re.escape("pip install 'waspada[onnx]'")):
        export_onnx(folder)


@needs_ort
def test_export_of_other_weights_is_refused_until_reexported(exported, tmp_path):
    from safetensors.numpy import load_file, save_file

    from waspada.inference.onnx_backend import export_onnx

    # A copy with fresh mtimes but the same bytes still loads (re-hashed once).
    copied = tmp_path / "copied"
    shutil.copytree(exported, copied, copy_function=shutil.copy)
    assert Classifier.load(copied, backend="onnx").predict_proba(["Patroli."]).shape == (1, 4)
    # Exporting the copy rebuilds nothing; it records the new mtimes (no re-hash per load).
    manifest_before = json.loads((copied / "onnx" / "export.json").read_text())
    assert export_onnx(copied, quantize="int8").written == []
    manifest_after = json.loads((copied / "onnx" / "export.json").read_text())
    assert manifest_after["variants"] == manifest_before["variants"]
    assert manifest_after["source"]["model.safetensors"]["mtime_ns"] == \
        (copied / "model.safetensors").stat().st_mtime_ns
    # Retrained in place (here: one weight changed): the old graphs must not answer.
    weights = load_file(copied / "model.safetensors")
    name = next(k for k in weights if k.startswith("classifier"))
    weights[name] = weights[name] + 0.5
    save_file(weights, copied / "model.safetensors", metadata={"format": "pt"})
    for backend in ("onnx", "onnx-int8"):
        with pytest.raises(ModelFolderError, match="other weights .* re-export"):
            Classifier.load(copied, backend=backend)
    result = export_onnx(copied)
    assert result.written == ["fp32"]
    assert not (copied / "onnx" / "model-int8.onnx").exists()  # the stale twin is gone
    clf = Classifier.load(copied, backend="onnx")
    diff = np.abs(clf.predict_proba(["Patroli."]) - Classifier.load(copied).predict_proba(["Patroli."]))
    assert diff.max() <= FP32_TOLERANCE


@needs_ort
def test_baseline_folder_is_not_exported(tmp_path):
    from waspada.inference.metadata import ModelMetadata
    from waspada.inference.onnx_backend import export_onnx

    ModelMetadata(labels=["a"], thresholds=[0.5], kind="tfidf").save(tmp_path)
    with pytest.raises(ModelFolderError, match="tfidf model; only fine-tuned encoders"):
        export_onnx(tmp_path)
