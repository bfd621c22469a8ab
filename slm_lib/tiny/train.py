"""Training a tiny model on the corpus: AdamW with warm-up and cosine decay, live callbacks, stop and divergence.

Example:
    >>> from slm_lib.tiny.model import TinyConfig, TinyLM
    >>> train(TinyLM(TinyConfig(vocab_size=103, n_layer=1)), TrainConfig(steps=5)).steps_done
    5
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from slm_lib.settings import limits
from slm_lib.tiny.corpus import load_corpus
from slm_lib.tiny.model import TinyLM, device, model_device

__all__ = ["TrainConfig", "TrainResult", "lr_at", "make_optimizer", "sample_batch", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Next-character training: AdamW, linear warm-up then cosine decay to 10% of ``lr``.

    ``data_chars`` limits training to the first N characters of the train split (None = all of it).
    """

    steps: int = 200
    lr: float = 3e-3
    batch_size: int = 32
    block_size: int | None = None
    weight_decay: float = 0.1
    warmup_steps: int = 20
    grad_clip: float = 1.0
    data_chars: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        cap = limits().max_train_steps
        if not 1 <= self.steps <= cap:
            raise ValueError(f"TrainConfig.steps={self.steps} must be between 1 and {cap} (deployment cap)")
        if not 0 < self.lr <= 1:
            raise ValueError(f"TrainConfig.lr={self.lr} must be in (0, 1]")
        if not 1 <= self.batch_size <= 512:
            raise ValueError(f"TrainConfig.batch_size={self.batch_size} must be between 1 and 512")
        if self.block_size is not None and self.block_size < 2:
            raise ValueError(f"TrainConfig.block_size={self.block_size} must be >= 2 or None")
        if self.weight_decay < 0 or self.warmup_steps < 0 or self.grad_clip <= 0:
            raise ValueError(
                f"weight_decay={self.weight_decay}, warmup_steps={self.warmup_steps} must be >= 0 and "
                f"grad_clip={self.grad_clip} > 0"
            )
        if self.data_chars is not None and self.data_chars < 1_000:
            raise ValueError(f"TrainConfig.data_chars={self.data_chars} must be >= 1000 or None")


@dataclass(frozen=True)
class TrainResult:
    """The trained copy, the per-step losses and how the run ended."""

    model: TinyLM
    losses: tuple[float, ...]
    steps_done: int
    stopped: bool
    diverged: bool
    seconds: float


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Learning rate for ``step``: linear warm-up, then cosine decay to ``lr / 10``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW decaying only matrices (as nanoGPT does): shrinking biases and LayerNorm gains does not help."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def sample_batch(data: torch.Tensor, block: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    """``batch`` random windows of ``block + 1`` characters from ``data``: (batch, block + 1) int64."""
    if len(data) <= block + 1:
        raise ValueError(f"{len(data)} characters is too little data for windows of {block + 1}")
    starts = torch.randint(0, len(data) - block - 1, (batch,), generator=gen)
    return data[starts[:, None] + torch.arange(block + 1)[None, :]]


def train(
    model: TinyLM,
    config: TrainConfig,
    on_step: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a copy of ``model`` on the corpus (the input model is not modified).

    ``on_step(step, loss)`` is called after every step (live charts); ``should_stop()`` before every step
    (a Stop button). A NaN or infinite loss ends the run with ``diverged=True`` instead of raising.

    Example:
        >>> from slm_lib.tiny import TinyConfig
        >>> result = train(TinyLM(TinyConfig(vocab_size=103, n_layer=1)), TrainConfig(steps=5))
        >>> result.steps_done
        5
    """
    torch.manual_seed(config.seed)
    student = copy.deepcopy(model).to(device()).train()
    dev = model_device(student)
    data = load_corpus().train
    if config.data_chars is not None:
        data = data[: config.data_chars]
    block = min(config.block_size or student.config.block_size, student.config.block_size)
    gen = torch.Generator().manual_seed(config.seed)
    optimizer = make_optimizer(student, config.lr, config.weight_decay)
    losses: list[float] = []
    stopped = diverged = False
    start = time.perf_counter()
    for step in range(config.steps):
        if should_stop is not None and should_stop():
            stopped = True
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config.steps, config.lr, config.warmup_steps)
        chunk = sample_batch(data, block, config.batch_size, gen).to(dev)
        logits = student(chunk[:, :-1])  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), chunk[:, 1:].flatten())
        value = loss.item()
        if not math.isfinite(value):
            diverged = True
            losses.append(value)
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), config.grad_clip)
        optimizer.step()
        losses.append(value)
        if on_step is not None:
            on_step(step, value)
    student.eval()
    return TrainResult(
        model=student,
        losses=tuple(losses),
        steps_done=len(losses),
        stopped=stopped,
        diverged=diverged,
        seconds=time.perf_counter() - start,
    )
