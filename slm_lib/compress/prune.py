"""Pruning a model: set weights to zero (unstructured, 2:4) or cut whole neurons and heads (structured).

Three honest questions for every pruned model: how many parameters are really left, how many bytes it takes
to ship, and whether it runs faster. Zeros in a dense matrix cost the same bytes and the same multiply-adds,
so only a sparse encoding (CSR, 2:4 metadata) makes unstructured sparsity smaller, and only sparse kernels
(not used by PyTorch's dense CPU matmul) make it faster. Structured pruning removes rows and columns, so the
matrices are physically smaller and every matmul does less work.

The tensor-level masks and sparse sizes live in :mod:`slm_lib.compress.sparsity`, cutting neurons and heads
in :mod:`slm_lib.compress.structured`. :func:`prune` works on any model with ``nn.Linear`` layers, except
``method="structured"``, recovery training and :func:`sparsity_sweep`, which need a
:class:`~slm_lib.tiny.TinyLM`.

Example:
    >>> from slm_lib.tiny import TinyConfig, TinyLM
    >>> result = prune(TinyLM(TinyConfig(vocab_size=50, n_layer=1)), PruneConfig("magnitude", sparsity=0.5))
    >>> round(result.sparsity, 2)
    0.5
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from slm_lib.compress.sparsity import n_of_m_mask, sparse_bytes, unstructured_mask
from slm_lib.compress.structured import prune_structured_
from slm_lib.tiny import EvalConfig, TinyLM, TrainConfig, TrainResult, evaluate, train

__all__ = [
    "METHODS",
    "PruneConfig",
    "PruneResult",
    "SweepPoint",
    "prunable_linears",
    "prune",
    "sparsity_sweep",
]

METHODS = ("magnitude", "global", "structured", "2:4")


def prunable_linears(model: nn.Module, skip: tuple[str, ...] = ()) -> dict[str, nn.Linear]:
    """The model's ``nn.Linear`` layers by name, leaving out names whose last part is in ``skip``."""
    return {
        name: mod
        for name, mod in model.named_modules()
        if isinstance(mod, nn.Linear) and name.rsplit(".", 1)[-1] not in skip
    }


# ---------------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class PruneConfig:
    """What to prune and how hard.

    - ``method``: ``"magnitude"`` (smallest |w| per layer), ``"global"`` (one |w| threshold over all layers),
      ``"structured"`` (drop MLP neurons and attention heads with the smallest weight norm, per block) or
      ``"2:4"`` (2 of every 4 inputs; ``sparsity`` is then fixed at 0.5 and ignored).
    - ``sparsity``: fraction of the pruned layers' weights (structured: of each block's neurons and heads).
    - ``recover_steps``: optional fine-tuning steps afterwards, zeros kept zero (TinyLM only);
      ``recover_seconds`` (if set) ends the fine-tuning early once that much wall time has passed.
    - ``skip``: layer names never pruned; the output head (tied to the embeddings in many models) by default.
    """

    method: str = "magnitude"
    sparsity: float = 0.5
    recover_steps: int = 0
    recover_lr: float = 1e-3
    recover_seconds: float | None = None
    skip: tuple[str, ...] = ("head", "lm_head")
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"PruneConfig.method={self.method!r} must be one of {METHODS}")
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError(f"PruneConfig.sparsity={self.sparsity} must be in [0, 1)")
        if self.recover_steps < 0:
            raise ValueError(f"PruneConfig.recover_steps={self.recover_steps} must be >= 0")
        if self.recover_seconds is not None and self.recover_seconds <= 0:
            raise ValueError(f"PruneConfig.recover_seconds={self.recover_seconds} must be > 0 or None")
        if not 0 < self.recover_lr <= 1:
            raise ValueError(f"PruneConfig.recover_lr={self.recover_lr} must be in (0, 1]")


@dataclass(frozen=True, eq=False)
class PruneResult:
    """A pruned copy and its honest costs.

    ``masks`` (True = kept) have each pruned layer's *original* shape; for structured pruning they mark the
    rows / columns that were cut out. ``stored_bytes_sparse`` stores each pruned matrix in the smaller of its
    dense and sparse encodings (CSR, or 2:4 values + metadata) and everything else densely.
    """

    model: nn.Module
    config: PruneConfig
    masks: dict[str, torch.Tensor] = field(repr=False)
    params: int  # parameters physically present (zeros included)
    nonzero_params: int
    original_params: int
    stored_bytes_dense: int
    stored_bytes_sparse: int
    sparsity: float  # fraction of the pruned layers' original weights that are zero or gone
    recover_losses: tuple[float, ...] = ()
    recover_seconds: float = 0.0
    recover_stopped: bool = False
    recover_diverged: bool = False


# --------------------------------------------------------------------------------------------- pruning
def _magnitude_masks(layers: dict[str, nn.Linear], config: PruneConfig) -> dict[str, torch.Tensor]:
    scores = {name: mod.weight.detach().abs() for name, mod in layers.items()}  # |w|: the classic criterion
    if config.method == "2:4":
        return {name: n_of_m_mask(s, 2, 4) for name, s in scores.items()}
    if config.method == "magnitude":  # the same sparsity in every layer
        return {name: unstructured_mask(s, config.sparsity) for name, s in scores.items()}
    # global: one ranking over every layer, so layers with many small weights lose more of them
    flat = unstructured_mask(torch.cat([s.flatten() for s in scores.values()]), config.sparsity)
    sizes = [s.numel() for s in scores.values()]
    parts = flat.split(sizes)
    return {name: part.view(s.shape) for (name, s), part in zip(scores.items(), parts, strict=True)}


def _reapply_mask(module: nn.Module, args: tuple[object, ...]) -> None:
    """Forward pre-hook: zero the pruned weights again before every forward (the optimizer moved them)."""
    with torch.no_grad():
        module.weight.mul_(module.weight_mask)


def _recover(
    model: nn.Module,
    masks: dict[str, torch.Tensor] | None,
    config: PruneConfig,
    on_step: Callable[[int, float], None] | None,
    should_stop: Callable[[], bool] | None,
) -> TrainResult:
    """Fine-tune ``model`` in place on the corpus; weights outside ``masks`` stay zero in every forward."""
    if not isinstance(model, TinyLM):
        raise ValueError("recover_steps > 0 needs a TinyLM (recovery trains on the lab's corpus); use 0")
    hooked = copy.deepcopy(model)
    layers = dict(hooked.named_modules())
    for name, mask in (masks or {}).items():
        layers[name].register_buffer("weight_mask", mask.to(layers[name].weight.dtype))
        layers[name].register_forward_pre_hook(_reapply_mask)
    train_config = TrainConfig(
        steps=config.recover_steps,
        lr=config.recover_lr,
        warmup_steps=min(10, config.recover_steps // 5),
        seed=config.seed,
        max_seconds=config.recover_seconds,
    )
    run = train(hooked, train_config, on_step=on_step, should_stop=should_stop)  # trains a copy of hooked
    state = {k: v for k, v in run.model.state_dict().items() if not k.endswith("weight_mask")}
    model.load_state_dict(state)  # back into the hook-free model, then the masks once more
    with torch.no_grad():
        for name, mod in model.named_modules():
            if name in (masks or {}):
                mod.weight.mul_(masks[name].to(mod.weight.device))
    return run


def prune(
    model: nn.Module,
    config: PruneConfig,
    on_step: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PruneResult:
    """Prune a deep copy of ``model`` (the input is not modified), optionally fine-tune it, and account costs.

    ``on_step(step, loss)`` and ``should_stop()`` are passed to the recovery training.

    Example:
        >>> from slm_lib.tiny import load_teacher
        >>> result = prune(load_teacher(), PruneConfig("structured", sparsity=0.3))
        >>> result.params < result.original_params
        True
    """
    pruned = copy.deepcopy(model)
    original_params = sum(p.numel() for p in model.parameters())
    layers = prunable_linears(pruned, config.skip)
    originals = {name: mod.weight.numel() for name, mod in layers.items()}
    if config.method == "structured":
        if not hasattr(pruned, "blocks"):
            raise ValueError("structured pruning needs a TinyLM (blocks of attn.qkv/proj and mlp.fc/proj)")
        masks = prune_structured_(pruned, config.sparsity)
    else:
        masks = _magnitude_masks(layers, config)
        with torch.no_grad():
            for name, mod in layers.items():
                mod.weight.mul_(masks[name])  # zeros stay in the dense matrix: same shape, same bytes
    run = None
    if config.recover_steps:
        run = _recover(pruned, None if config.method == "structured" else masks, config, on_step, should_stop)
    pruned.eval()
    kept = sum(int(m.sum()) for m in masks.values())
    return PruneResult(
        model=pruned,
        config=config,
        masks={name: m.cpu() for name, m in masks.items()},
        params=sum(p.numel() for p in pruned.parameters()),
        nonzero_params=sum(int(torch.count_nonzero(p)) for p in pruned.parameters()),
        original_params=original_params,
        stored_bytes_dense=sum(p.numel() * p.element_size() for p in pruned.parameters()),
        stored_bytes_sparse=_sparse_model_bytes(pruned, config),
        sparsity=1 - kept / max(1, sum(originals.values())),
        recover_losses=run.losses if run else (),
        recover_seconds=run.seconds if run else 0.0,
        recover_stopped=run.stopped if run else False,
        recover_diverged=run.diverged if run else False,
    )


def _sparse_model_bytes(model: nn.Module, config: PruneConfig) -> int:
    """Dense bytes, except each pruned matrix in its cheaper encoding (what a sparse exporter would ship)."""
    layout = "n:m" if config.method == "2:4" else "csr"
    sparse_ids = {}
    if config.method != "structured":  # structured models are dense and already small
        sparse_ids = {id(mod.weight): mod.weight for mod in prunable_linears(model, config.skip).values()}
    total = 0
    for p in model.parameters():
        dense = p.numel() * p.element_size()
        total += min(dense, sparse_bytes(p, layout)) if id(p) in sparse_ids else dense
    return total


@dataclass(frozen=True)
class SweepPoint:
    """Held-out scores of the model pruned to one sparsity level (no recovery fine-tune)."""

    sparsity: float
    accuracy: float
    perplexity: float


def sparsity_sweep(
    model: TinyLM,
    method: str,
    levels: Sequence[float],
    eval_config: EvalConfig | None = None,
    on_point: Callable[[SweepPoint, int, int], None] | None = None,
) -> tuple[SweepPoint, ...]:
    """Prune a copy of ``model`` with ``method`` at each sparsity in ``levels`` and score it on held-out text.

    Level 0 is the model itself. 2:4 always removes exactly half, so its sweep has the two points 0 and 0.5
    whatever ``levels`` says. ``on_point(point, done, total)`` follows each point (a progress bar).

    Example:
        >>> from slm_lib.tiny import load_teacher
        >>> points = sparsity_sweep(load_teacher(), "magnitude", (0.0, 0.9), EvalConfig(max_windows=4))
        >>> points[0].accuracy > points[1].accuracy
        True
    """
    levels = (0.0, 0.5) if method == "2:4" else tuple(levels)
    points: list[SweepPoint] = []
    for level in levels:
        result = prune(model, PruneConfig("magnitude" if level == 0 else method, level))
        score = evaluate(result.model, "val", eval_config)  # type: ignore[arg-type]
        points.append(SweepPoint(level, score.accuracy, score.perplexity))
        if on_point is not None:
            on_point(points[-1], len(points), len(levels))
    return tuple(points)
