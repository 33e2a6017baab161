"""Copy the PyTorch weights into ``ctranslate2.specs.TransformerSpec`` and check the copy.

Contract: :func:`convert` writes a CTranslate2 model folder (``config.json``,
``model.bin``, ``shared_vocabulary.json``) that computes what
:class:`tools.argos_models.model.Translator` computes; :func:`agreement`
measures that on greedy outputs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import ctranslate2
import numpy as np
import torch
from ctranslate2.specs import TransformerSpec, attention_spec, common_spec

from tools.argos_models.model import LAYER_NORM_EPS, Attention, Translator
from tools.argos_models.tokenizer import SPECIAL_PIECES

logger = logging.getLogger(__name__)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy().copy()


def _linear(spec: common_spec.LinearSpec, *layers: torch.nn.Linear) -> None:
    """Fill a linear spec; several layers are concatenated by output rows (q|k|v)."""
    spec.weight = np.concatenate([_np(layer.weight) for layer in layers])
    spec.bias = np.concatenate([_np(layer.bias) for layer in layers])


def _norm(spec: common_spec.LayerNormSpec, norm: torch.nn.LayerNorm) -> None:
    spec.gamma, spec.beta = _np(norm.weight), _np(norm.bias)


def _self_attention(spec: attention_spec.MultiHeadAttentionSpec, norm, attn: Attention) -> None:
    _norm(spec.layer_norm, norm)
    _linear(spec.linear[0], attn.q, attn.k, attn.v)
    _linear(spec.linear[1], attn.out)


def to_spec(model: Translator, vocabulary: list[str]) -> TransformerSpec:
    """The filled specification (mapping recorded in shared/NOTES.md)."""
    c = model.config
    spec = TransformerSpec.from_config((c.encoder_layers, c.decoder_layers), c.heads, pre_norm=True)
    spec.config.layer_norm_epsilon = LAYER_NORM_EPS
    unk, bos, eos = SPECIAL_PIECES[:3]
    spec.config.unk_token, spec.config.bos_token, spec.config.eos_token = unk, bos, eos
    spec.config.decoder_start_token = bos
    embedding, table = _np(model.embedding.weight), _np(model.positions)
    encoder, decoder = spec.encoder, spec.decoder

    encoder.embeddings[0].weight = embedding
    encoder.scale_embeddings = True
    encoder.position_encodings.encodings = table
    for layer_spec, layer in zip(encoder.layer, model.encoder_layers, strict=True):
        _self_attention(layer_spec.self_attention, layer.self_norm, layer.self_attention)
        _norm(layer_spec.ffn.layer_norm, layer.ffn.norm)
        _linear(layer_spec.ffn.linear_0, layer.ffn.linear_0)
        _linear(layer_spec.ffn.linear_1, layer.ffn.linear_1)
    _norm(encoder.layer_norm, model.encoder_norm)

    decoder.embeddings.weight = embedding
    decoder.scale_embeddings = True
    decoder.position_encodings.encodings = table
    for layer_spec, layer in zip(decoder.layer, model.decoder_layers, strict=True):
        _self_attention(layer_spec.self_attention, layer.self_norm, layer.self_attention)
        cross = layer_spec.attention
        _norm(cross.layer_norm, layer.cross_norm)
        _linear(cross.linear[0], layer.cross_attention.q)
        _linear(cross.linear[1], layer.cross_attention.k, layer.cross_attention.v)
        _linear(cross.linear[2], layer.cross_attention.out)
        _norm(layer_spec.ffn.layer_norm, layer.ffn.norm)
        _linear(layer_spec.ffn.linear_0, layer.ffn.linear_0)
        _linear(layer_spec.ffn.linear_1, layer.ffn.linear_1)
    _norm(decoder.layer_norm, model.decoder_norm)
    decoder.projection.weight = embedding
    decoder.projection.bias = _np(model.output_bias)

    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    return spec


def convert(
    model: Translator, vocabulary: list[str], out_dir: Path, quantization: str | None
) -> Path:
    """Write the CTranslate2 model to ``out_dir`` (replaced if present)."""

    class _Converter(ctranslate2.converters.Converter):
        def _load(self) -> TransformerSpec:
            return to_spec(model, vocabulary)

    _Converter().convert(str(out_dir), quantization=quantization, force=True)
    logger.info("Converted to CTranslate2 (%s) -> %s", quantization or "float32", out_dir)
    return out_dir


def max_decoding_length(sources: list[list[str]]) -> int:
    """A decoding limit for a batch: twice its longest source plus 10 pieces."""
    return 2 * max(len(src) for src in sources) + 10


def agreement(
    model: Translator,
    ct2_dir: Path,
    sources: list[list[str]],
    vocabulary: list[str],
    compute_type: str = "default",
) -> tuple[int, list[int]]:
    """How many greedy outputs of CTranslate2 equal PyTorch's; indices of the others."""
    index = {piece: i for i, piece in enumerate(vocabulary)}
    translator = ctranslate2.Translator(str(ct2_dir), device="cpu", compute_type=compute_type)
    limit = max_decoding_length(sources)
    results = translator.translate_batch(sources, beam_size=1, max_decoding_length=limit)
    expected = model.greedy([[index[p] for p in src] for src in sources], max_length=limit)
    mismatches = [
        i
        for i, (result, ids) in enumerate(zip(results, expected, strict=True))
        if result.hypotheses[0] != [vocabulary[j] for j in ids]
    ]
    return len(sources) - len(mismatches), mismatches
