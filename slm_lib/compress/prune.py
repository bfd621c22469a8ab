"""Pruning: set weights to zero (unstructured, 2:4) or cut whole neurons and heads (structured).

Three honest questions for every pruned model: how many parameters are really left, how many bytes it takes
to ship, and whether it runs faster. Zeros in a dense matrix cost the same bytes and the same multiply-adds,
so only a sparse encoding (CSR, 2:4 metadata) makes unstructured sparsity smaller, and only sparse kernels
(not used by PyTorch's dense CPU matmul) make it faster. Structured pruning removes rows and columns, so the
matrices are physically smaller and every matmul does less work.

The mask primitives (:func:`unstructured_mask`, :func:`n_of_m_mask`, :func:`sparse_bytes`) work on any tensor;
:func:`prune` works on any model with ``nn.Linear`` layers, except ``method="structured"`` and recovery
training, which need a :class:`~slm_lib.tiny.TinyLM`.

Example:
    >>> from slm_lib.tiny import TinyConfig, TinyLM
    >>> result = prune(TinyLM(TinyConfig(vocab_size=50, n_layer=1)), PruneConfig("magnitude", sparsity=0.5))
    >>> round(result.sparsity, 2)
    0.5
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from slm_lib.tiny import TrainResult

__all__ = [
    "METHODS",
    "PruneConfig",
    "PruneResult",
    "n_of_m_mask",
    "prunable_linears",
    "prune",
    "prune_structured_",
    "sparse_bytes",
    "unstructured_mask",
]

METHODS = ("magnitude", "global", "structured", "2:4")


# ------------------------------------------------------------------------------------------- primitives
def unstructured_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask (True = keep) zeroing exactly ``round(sparsity * numel)`` entries with the lowest scores.

    Example:
        >>> unstructured_mask(torch.tensor([3.0, -1.0, 0.5, 2.0]).abs(), 0.5).tolist()
        [True, False, False, True]
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity={sparsity} must be between 0 and 1")
    n_zero = round(sparsity * scores.numel())
    mask = torch.ones(scores.numel(), dtype=torch.bool, device=scores.device)
    if n_zero:
        # A stable sort gives an exact count even when many scores tie (e.g. weights that are already zero).
        order = torch.argsort(scores.detach().flatten().float(), stable=True)
        mask[order[:n_zero]] = False
    return mask.view(scores.shape)


def n_of_m_mask(scores: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    """Keep the ``n`` highest-scoring of every ``m`` consecutive entries along the last (input) dimension.

    2:4 is the pattern NVIDIA's sparse tensor cores accelerate: exactly 50% zeros, in a regular layout.

    Example:
        >>> n_of_m_mask(torch.tensor([[4.0, 1.0, 3.0, 2.0]])).tolist()
        [[True, False, True, False]]
    """
    if not 0 < n <= m:
        raise ValueError(f"n={n}, m={m}: need 0 < n <= m")
    if scores.dim() == 0 or scores.shape[-1] % m:
        raise ValueError(f"last dimension of shape {tuple(scores.shape)} must be a multiple of m={m}")
    groups = scores.detach().reshape(-1, m)  # (rows * in/m, m): one row per group of m inputs
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(1, groups.topk(n, dim=1).indices, True)
    return keep.view(scores.shape)


def _index_bytes(n_values: int) -> int:
    """Bytes of the narrowest unsigned integer that can index ``n_values`` positions."""
    return 1 if n_values <= 2**8 else 2 if n_values <= 2**16 else 4


def sparse_bytes(weight: torch.Tensor, layout: str = "csr", n: int = 2, m: int = 4) -> int:
    """Bytes of ``weight`` in a sparse encoding (values kept at their dtype's width).

    - ``"csr"``: nonzero values + one column index each (narrowest integer that fits) + ``rows + 1`` row
      pointers (int32). More bytes than dense below roughly 1/3-1/2 sparsity.
    - ``"n:m"``: the ``n`` kept values of every ``m`` plus ``ceil(log2 m)`` bits of position per kept value
      (2:4: half the values plus 2-bit metadata, as in NVIDIA's format).

    Example:
        >>> sparse_bytes(torch.tensor([[1.0, 0.0, 0.0, 2.0]]))  # 2 x 4-byte values + 2 x 1-byte cols + 2 x 4
        18
    """
    w = weight.detach().reshape(-1, weight.shape[-1]) if weight.dim() else weight.detach().reshape(1, 1)
    value_bytes = w.element_size()
    if layout == "csr":
        nnz = int(torch.count_nonzero(w))
        return nnz * (value_bytes + _index_bytes(w.shape[1])) + (w.shape[0] + 1) * 4
    if layout == "n:m":
        if w.shape[1] % m:
            raise ValueError(f"last dimension {w.shape[1]} is not a multiple of m={m}")
        kept = w.numel() // m * n
        return kept * value_bytes + math.ceil(kept * math.ceil(math.log2(m)) / 8)
    raise ValueError(f"layout={layout!r} must be 'csr' or 'n:m'")


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


def _keep(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Sorted indices of the units to keep: the highest scores, at least one."""
    n_keep = max(1, scores.numel() - round(sparsity * scores.numel()))
    return scores.topk(n_keep).indices.sort().values


def _linear_like(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device=weight.device)
    layer.weight = nn.Parameter(weight.clone())
    if bias is not None:
        layer.bias = nn.Parameter(bias.clone())
    return layer


@torch.no_grad()
def prune_structured_(model: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """In place: cut the lowest-norm MLP neurons and attention heads of every TinyLM block; returns masks.

    A neuron is row ``j`` of ``fc`` plus column ``j`` of ``proj``; a head is its ``head_dim`` rows in each of
    q, k and v plus its columns of the attention ``proj``. Removing them shrinks the matrices themselves.
    """
    masks: dict[str, torch.Tensor] = {}
    for i, block in enumerate(model.blocks):  # type: ignore[union-attr]
        mlp, attn = block.mlp, block.attn
        # MLP neurons: L2 norm of everything the neuron reads (fc row) and writes (proj column)
        norms = (mlp.fc.weight.pow(2).sum(1) + mlp.proj.weight.pow(2).sum(0)).sqrt()  # (hidden,)
        keep = _keep(norms, sparsity)
        rows = torch.zeros(mlp.fc.out_features, dtype=torch.bool, device=keep.device)
        rows[keep] = True
        masks[f"blocks.{i}.mlp.fc"] = rows[:, None].expand_as(mlp.fc.weight).clone()
        masks[f"blocks.{i}.mlp.proj"] = rows[None, :].expand_as(mlp.proj.weight).clone()
        mlp.fc = _linear_like(mlp.fc.weight[keep], None if mlp.fc.bias is None else mlp.fc.bias[keep])
        mlp.proj = _linear_like(mlp.proj.weight[:, keep], mlp.proj.bias)
        # Attention heads: qkv rows are [q heads | k heads | v heads], head h at h*hs:(h+1)*hs in each part
        nh, hs, d = attn.n_head, attn.head_dim, attn.qkv.in_features
        qkv_w = attn.qkv.weight.view(3, nh, hs, d)  # (3, nh, hs, C)
        proj_w = attn.proj.weight.view(d, nh, hs)  # (C, nh, hs): the columns each head writes through
        head_norms = (qkv_w.pow(2).sum((0, 2, 3)) + proj_w.pow(2).sum((0, 2))).sqrt()  # (nh,)
        heads = _keep(head_norms, sparsity)  # (kept heads,)
        kept = torch.zeros(nh, dtype=torch.bool, device=heads.device)
        kept[heads] = True
        per_row = kept[None, :, None].expand(3, nh, hs).reshape(-1)  # (3*nh*hs,)
        masks[f"blocks.{i}.attn.qkv"] = per_row[:, None].expand_as(attn.qkv.weight).clone()
        cols = kept[:, None].expand(nh, hs).reshape(-1)  # (nh*hs,)
        masks[f"blocks.{i}.attn.proj"] = cols[None, :].expand_as(attn.proj.weight).clone()
        bias = attn.qkv.bias
        attn.qkv = _linear_like(attn.qkv.weight[per_row], None if bias is None else bias[per_row])
        attn.proj = _linear_like(attn.proj.weight[:, cols], attn.proj.bias)
    return masks


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
    from slm_lib.tiny import TinyLM, TrainConfig, train  # lazy: the primitives above need no TinyLM

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
