"""Structured pruning of SmolLM2's MLPs: remove whole channels, so the matrices really get smaller.

Zeroing single weights (50% unstructured, 2:4) leaves every matrix its full size: a dense CPU kernel
still multiplies the zeros. Removing an MLP *channel* j (row j of gate and up, column j of down) makes
all three matrices smaller, so each token costs fewer multiply-adds on any kernel. The MLP holds 75% of
each decoder layer's weights (3 x 576 x 1536 of 3.5M), so it is where structure pays.

Which channels: the Wanda idea at channel level, score_j = ||a_j||_2 x ||W_down[:, j]||_2 (how much
channel j's activation, measured on a calibration text, moves the MLP's output). Recovery: instead of
hundreds of fine-tuning steps, refit each layer's smaller ``down`` matrix by least squares so the MLP
reproduces the full MLP's output on the calibration tokens (one small linear solve per layer; the
evaluation text is never seen).

Example:
    calib = mlp_calibration(model, calib_ids)               # one forward pass over the calibration text
    weights = prune_mlp_channels(model, calib, keep=0.75, refit=True)
    fast = FastLlama.from_hf(model, weights=weights)         # model itself is untouched
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["MlpCalibration", "channel_scores", "mlp_calibration", "prune_mlp_channels"]


@dataclass(frozen=True)
class MlpCalibration:
    """Per decoder layer, on the calibration tokens: the MLP's channels and its output."""

    acts: list[Tensor]  # (tokens, ffn): silu(gate) * up, the input of down_proj
    outs: list[Tensor]  # (tokens, d): down_proj(acts), the MLP's output


@torch.no_grad()  # not inference_mode: the recorded tensors feed later (plain) computations
def mlp_calibration(model: nn.Module, calib_ids: Tensor) -> MlpCalibration:
    """Run ``calib_ids`` (1, T) through ``model`` once and record every MLP's channels and output."""
    acts: dict[int, Tensor] = {}
    outs: dict[int, Tensor] = {}
    hooks = []
    for i, layer in enumerate(model.model.layers):

        def hook(_m: nn.Module, args: tuple[Tensor, ...], out: Tensor, i: int = i) -> None:
            acts[i] = args[0].reshape(-1, args[0].shape[-1]).float()
            outs[i] = out.reshape(-1, out.shape[-1]).float()

        hooks.append(layer.mlp.down_proj.register_forward_hook(hook))
    try:
        model(input_ids=calib_ids)
    finally:
        for h in hooks:
            h.remove()
    n = len(model.model.layers)
    return MlpCalibration([acts[i] for i in range(n)], [outs[i] for i in range(n)])


def channel_scores(model: nn.Module, calib: MlpCalibration) -> list[Tensor]:
    """Per layer (ffn,): ||a_j||_2 over the calibration tokens x ||W_down[:, j]||_2."""
    return [
        calib.acts[i].norm(dim=0) * layer.mlp.down_proj.weight.detach().float().norm(dim=0)
        for i, layer in enumerate(model.model.layers)
    ]


@torch.no_grad()
def prune_mlp_channels(
    model: nn.Module, calib: MlpCalibration, keep: float, refit: bool = True, ridge: float = 1e-3
) -> dict[str, Tensor]:
    """Smaller gate/up/down weights keeping the top ``keep`` share of each MLP's channels.

    Args:
        model: a transformers Llama (not modified).
        calib: from :func:`mlp_calibration`.
        keep: share of channels kept per layer, in (0, 1].
        refit: refit ``down`` by least squares (ridge ``ridge`` x mean of the Gram diagonal) so the pruned
            MLP matches the full one's output on the calibration tokens.

    Returns:
        New weights by module name (``model.layers.0.mlp.down_proj``): gate/up (kept, d), down (d, kept).
    """
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    out: dict[str, Tensor] = {}
    for i, (layer, score) in enumerate(zip(model.model.layers, channel_scores(model, calib), strict=True)):
        mlp, pre = layer.mlp, f"model.layers.{i}.mlp"
        n_keep = max(1, round(keep * score.numel()))
        kept = score.topk(n_keep).indices.sort().values  # (n_keep,) channel ids, in order
        down = mlp.down_proj.weight.detach().float()[:, kept]  # (d, n_keep)
        if refit:
            h, y = calib.acts[i][:, kept], calib.outs[i]  # (tokens, n_keep), (tokens, d)
            gram = h.T @ h  # (n_keep, n_keep)
            gram += ridge * gram.diagonal().mean() * torch.eye(n_keep)
            down = torch.linalg.solve(gram, h.T @ y).T  # (d, n_keep): argmin ||h W^T - y||^2 + ridge
        out[f"{pre}.gate_proj"] = mlp.gate_proj.weight.detach().float()[kept].clone()
        out[f"{pre}.up_proj"] = mlp.up_proj.weight.detach().float()[kept].clone()
        out[f"{pre}.down_proj"] = down.contiguous()
    return out
