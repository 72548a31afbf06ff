"""A small BERT built from scratch, for tests, CI and machines with no hub.

The WordPiece vocabulary is trained with ``tokenizers`` on the training sentences, the
weights are randomly initialised from a :class:`~transformers.BertConfig`, and the
result is written with ``save_pretrained`` so it is loaded back through exactly the
code path a hub checkpoint takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .config import ModelConfig

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(texts: Sequence[str], vocab_size: int):
    """A lower-casing WordPiece tokenizer (``PreTrainedTokenizerFast``) fitted on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                        min_frequency=1, show_progress=False)
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
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
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar for writing a few MB is noise
    try:
        BertModel(config).save_pretrained(out_dir)
    finally:
        hf_logging.enable_progress_bar()
    tokenizer.save_pretrained(out_dir)
    return out_dir
