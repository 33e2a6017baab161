"""A small pre-norm Transformer in plain PyTorch, trained on CPU within a time budget.

The architecture is exactly what ``ctranslate2.specs.TransformerSpec`` runs
(see convert.py): pre-norm layers, ReLU feed-forward, tied embeddings scaled by
sqrt(d_model) plus a sinusoidal table (sin half, then cos half), LayerNorm eps
1e-6, a final LayerNorm in encoder and decoder, an output bias. The source is
bare SentencePiece ids; the decoder reads ``<s> y`` and predicts ``y </s>``.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tools.argos_models.tokenizer import BOS, EOS, PAD

logger = logging.getLogger(__name__)

LAYER_NORM_EPS = 1e-6


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters; ``max_positions`` is the sentence length limit, in pieces."""

    vocab_size: int
    d_model: int = 256
    heads: int = 4
    ffn: int = 512
    encoder_layers: int = 2
    decoder_layers: int = 2
    dropout: float = 0.05
    max_positions: int = 256


def sinusoids(positions: int, dim: int) -> torch.Tensor:
    """The position table CTranslate2 uses: ``[sin(p*f) ..., cos(p*f) ...]``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / (half - 1))
    angles = torch.arange(positions, dtype=torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class Attention(nn.Module):
    """Multi-head attention with separate q, k, v and output projections."""

    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q, self.k, self.v, self.out = (nn.Linear(d_model, d_model) for _ in range(4))

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``mask`` is boolean, broadcastable to (batch, heads, len_x, len_memory), True = keep."""
        batch, length, d_model = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, -1, self.heads, d_model // self.heads).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(memory)), split(self.v(memory))
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        return self.out(y.transpose(1, 2).reshape(batch, length, d_model))


class FeedForward(nn.Module):
    def __init__(self, d_model: int, ffn: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.linear_0, self.linear_1 = nn.Linear(d_model, ffn), nn.Linear(ffn, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.dropout(self.linear_1(self.dropout(F.relu(self.linear_0(self.norm(x))))))


class EncoderLayer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.self_norm = nn.LayerNorm(c.d_model, eps=LAYER_NORM_EPS)
        self.self_attention = Attention(c.d_model, c.heads, c.dropout)
        self.ffn = FeedForward(c.d_model, c.ffn, c.dropout)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.self_norm(x)
        return self.ffn(x + self.dropout(self.self_attention(h, h, mask)))


class DecoderLayer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.self_norm = nn.LayerNorm(c.d_model, eps=LAYER_NORM_EPS)
        self.self_attention = Attention(c.d_model, c.heads, c.dropout)
        self.cross_norm = nn.LayerNorm(c.d_model, eps=LAYER_NORM_EPS)
        self.cross_attention = Attention(c.d_model, c.heads, c.dropout)
        self.ffn = FeedForward(c.d_model, c.ffn, c.dropout)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, y, memory, self_mask, cross_mask):
        h = self.self_norm(y)
        y = y + self.dropout(self.self_attention(h, h, self_mask))
        y = y + self.dropout(self.cross_attention(self.cross_norm(y), memory, cross_mask))
        return self.ffn(y)


class Translator(nn.Module):
    """Encoder-decoder; ``forward`` returns logits over the shared vocabulary."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        self.embedding = nn.Embedding(c.vocab_size, c.d_model)
        nn.init.normal_(self.embedding.weight, std=c.d_model**-0.5)
        self.output_bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.register_buffer("positions", sinusoids(c.max_positions, c.d_model), persistent=False)
        self.encoder_layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.encoder_layers))
        self.decoder_layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.decoder_layers))
        self.encoder_norm = nn.LayerNorm(c.d_model, eps=LAYER_NORM_EPS)
        self.decoder_norm = nn.LayerNorm(c.d_model, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(c.dropout)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids) * math.sqrt(self.config.d_model)
        return self.dropout(x + self.positions[: ids.shape[1]])

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder output and the key mask (batch, 1, 1, len) for cross-attention."""
        mask = (src != PAD)[:, None, None, :]
        x = self.embed(src)
        for layer in self.encoder_layers:
            x = layer(x, mask)
        return self.encoder_norm(x), mask

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor):
        length = tgt_in.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool).tril()[None, None]
        self_mask = causal & (tgt_in != PAD)[:, None, None, :]
        y = self.embed(tgt_in)
        for layer in self.decoder_layers:
            y = layer(y, memory, self_mask, src_mask)
        return F.linear(self.decoder_norm(y), self.embedding.weight, self.output_bias)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory, src_mask = self.encode(src)
        return self.decode(tgt_in, memory, src_mask)

    @torch.no_grad()
    def greedy(self, sources: list[list[int]], max_length: int = 250) -> list[list[int]]:
        """Greedy decoding of a batch; ids without ``<s>``/``</s>``, as CTranslate2 returns."""
        self.eval()
        src = pad_batch(sources)
        memory, src_mask = self.encode(src)
        out = torch.full((len(sources), 1), BOS)
        done = torch.zeros(len(sources), dtype=torch.bool)
        for _ in range(max_length):
            next_ids = self.decode(out, memory, src_mask)[:, -1].argmax(-1)
            next_ids = torch.where(done, torch.full_like(next_ids, PAD), next_ids)
            out = torch.cat([out, next_ids[:, None]], dim=1)
            done |= next_ids == EOS
            if done.all():
                break
        return [[i for i in row[1:] if i not in (EOS, PAD)] for row in out.tolist()]


def pad_batch(rows: list[list[int]]) -> torch.Tensor:
    length = max(len(r) for r in rows)
    return torch.tensor([r + [PAD] * (length - len(r)) for r in rows], dtype=torch.long)


def _batches(pairs: list[tuple[list[int], list[int]]], max_tokens: int, rng: random.Random):
    """Length-bucketed batches of about ``max_tokens`` source+target pieces, shuffled."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), rng.random()))
    batches, current, longest = [], [], 0
    for i in order:
        longest = max(longest, len(pairs[i][0]) + len(pairs[i][1]) + 1)
        if current and longest * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest = [], len(pairs[i][0]) + len(pairs[i][1]) + 1
        current.append(i)
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


@dataclass
class TrainingReport:
    steps: int
    epochs: float
    seconds: float
    final_loss: float
    parameters: int
    config: dict


def train(
    pairs: list[tuple[list[int], list[int]]],
    config: ModelConfig,
    budget_seconds: float,
    seed: int = 1,
    max_tokens: int = 2048,
    lr: float = 2e-3,
    warmup: int = 150,
    max_steps: int | None = None,
) -> tuple[Translator, TrainingReport]:
    """Train until ``budget_seconds`` (or ``max_steps``) are spent; return model and report.

    Adam with linear warmup then inverse-square-root decay, label smoothing
    0.1. Seeded, but a time budget makes the step count depend on the machine:
    pass ``max_steps`` for a run that is reproducible step for step.
    """
    torch.manual_seed(seed)
    rng = random.Random(seed)
    limit = config.max_positions - 1
    pairs = [(s[:limit], t[:limit]) for s, t in pairs if s and t]
    model = Translator(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, math.sqrt(warmup / (step + 1)))
    )
    started, steps, epoch, loss_avg = time.monotonic(), 0, 0, 0.0
    model.train()
    while True:
        batches = _batches(pairs, max_tokens, rng)
        for n, batch in enumerate(batches):
            src = pad_batch([pairs[i][0] for i in batch])
            tgt_in = pad_batch([[BOS, *pairs[i][1]] for i in batch])
            tgt_out = pad_batch([[*pairs[i][1], EOS] for i in batch])
            logits = model(src, tgt_in)
            loss = F.cross_entropy(
                logits.reshape(-1, config.vocab_size),
                tgt_out.reshape(-1),
                ignore_index=PAD,
                label_smoothing=0.1,
            )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            steps += 1
            loss_avg = loss.item() if steps == 1 else 0.98 * loss_avg + 0.02 * loss.item()
            elapsed = time.monotonic() - started
            if steps % 50 == 0:
                logger.info("step %d  epoch %d  loss %.3f  %.0fs", steps, epoch, loss_avg, elapsed)
            if elapsed >= budget_seconds or (max_steps and steps >= max_steps):
                report = TrainingReport(
                    steps=steps,
                    epochs=round(epoch + (n + 1) / len(batches), 2),
                    seconds=round(elapsed, 1),
                    final_loss=round(loss_avg, 3),
                    parameters=sum(p.numel() for p in model.parameters()),
                    config=asdict(config),
                )
                model.eval()
                return model, report
        epoch += 1
