"""A small BERT built from scratch, for tests, CI and machines with no hub.

The WordPiece vocabulary is counted from the training sentences (deterministically, see
:func:`wordpiece_vocabulary`) and served by ``tokenizers``' WordPiece model, the
weights are randomly initialised from a :class:`~transformers.BertConfig`, and the
result is written with ``save_pretrained`` so it is loaded back through exactly the
code path a hub checkpoint takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from waspada.inference.hf_quiet import quiet_transformers

from .config import ModelConfig

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wordpiece_vocabulary(texts: Sequence[str], vocab_size: int, normalize, pre_tokenize) -> list[str]:
    """A WordPiece vocabulary chosen by counting, deterministically.

    ``tokenizers``' WordPiece trainer breaks ties between equally frequent merges in hash
    order, so two runs on the same text can differ; a seeded run must not. This picks,
    with ties broken alphabetically: every character (word-initial and ``##``
    continuation), then the most frequent word-initial prefixes and ``##`` suffixes of 2-5
    characters (Indonesian affixes: meng-, ber-, -kan, -nya) interleaved with the most
    frequent whole words, until ``vocab_size``.
    """
    from collections import Counter

    words: Counter[str] = Counter()
    for text in texts:
        words.update(word for word, _ in pre_tokenize(normalize(text)))
    chars = sorted({c for word in words for c in word})
    pieces: Counter[str] = Counter()
    for word, count in words.items():
        for n in range(2, min(5, len(word) - 1) + 1):
            pieces[word[:n]] += count
            pieces["##" + word[-n:]] += count
    vocab = list(SPECIAL_TOKENS) + chars + ["##" + c for c in chars]
    seen = set(vocab)
    ranked_words = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
    ranked_pieces = sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0]))
    for word_entry, piece_entry in zip(ranked_words, ranked_pieces + [("", 0)] * len(ranked_words)):
        for entry, _ in (word_entry, piece_entry):
            if len(vocab) >= vocab_size:
                return vocab
            if entry and entry not in seen:
                seen.add(entry)
                vocab.append(entry)
    return vocab


def train_wordpiece(texts: Sequence[str], vocab_size: int):
    """A lower-casing WordPiece tokenizer (``PreTrainedTokenizerFast``) fitted on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocab = wordpiece_vocabulary(texts, vocab_size, normalizer.normalize_str,
                                 pre_tokenizer.pre_tokenize_str)
    tokenizer = Tokenizer(models.WordPiece({piece: i for i, piece in enumerate(vocab)},
                                           unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def build_scratch_bert(out_dir: Path, texts: Sequence[str], model: ModelConfig) -> Path:
    """Write a randomly initialised BERT encoder and its tokenizer to ``out_dir``.

    Initialisation follows the global torch seed, so the caller's seed controls it.
    """
    from transformers import BertConfig, BertModel

    tokenizer = train_wordpiece(texts, model.scratch_vocab_size)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=model.scratch_hidden_size,
        num_hidden_layers=model.scratch_layers,
        num_attention_heads=model.scratch_heads,
        intermediate_size=model.scratch_hidden_size * 4,
        max_position_embeddings=max(512, model.max_length),
        pad_token_id=tokenizer.pad_token_id,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():  # a bar for writing a few MB is noise
        BertModel(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
