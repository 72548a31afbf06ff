"""Shared fixtures: a small labeled corpus and a tiny but real model trained on it.

The model is a 2-layer BERT with a WordPiece vocabulary trained on the fixture text,
saved with ``save_pretrained`` and loaded back through the code users run. Nothing is
mocked and nothing comes from a hub.
"""

from __future__ import annotations

import json
import re
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
SHARED_SEED = REPO.parent / "shared" / "seed"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def first_documents(rows: list[dict], n_docs: int) -> list[dict]:
    keep: list[str] = []
    for row in rows:
        if row["doc_id"] not in keep:
            if len(keep) == n_docs:
                continue
            keep.append(row["doc_id"])
    chosen = set(keep)
    return [r for r in rows if r["doc_id"] in chosen]


def corpus_articles(limit: int | None = None, *, region: bool = True) -> list[dict]:
    """Whole articles rebuilt from the bundled dev split: sentences joined, a blank line
    between paragraphs of three sentences, string metadata carried along."""
    path = DATA / "dev.jsonl"
    if not path.is_file():
        pytest.skip("bundled corpus data/dev.jsonl missing")
    by_doc: dict[str, list[dict]] = {}
    for row in read_jsonl(path):
        by_doc.setdefault(row["doc_id"], []).append(row)
    docs = []
    for n, (doc_id, rows) in enumerate(sorted(by_doc.items())):
        sentences = [r["text"] for r in sorted(rows, key=lambda r: r["sent_index"])]
        paragraphs = [" ".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3)]
        doc = {"id": doc_id, "text": "\n\n".join(paragraphs), "date": f"2024-11-{1 + n % 28:02d}",
               "source": rows[0]["source_type"]}
        if region:
            doc["region"] = rows[0]["province"]
        docs.append(doc)
    return docs[:limit]


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> dict[str, Path]:
    """Whole documents taken from the bundled corpus: ~60 train, 12 dev, 12 test."""
    for name in ("train", "dev", "test"):
        if not (DATA / f"{name}.jsonl").is_file():
            pytest.skip(f"bundled corpus data/{name}.jsonl missing")
    out = tmp_path_factory.mktemp("corpus")
    sizes = {"train": 60, "dev": 12, "test": 12}
    # Documents of the original six writers only, so the fixture (and the tiny model and
    # tolerances built on it) stays the same when documents are added to the corpus:
    # new writers' ids (w7...w12) would otherwise sort in among the first documents.
    original = re.compile(r"w[1-6]-")
    return {name: write_jsonl(out / f"{name}.jsonl", first_documents(
                [r for r in read_jsonl(DATA / f"{name}.jsonl") if original.match(r["doc_id"])], n))
            for name, n in sizes.items()}


def tiny_overrides(corpus: dict[str, Path], output_dir: Path, **extra) -> list[str]:
    """``--set`` lines that point configs/tiny.yaml at a fixture corpus, made smaller still."""
    settings = {
        "data.train": corpus["train"], "data.dev": corpus["dev"], "data.test": corpus["test"],
        "training.output_dir": output_dir, "training.epochs": 6, "training.learning_rate": 1e-3, "training.threads": 2,
        "model.scratch_hidden_size": 64, "model.scratch_vocab_size": 1500, "model.max_length": 64,
    }
    settings.update(extra)
    return [f"{key}={value}" for key, value in settings.items()]


@pytest.fixture(scope="session")
def tiny_model(small_corpus, tmp_path_factory) -> Path:
    """A tiny model trained once per test session through the real training code."""
    from waspada.train.config import load_config
    from waspada.train.trainer import train

    out = tmp_path_factory.mktemp("model") / "tiny"
    config = load_config(REPO / "configs" / "tiny.yaml", tiny_overrides(small_corpus, out))
    train(config, show_progress=False)
    return out
