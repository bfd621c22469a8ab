"""Training a tiny model on the corpus: AdamW with warm-up and cosine decay, live callbacks, stop and divergence.

:func:`fit_` is the training loop itself, shared by everything in the lab that trains: it takes models and
their loss functions, and owns the optimizer, the learning-rate schedule, gradient clipping, divergence, the
time limit and the live callbacks. :func:`train` is next-character training on the corpus with it;
distillation and pruning's recovery fine-tune run the same loop.

Example:
    >>> from slm_lib.tiny.model import TinyConfig, TinyLM
    >>> train(TinyLM(TinyConfig(vocab_size=103, n_layer=1)), TrainConfig(steps=5)).steps_done
    5
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from slm_lib.settings import limits
from slm_lib.tiny.corpus import load_corpus
from slm_lib.tiny.model import TinyLM, device, model_device

__all__ = [
    "FitConfig",
    "FitResult",
    "LossFn",
    "TrainConfig",
    "TrainResult",
    "fit_",
    "lr_at",
    "make_optimizer",
    "sample_batch",
    "train",
]

LossFn = Callable[[nn.Module, int], torch.Tensor]  # (model, step) -> the scalar loss to minimise at that step


@dataclass(frozen=True)
class FitConfig:
    """How :func:`fit_` optimizes: AdamW, linear warm-up then cosine decay to 10% of ``lr``, gradient clipping.

    ``max_seconds`` (if set) ends the run early, as a stop would, once that much wall time has passed.
    """

    steps: int
    lr: float
    warmup_steps: int = 0
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.steps < 1 or self.lr <= 0:
            raise ValueError(f"FitConfig.steps={self.steps} must be >= 1 and FitConfig.lr={self.lr} > 0")
        if self.weight_decay < 0 or self.warmup_steps < 0 or self.grad_clip <= 0:
            raise ValueError(
                f"weight_decay={self.weight_decay}, warmup_steps={self.warmup_steps} must be >= 0 and "
                f"grad_clip={self.grad_clip} > 0"
            )
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"FitConfig.max_seconds={self.max_seconds} must be > 0 or None")


@dataclass(frozen=True)
class FitResult:
    """How a :func:`fit_` run went, per model (by the names it was given)."""

    losses: dict[str, tuple[float, ...]]  # one per step the model took part in, the non-finite one included
    diverged: dict[str, bool]
    steps_done: int  # steps started and not stopped
    stopped: bool  # should_stop() or the time limit ended the run
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


def fit_(
    models: Mapping[str, tuple[nn.Module, LossFn]],
    config: FitConfig,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FitResult:
    """Train each ``name: (model, loss_fn)`` in place, side by side: the same steps and schedule, own losses.

    Before every step ``should_stop()`` and the time limit may end the run. Then each model still training
    gets ``loss_fn(model, step)``, backward, clipping and an AdamW step. A NaN or infinite loss marks that
    model diverged and leaves it as it was; the run ends when every model has diverged. ``on_step(step,
    losses)`` follows every step that updated a model, with the losses of the models it updated.

    Example:
        >>> model = nn.Linear(1, 1)
        >>> run = fit_({"line": (model, lambda m, step: (m(torch.ones(1, 1)) - 3).pow(2).mean())}, FitConfig(50, 0.1))
        >>> run.steps_done, run.losses["line"][-1] < run.losses["line"][0]
        (50, True)
    """
    start = time.perf_counter()
    optimizers = {name: make_optimizer(model, config.lr, config.weight_decay) for name, (model, _) in models.items()}
    losses: dict[str, list[float]] = {name: [] for name in models}
    diverged = dict.fromkeys(models, False)
    stopped = False
    steps_done = 0
    for step in range(config.steps):
        out_of_time = config.max_seconds is not None and time.perf_counter() - start >= config.max_seconds
        if out_of_time or (should_stop is not None and should_stop()):
            stopped = True
            break
        lr = lr_at(step, config.steps, config.lr, config.warmup_steps)
        updated: dict[str, float] = {}
        for name, (model, loss_fn) in models.items():
            if diverged[name]:
                continue
            loss = loss_fn(model, step)
            value = loss.item()
            losses[name].append(value)
            if not math.isfinite(value):  # stepping on a NaN would turn every weight into NaN
                diverged[name] = True
                continue
            optimizer = optimizers[name]
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)  # one bad batch cannot wreck it
            optimizer.step()
            updated[name] = value
        steps_done = step + 1
        if not updated:  # every model has diverged
            break
        if on_step is not None:
            on_step(step, updated)
    return FitResult(
        losses={name: tuple(values) for name, values in losses.items()},
        diverged=diverged,
        steps_done=steps_done,
        stopped=stopped,
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class TrainConfig:
    """Next-character training: AdamW, linear warm-up then cosine decay to 10% of ``lr``.

    ``data_chars`` limits training to the first N characters of the train split (None = all of it);
    ``max_seconds`` (if set) stops the run once that much wall time has passed.
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
    max_seconds: float | None = None

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
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"TrainConfig.max_seconds={self.max_seconds} must be > 0 or None")

    @property
    def fit_config(self) -> FitConfig:
        """The optimization part of this config, for :func:`fit_`."""
        return FitConfig(self.steps, self.lr, self.warmup_steps, self.weight_decay, self.grad_clip, self.max_seconds)


@dataclass(frozen=True)
class TrainResult:
    """The trained copy, the per-step losses and how the run ended."""

    model: TinyLM
    losses: tuple[float, ...]
    steps_done: int
    stopped: bool
    diverged: bool
    seconds: float


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

    def next_char_loss(model: nn.Module, step: int) -> torch.Tensor:
        chunk = sample_batch(data, block, config.batch_size, gen).to(dev)  # (B, T + 1)
        logits = model(chunk[:, :-1])  # (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1), chunk[:, 1:].flatten())

    report = None if on_step is None else lambda step, losses: on_step(step, losses["model"])
    run = fit_({"model": (student, next_char_loss)}, config.fit_config, on_step=report, should_stop=should_stop)
    student.eval()
    return TrainResult(
        model=student,
        losses=run.losses["model"],
        steps_done=run.steps_done,
        stopped=run.stopped,
        diverged=run.diverged["model"],
        seconds=run.seconds,
    )
