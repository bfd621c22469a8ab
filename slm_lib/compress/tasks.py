"""The lab's heavy work as job tasks: train, prune, quantize and measure the tiny teacher in a worker.

Each task has the job signature ``task(ctx, **kwargs) -> result`` (see :mod:`slm_lib.jobs`): it loads its own
copy of the teacher (milliseconds), reports progress with ``ctx.emit`` and stops early when ``ctx.stopped()``.
Results are plain dataclasses of numbers and arrays (models only where the page needs them), so they travel
back from a worker process cheaply.

Example:
    >>> from slm_lib.jobs import JobPool, Lane
    >>> pool = JobPool([Lane("train")])
    >>> view = pool.submit("train", "slm_lib.compress.tasks:prune_task", {"method": "2:4", "sparsity": 0.5}).result()
    >>> round(view.sparsity, 2)
    0.5
    >>> pool.shutdown()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slm_lib.compress.distill import DistillConfig, DistillResult, distill
from slm_lib.compress.prune import PruneConfig, SweepPoint, prune, sparsity_sweep
from slm_lib.compress.quant_grid import QuantSpec
from slm_lib.compress.quantize import LAB_SCHEMES, QuantizeConfig, QuantizeResult, quantize_model, quantize_scheme
from slm_lib.jobs import JobCancelled, JobContext
from slm_lib.tiny import (
    LAB_EVAL,
    TEACHER_PATH,
    Measurement,
    TinyLM,
    evaluate,
    load_teacher,
    measure_latency,
    measure_model,
    param_count,
    read_metadata,
    stored_bytes,
)

__all__ = [
    "EVAL",
    "LATENCY",
    "SWEEP",
    "PruneView",
    "SchemeRow",
    "custom_scheme_task",
    "distill_task",
    "prune_task",
    "scheme_table_task",
    "sweep_task",
    "teacher_summary_task",
]

EVAL = LAB_EVAL  # the held-out windows every accuracy in the lab is scored on (pages, benchmark, README)
LATENCY = {"context": 64, "new_tokens": 32, "repeats": 5}
SWEEP = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def measure(model: TinyLM) -> Measurement:
    """Score ``model`` on :data:`EVAL` and time it with :data:`LATENCY`."""
    return measure_model(model, EVAL, **LATENCY)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- distillation
def teacher_summary_task(ctx: JobContext) -> dict[str, float | int | str]:
    """The shipped teacher: size, held-out accuracy and perplexity, latency, and how it was trained."""
    teacher = load_teacher()
    scores = evaluate(teacher, "val", LAB_EVAL)  # the split every lab page and the README use
    meta = read_metadata(TEACHER_PATH)
    return {
        "params": param_count(teacher),
        "stored_bytes": stored_bytes(teacher),
        "accuracy": scores.accuracy,
        "perplexity": scores.perplexity,
        "ms_per_token": measure_latency(teacher).ms_per_token,
        "layers": teacher.config.n_layer,
        "width": teacher.config.n_embd,
        "seed": meta.get("seed", "?"),
        "steps": meta.get("steps", "?"),
        "seconds": meta.get("seconds", "?"),
        "device": meta.get("device", "?"),
    }


def distill_task(ctx: JobContext, config: DistillConfig) -> DistillResult:
    """Distil the shipped teacher with ``config``; emits each ``DistillProgress``."""
    return distill(load_teacher(), config, on_step=ctx.emit, should_stop=ctx.stopped)


# ------------------------------------------------------------------------------------------------ pruning
@dataclass(frozen=True)
class PruneView:
    """Everything the pruning page shows about one run (plain numbers and arrays, cheap to cache)."""

    method: str
    sparsity: float
    params: int
    nonzero_params: int
    dense_bytes: int
    sparse_bytes: int
    pruned: Measurement
    teacher: Measurement
    teacher_params: int
    recover_losses: tuple[float, ...]
    recover_seconds: float
    diverged: bool
    masks: dict[str, np.ndarray]  # layer -> keep mask in the teacher's shape
    before: dict[str, np.ndarray]  # layer -> teacher weights
    after: dict[str, np.ndarray]  # layer -> pruned weights (smaller for structured)


def prune_task(ctx: JobContext, method: str, sparsity: float, recover_steps: int = 0) -> PruneView:
    """Prune the teacher, fine-tune if asked (emits ``(step, loss)``), measure both models back to back."""
    teacher = load_teacher()
    config = PruneConfig(method, sparsity, recover_steps=recover_steps)
    result = prune(teacher, config, on_step=lambda step, loss: ctx.emit((step, loss)), should_stop=ctx.stopped)
    pruned, ref = measure(result.model), measure(teacher)
    names = list(result.masks)
    modules = dict(result.model.named_modules())
    teacher_modules = dict(teacher.named_modules())
    return PruneView(
        method=method,
        sparsity=result.sparsity,
        params=result.params,
        nonzero_params=result.nonzero_params,
        dense_bytes=result.stored_bytes_dense,
        sparse_bytes=result.stored_bytes_sparse,
        pruned=pruned,
        teacher=ref,
        teacher_params=param_count(teacher),
        recover_losses=result.recover_losses,
        recover_seconds=result.recover_seconds,
        diverged=result.recover_diverged,
        masks={n: result.masks[n].numpy() for n in names},
        before={n: teacher_modules[n].weight.detach().cpu().numpy().copy() for n in names},
        after={n: modules[n].weight.detach().cpu().numpy().copy() for n in names},
    )


def sweep_task(ctx: JobContext, method: str) -> tuple[SweepPoint, ...]:
    """Held-out accuracy at each sparsity of :data:`SWEEP` (2:4 has two points: 0 and 50%); emits each point."""

    def on_point(point: SweepPoint, done: int, total: int) -> None:
        ctx.emit((done / total, point))
        if ctx.stopped():
            raise JobCancelled("the sweep was stopped")

    return sparsity_sweep(load_teacher(), method, SWEEP, EVAL, on_point=on_point)


# ------------------------------------------------------------------------------------------- quantization
@dataclass(frozen=True)
class SchemeRow:
    """One row of the whole-model quantization table."""

    scheme: str
    bits: int
    stored_bytes: int
    compression: float
    accuracy: float
    perplexity: float
    latency_ms: float
    compute: str


def _row(name: str, result: QuantizeResult) -> SchemeRow:
    m = measure(result.model)  # type: ignore[arg-type]
    return SchemeRow(
        name,
        result.bits,
        result.stored_bytes,
        result.compression,
        m.accuracy,
        m.perplexity,
        m.ms_per_token,
        result.compute,
    )


def scheme_table_task(ctx: JobContext) -> list[SchemeRow]:
    """Every :data:`LAB_SCHEMES` format: packed bytes, accuracy, perplexity, latency; emits ``(fraction, row)``."""
    teacher = load_teacher()
    rows: list[SchemeRow] = []
    for name in LAB_SCHEMES:
        if ctx.stopped():
            break
        rows.append(_row(name, quantize_scheme(teacher, name)))
        ctx.emit((len(rows) / len(LAB_SCHEMES), rows[-1]))
    return rows


def custom_scheme_task(ctx: JobContext, bits: int, symmetric: bool, granularity: str, group_size: int) -> SchemeRow:
    """The whole teacher quantized with one setting, measured."""
    spec = QuantSpec(bits, symmetric, granularity, group_size)
    return _row(f"your setting: {spec.label}", quantize_model(load_teacher(), QuantizeConfig(spec)))
