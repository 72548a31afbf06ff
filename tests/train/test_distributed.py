"""Training under two CPU processes (gloo): one model folder, metrics reported once."""

import json
import math
import subprocess
import sys

from conftest import REPO, tiny_overrides
from waspada.inference import Classifier, ModelMetadata


def test_two_process_training(small_corpus, tmp_path):
    # torchrun is the launcher accelerate itself uses for GPUs; on CPUs `accelerate launch`
    # needs MPI for more than one process, torchrun does not.
    out = tmp_path / "ddp"
    overrides = tiny_overrides(small_corpus, out, **{"training.epochs": 2, "training.threads": 1})
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "waspada"]
    command += ["train", "--config", str(REPO / "configs" / "tiny.yaml"), "--no-progress"]
    for item in overrides:
        command += ["--set", item]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("model written to") == 1, done.stdout
    assert done.stdout.count("dev : macro-F1") == 1
    meta = ModelMetadata.load(out)
    history = json.loads((out / "training-history.json").read_text())
    # Each process saw half the batches: steps per epoch are about half of a single run's.
    n_train = sum(1 for _ in open(small_corpus["train"], encoding="utf-8"))
    assert history[0]["step"] == math.ceil(math.ceil(n_train / 16) / 2)
    assert meta.metrics["dev"]["n"] == sum(1 for _ in open(small_corpus["dev"], encoding="utf-8"))
    scores = Classifier.load(out).predict_proba(["Polri menambah personel pengamanan di TPS rawan."])
    assert scores.shape == (1, 4)
