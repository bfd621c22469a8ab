"""Students for distillation: presets, and building one from the teacher's own layers or from scratch.

A student copied from the teacher (DistilBERT keeps every other layer; Minitron also trims each MLP) starts
far closer to the teacher than a random one, so distillation has less to teach it.

Example:
    >>> from slm_lib.tiny import load_teacher, param_count
    >>> teacher = load_teacher()
    >>> param_count(make_student(teacher, "half_slim")) < param_count(teacher) / 2
    True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from slm_lib.tiny import TinyConfig, TinyLM, model_device

__all__ = ["PRESETS", "StudentPreset", "make_student", "matched_layers"]


@dataclass(frozen=True)
class StudentPreset:
    """How a student is built: from some of the teacher's layers, or a narrower model from scratch."""

    label: str
    from_teacher: bool  # True: copy embeddings, chosen blocks, final norm and head from the teacher
    layer_step: int = 2  # from_teacher: keep blocks 0, step, 2*step, ... (DistilBERT keeps one in two)
    mlp_fraction: float = 1.0  # from_teacher: keep this share of each MLP's neurons (largest weights first)
    n_layer: int = 2  # from scratch only
    width_fraction: float = 0.5  # from scratch only: the student's width as a share of the teacher's


# "half" keeps the embeddings and output head whole, so half the layers is more than half the parameters
# (52.6% of this teacher). "half_slim" also keeps only 3/4 of each MLP's neurons (depth and width pruning
# before distillation, as in NVIDIA's Minitron) and lands under half (44.7%); "half_trim" keeps 7/8 of them,
# the most a two-block student can keep and stay under half (48.6%): the distillation page's default.
PRESETS: dict[str, StudentPreset] = {
    "half_trim": StudentPreset("Half the layers and ⅞ of each MLP, copied from the teacher", True, 2, 0.875),
    "half_slim": StudentPreset("Half the layers and ¾ of each MLP, copied from the teacher", True, 2, 0.75),
    "half": StudentPreset("Half the layers, copied from the teacher's alternate layers (DistilBERT)", True),
    "narrow": StudentPreset("Narrower student from scratch (2 layers, half the width)", False),
}


def _keep_neurons_(block: torch.nn.Module, fraction: float) -> None:
    """Keep the MLP neurons with the largest in- and out-weights (in place, on a copy the caller owns)."""
    fc, proj = block.mlp.fc, block.mlp.proj
    k = max(1, round(fc.out_features * fraction))
    score = fc.weight.norm(dim=1) * proj.weight.norm(dim=0)  # (hidden,): how much each neuron can matter
    keep = score.topk(k).indices.sort().values
    new_fc = torch.nn.Linear(fc.in_features, k).to(fc.weight.device)
    new_proj = torch.nn.Linear(k, proj.out_features).to(proj.weight.device)
    with torch.no_grad():
        new_fc.weight.copy_(fc.weight[keep])
        new_fc.bias.copy_(fc.bias[keep])
        new_proj.weight.copy_(proj.weight[:, keep])
        new_proj.bias.copy_(proj.bias)
    block.mlp.fc, block.mlp.proj = new_fc, new_proj


def make_student(teacher: TinyLM, preset: str, seed: int = 0) -> TinyLM:
    """Build (not train) a student for ``preset``; the teacher is not modified.

    Example:
        >>> from slm_lib.tiny import load_teacher
        >>> make_student(load_teacher(), "half").config.n_layer
        2
    """
    spec = PRESETS[preset]
    tc = teacher.config
    torch.manual_seed(seed)
    if not spec.from_teacher:
        width = max(tc.n_head, round(tc.n_embd * spec.width_fraction / tc.n_head) * tc.n_head)
        config = TinyConfig(tc.vocab_size, spec.n_layer, tc.n_head, width, tc.block_size)
        return TinyLM(config).to(model_device(teacher))
    keep = list(range(0, tc.n_layer, spec.layer_step))  # e.g. [0, 2] of a 4-layer teacher
    hidden = max(1, round(tc.mlp_hidden * spec.mlp_fraction))
    config = TinyConfig(tc.vocab_size, len(keep), tc.n_head, tc.n_embd, tc.block_size, hidden, tc.tie_head)
    student = copy.deepcopy(teacher)  # embeddings, final norm and head come along unchanged
    student.config = config
    student.blocks = torch.nn.ModuleList(student.blocks[i] for i in keep)
    if spec.mlp_fraction < 1:
        for block in student.blocks:
            _keep_neurons_(block, spec.mlp_fraction)
    return student.train()


def matched_layers(teacher_layers: int, preset: str) -> tuple[int, ...]:
    """For each block of a teacher-copied student, the teacher block whose output it stands in for.

    A student that keeps blocks 0 and 2 of 4 replaces blocks 0-1 with its first block and 2-3 with its second,
    so its block outputs should match the teacher's after blocks 1 and 3. Empty for students from scratch.

    Example:
        >>> matched_layers(4, "half")
        (1, 3)
    """
    spec = PRESETS[preset]
    if not spec.from_teacher:
        return ()
    keep = range(0, teacher_layers, spec.layer_step)
    return tuple(min(k + spec.layer_step, teacher_layers) - 1 for k in keep)
