"""Structured pruning: cut whole MLP neurons and attention heads out of a TinyLM's blocks.

Unlike zeroing weights, removing a neuron deletes a row of one matrix and a column of the next, so the
matrices are physically smaller and every matmul does less work: fewer parameters and lower latency on any
hardware, at a larger cost in accuracy for the same share removed.

Example:
    >>> from slm_lib.tiny import TinyConfig, TinyLM
    >>> model = TinyLM(TinyConfig(vocab_size=50, n_layer=1, n_head=4, n_embd=32))
    >>> masks = prune_structured_(model, 0.5)
    >>> model.blocks[0].mlp.fc.out_features, model.blocks[0].attn.qkv.out_features  # half the neurons and heads
    (64, 48)
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["prune_structured_"]


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
