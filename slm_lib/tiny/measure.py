"""Measuring a tiny model: held-out accuracy and perplexity, per-character latency (or both), sampling text.

Example:
    >>> from slm_lib.tiny.model import load_teacher
    >>> evaluate(load_teacher()).accuracy > 0.6
    True
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from slm_lib.settings import limits
from slm_lib.tiny.corpus import Corpus, load_corpus
from slm_lib.tiny.model import TinyConfig, TinyLM, model_device

__all__ = [
    "EvalConfig",
    "EvalResult",
    "LatencyResult",
    "Measurement",
    "evaluate",
    "generate",
    "measure_latency",
    "measure_model",
]


@dataclass(frozen=True)
class EvalConfig:
    """Which held-out characters :func:`evaluate` scores: non-overlapping windows spread over the split.

    ``max_windows`` caps the work (None = the whole split); ``block_size`` None uses the model's context.
    """

    max_windows: int | None = 128
    block_size: int | None = None
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.max_windows is not None and self.max_windows < 1:
            raise ValueError(f"EvalConfig.max_windows={self.max_windows} must be >= 1 or None")
        if self.block_size is not None and self.block_size < 2:
            raise ValueError(f"EvalConfig.block_size={self.block_size} must be >= 2 or None")
        if self.batch_size < 1:
            raise ValueError(f"EvalConfig.batch_size={self.batch_size} must be >= 1")


@dataclass(frozen=True)
class EvalResult:
    """Next-character accuracy, perplexity (exp of the mean cross-entropy) and how many characters counted."""

    accuracy: float
    perplexity: float
    loss: float
    n_tokens: int


def _windows(data: torch.Tensor, block: int, max_windows: int | None) -> torch.Tensor:
    n_all = (len(data) - 1) // block  # non-overlapping windows that fit
    if n_all < 1:
        raise ValueError(f"split of {len(data)} characters is shorter than one window of {block + 1}")
    n = n_all if max_windows is None else min(n_all, max_windows)
    # Spread the chosen windows evenly over the whole split: the text changes topic as it goes.
    starts = torch.linspace(0, n_all - 1, n).round().long() * block
    offsets = torch.arange(block + 1)
    return data[starts[:, None] + offsets[None, :]]  # (n, block + 1): inputs and their next characters


@torch.inference_mode()
def evaluate(model: TinyLM, split: str = "val", config: EvalConfig | None = None) -> EvalResult:
    """Score next-character prediction on fixed windows of ``split`` ("val" or "train"); deterministic.

    Example:
        >>> from slm_lib.tiny import load_teacher
        >>> evaluate(load_teacher(), "val").perplexity < 5
        True
    """
    config = config or EvalConfig()
    corpus = load_corpus()
    if split not in ("val", "train"):
        raise ValueError(f"split={split!r} must be 'val' or 'train'")
    block = min(config.block_size or model.config.block_size, model.config.block_size)
    windows = _windows(corpus.val if split == "val" else corpus.train, block, config.max_windows)
    dev = model_device(model)
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    try:
        for i in range(0, len(windows), config.batch_size):
            chunk = windows[i : i + config.batch_size].to(dev)
            x, y = chunk[:, :-1], chunk[:, 1:]  # (b, T) inputs, (b, T) targets shifted by one
            logits = model(x).float()  # (b, T, V)
            total_loss += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
            correct += (logits.argmax(-1) == y).sum().item()
            count += y.numel()
    finally:
        model.train(was_training)
    loss = total_loss / count
    perplexity = math.exp(min(loss, 50.0))
    return EvalResult(accuracy=correct / count, perplexity=perplexity, loss=loss, n_tokens=count)


@dataclass(frozen=True)
class LatencyResult:
    """Median wall time to produce one character, generation style (one forward pass per new character)."""

    ms_per_token: float
    tokens_per_s: float
    context: int
    new_tokens: int
    repeats: int
    device: str
    threads: int


@torch.inference_mode()
def measure_latency(
    model: nn.Module, context: int = 64, new_tokens: int = 32, repeats: int = 5, warmup: int = 1
) -> LatencyResult:
    """Time ``new_tokens`` greedy one-character steps after a ``context``-long prompt; median of ``repeats``.

    There is no KV cache: each step runs the model over the last ``block_size`` characters, as a
    simple generation loop does. The first ``warmup`` runs are not counted.
    """
    if context < 1 or new_tokens < 1 or repeats < 1 or warmup < 0:
        raise ValueError(f"context={context}, new_tokens={new_tokens}, repeats={repeats} must be >= 1")
    cfg: TinyConfig = model.config  # type: ignore[assignment]
    dev = model_device(model)
    idx = load_corpus().val[:context].to(dev)[None, :]  # (1, context): a real prompt
    was_training = model.training
    model.eval()
    times: list[float] = []
    try:
        for run in range(warmup + repeats):
            seq = idx
            if dev.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(new_tokens):
                logits = model(seq[:, -cfg.block_size :])  # (1, t, V)
                nxt = logits[:, -1].argmax(-1, keepdim=True)  # (1, 1)
                seq = torch.cat([seq, nxt], dim=1)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if run >= warmup:
                times.append((time.perf_counter() - start) / new_tokens)
    finally:
        model.train(was_training)
    per_token = statistics.median(times)
    return LatencyResult(
        ms_per_token=per_token * 1000,
        tokens_per_s=1 / per_token,
        context=context,
        new_tokens=new_tokens,
        repeats=repeats,
        device=dev.type,
        threads=torch.get_num_threads(),
    )


@dataclass(frozen=True)
class Measurement:
    """A model's held-out quality and generation speed, measured back to back."""

    accuracy: float
    perplexity: float
    ms_per_token: float


def measure_model(
    model: TinyLM,
    eval_config: EvalConfig | None = None,
    context: int = 64,
    new_tokens: int = 32,
    repeats: int = 5,
) -> Measurement:
    """:func:`evaluate` on the held-out split, then :func:`measure_latency` with these settings.

    Example:
        >>> from slm_lib.tiny import load_teacher
        >>> m = measure_model(load_teacher(), EvalConfig(max_windows=4), new_tokens=2, repeats=1)
        >>> 0 < m.accuracy < 1 and m.ms_per_token > 0
        True
    """
    scores = evaluate(model, "val", eval_config)
    latency = measure_latency(model, context=context, new_tokens=new_tokens, repeats=repeats)
    return Measurement(scores.accuracy, scores.perplexity, latency.ms_per_token)


@torch.inference_mode()
def generate(
    model: TinyLM,
    corpus: Corpus,
    prompt: str,
    max_new_chars: int = 200,
    temperature: float = 0.8,
    seed: int = 0,
) -> str:
    """Continue ``prompt`` by sampling characters; returns only the new text. ``temperature`` 0 is greedy.

    Example:
        >>> from slm_lib.tiny import load_teacher
        >>> len(generate(load_teacher(), load_corpus(), "The ", max_new_chars=20, seed=1))
        20
    """
    cap = limits().max_new_tokens
    if not 1 <= max_new_chars <= cap:
        raise ValueError(f"max_new_chars={max_new_chars} must be between 1 and {cap}")
    if temperature < 0:
        raise ValueError(f"temperature={temperature} must be >= 0")
    dev = model_device(model)
    ids = corpus.encode(prompt) or corpus.encode("\n")
    seq = torch.tensor([ids], dtype=torch.long, device=dev)  # (1, t)
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    out: list[int] = []
    try:
        for _ in range(max_new_chars):
            logits = model(seq[:, -model.config.block_size :])[0, -1].float().cpu()  # (V,)
            if temperature == 0:
                nxt = int(logits.argmax())
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=gen))
            out.append(nxt)
            seq = torch.cat([seq, torch.tensor([[nxt]], device=dev)], dim=1)
    finally:
        model.train(was_training)
    return corpus.decode(out)
