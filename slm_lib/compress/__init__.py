"""Compression techniques on the lab's tiny model: distillation, pruning and quantization.

One verb per technique taking ``(model, config)`` and returning a typed result; none of them modifies the model
it is given. The verbs are re-exported here; the code lives in small modules, one concept each:

- distillation: :mod:`~slm_lib.compress.students` (presets, ``make_student``),
  :mod:`~slm_lib.compress.distill_loss` (``distillation_loss``, ``soft_targets``),
  :mod:`~slm_lib.compress.distill` (``distill``: the two-student run),
- pruning: :mod:`~slm_lib.compress.sparsity` (masks and sparse sizes of one tensor),
  :mod:`~slm_lib.compress.structured` (cutting neurons and heads), :mod:`~slm_lib.compress.prune` (``prune``:
  a whole model, recovery fine-tune, costs, sparsity sweeps),
- quantization: :mod:`~slm_lib.compress.bit_packing`, :mod:`~slm_lib.compress.quant_grid` (one tensor on a
  grid), :mod:`~slm_lib.compress.quantize` (whole models and the lab's schemes).

:mod:`~slm_lib.compress.charts` draws the lab pages' figures from plain numbers (it needs plotly; nothing here
imports it).

Import from the modules by name (``from slm_lib.compress.prune import PruneConfig``): here ``prune`` and
``distill`` are the functions, not the modules.

Example:
    >>> from slm_lib.tiny import load_teacher
    >>> teacher = load_teacher()
    >>> result = prune(teacher, PruneConfig(method="magnitude", sparsity=0.5))
    >>> result.model is not teacher, round(result.sparsity, 2)
    (True, 0.5)
"""

from __future__ import annotations

from slm_lib.compress.distill import DistillConfig, DistillResult, distill
from slm_lib.compress.distill_loss import distillation_loss, soft_targets
from slm_lib.compress.prune import PruneConfig, PruneResult, prune
from slm_lib.compress.quant_grid import QuantSpec, quantize_tensor
from slm_lib.compress.quantize import QuantizeConfig, QuantizeResult, quantize_model, quantize_scheme
from slm_lib.compress.students import make_student

__all__ = [
    "DistillConfig",
    "DistillResult",
    "PruneConfig",
    "PruneResult",
    "QuantSpec",
    "QuantizeConfig",
    "QuantizeResult",
    "distill",
    "distillation_loss",
    "make_student",
    "prune",
    "quantize_model",
    "quantize_scheme",
    "quantize_tensor",
    "soft_targets",
]
