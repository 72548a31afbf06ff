"""data/make_splits.py: kept documents stay put; new ones fill shares or go where told."""

import subprocess
import sys

from conftest import REPO, read_jsonl, write_jsonl

SCRIPT = REPO / "data" / "make_splits.py"
WORDS = ("patroli penjagaan tps gudang logistik kampanye netralitas hoaks bentrok warga desa "
         "kecamatan relawan saksi rekapitulasi pleno spanduk baliho jadwal personel").split()


def _doc(doc_id: str, n: int, split: str | None, salt: int) -> list[dict]:
    rows = []
    for k in range(n):
        # distinct word sets, so no two sentences are near-duplicates
        words = [WORDS[(salt * 7 + k * 3 + j * j) % len(WORDS)] + str(salt * 10 + k) for j in range(6)]
        row = {"id": f"{doc_id}-s{k}", "doc_id": doc_id, "sent_index": k,
               "text": " ".join(words) + ".", "labels": []}
        if split:
            row["split"] = split
        rows.append(row)
    return rows


def _run(tmp_path, *extra):
    old = [*_doc("a1", 3, "train", 1), *_doc("a2", 3, "train", 2), *_doc("b1", 2, "dev", 3),
           *_doc("c1", 2, "test", 4)]
    new = [row for i in range(10) for row in _doc(f"n{i}", 2, None, 10 + i)]
    write_jsonl(tmp_path / "old.jsonl", old)
    write_jsonl(tmp_path / "new.jsonl", new)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "old.jsonl"), str(tmp_path / "new.jsonl"),
                           "--out", str(out), *extra], capture_output=True, text=True, cwd=REPO)
    return done, out


def _docs(out, split):
    return {r["doc_id"] for r in read_jsonl(out / f"{split}.jsonl")}


def test_keep_existing_fills_every_split(tmp_path):
    done, out = _run(tmp_path, "--keep-existing")
    assert done.returncode == 0, done.stderr
    assert {"a1", "a2"} <= _docs(out, "train") and "b1" in _docs(out, "dev") and "c1" in _docs(out, "test")
    new_in_held_out = (_docs(out, "dev") | _docs(out, "test")) - {"b1", "c1"}
    assert new_in_held_out  # shares are filled from the new documents


def test_new_to_train_leaves_dev_and_test_unchanged(tmp_path):
    done, out = _run(tmp_path, "--keep-existing", "--new-to", "train")
    assert done.returncode == 0, done.stderr
    assert _docs(out, "dev") == {"b1"} and _docs(out, "test") == {"c1"}
    assert _docs(out, "train") == {"a1", "a2", *(f"n{i}" for i in range(10))}
    assert all(r["split"] == "train" for r in read_jsonl(out / "train.jsonl"))


def test_new_to_needs_keep_existing(tmp_path):
    done, _ = _run(tmp_path, "--new-to", "train")
    assert done.returncode != 0 and "--new-to needs --keep-existing" in done.stderr


def test_output_is_deterministic(tmp_path):
    outputs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        done, out = _run(tmp_path / name, "--keep-existing")
        assert done.returncode == 0, done.stderr
        outputs.append([(out / f"{split}.jsonl").read_text() for split in ("train", "dev", "test")])
    assert outputs[0] == outputs[1]
