"""Compression techniques on the lab's tiny model: distillation, pruning and quantization.

One verb per technique taking ``(model, config)`` and returning a typed result; none of them
modifies the model it is given.

Example:
    teacher = load_teacher()                                   # from slm_lib.tiny
    result = prune(teacher, PruneConfig(method="magnitude", sparsity=0.5))
    result.model is not teacher                                # True: the teacher is untouched
"""

from __future__ import annotations

from slm_lib.compress.distill import DistillConfig, DistillResult, distill, distillation_loss, make_student
from slm_lib.compress.prune import PruneConfig, PruneResult, prune
from slm_lib.compress.quantize import QuantizeConfig, QuantizeResult, QuantSpec, quantize_model, quantize_tensor

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
    "quantize_tensor",
]
