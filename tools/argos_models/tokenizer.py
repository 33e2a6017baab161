"""The shared SentencePiece model of one language pair.

Contract: :func:`train_tokenizer` writes ``sentencepiece.model`` (BPE, about
2,000 pieces, digits split, byte fallback, identity normalization) trained on
both sides of the training pairs. ``<unk>``, ``<s>``, ``</s>``, ``<pad>`` have
ids 0-3; the placeholder brackets ``⟦`` ``⟧`` and the ten digits are
user-defined symbols, so ``⟦12⟧`` is always the four pieces ``⟦ 1 2 ⟧`` (possibly
after a word-boundary piece) and is copied whole. Training is deterministic.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sentencepiece as spm

logger = logging.getLogger(__name__)

UNK, BOS, EOS, PAD = 0, 1, 2, 3
SPECIAL_PIECES = ("<unk>", "<s>", "</s>", "<pad>")
USER_SYMBOLS = ("\u27e6", "\u27e7", *"0123456789")


def train_tokenizer(
    sentences: list[str], out_file: Path, vocab_size: int = 2000
) -> spm.SentencePieceProcessor:
    """Train on ``sentences``, write the model to ``out_file``, return it loaded."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_prefix=str(out_file.with_suffix("")),
        model_type="bpe",
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        split_digits=True,
        byte_fallback=True,
        normalization_rule_name="identity",
        user_defined_symbols=list(USER_SYMBOLS),
        unk_id=UNK,
        bos_id=BOS,
        eos_id=EOS,
        pad_id=PAD,
        num_threads=2,
        minloglevel=2,
    )
    written = out_file.with_suffix(".model")
    if written != out_file:
        written.replace(out_file)
    out_file.with_suffix(".vocab").unlink(missing_ok=True)
    processor = spm.SentencePieceProcessor(model_file=str(out_file))
    logger.info("Trained SentencePiece: %d pieces -> %s", processor.get_piece_size(), out_file)
    return processor


def pieces(processor: spm.SentencePieceProcessor) -> list[str]:
    """Every piece in id order: the vocabulary CTranslate2 is given."""
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
