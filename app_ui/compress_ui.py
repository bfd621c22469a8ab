"""Streamlit helpers for the pruning and quantization pages: the cached teacher, cached runs, tables, charts.

Every run is cached per configuration (``st.cache_data``), so revisiting a page or moving a slider back does not
recompute; a run interrupted by a rerun (Stop, or a slider moved mid-run) caches nothing. The work itself
(pruning, sweeps, quantizing, measuring) and the figures are ``slm_lib``'s; this module adds the shared teacher,
caching, progress bars and the cost table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
import torch

from app_ui import fail
from app_ui.lab_ui import teacher_model, training_slot
from slm_lib.compress.prune import PruneConfig, SweepPoint, prunable_linears, prune, sparsity_sweep
from slm_lib.compress.quant_grid import QuantSpec, group_spans, quantize_tensor
from slm_lib.compress.quantize import LAB_SCHEMES, QuantizeConfig, QuantizeResult, quantize_model, quantize_scheme
from slm_lib.tiny import EvalConfig, Measurement, TinyLM, measure_model, param_count

__all__ = [
    "EVAL",
    "LATENCY",
    "SWEEP",
    "PruneView",
    "RowView",
    "SchemeRow",
    "TrainingBusy",
    "cost_table",
    "custom_scheme",
    "lab_teacher",
    "layer_names",
    "prune_view",
    "quant_row",
    "scheme_table",
    "sweep",
    "teacher_or_fail",
]

EVAL = EvalConfig()  # the held-out windows every accuracy on these pages is scored on
LATENCY = {"context": 64, "new_tokens": 32, "repeats": 5}
SWEEP = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class TrainingBusy(RuntimeError):
    """Every training slot of this server is taken (raised out of a cached run, so nothing is cached)."""


def lab_teacher() -> TinyLM:
    """The shared pretrained teacher (never modified: every library call here copies it first)."""
    return teacher_model()


def teacher_or_fail() -> TinyLM:
    try:
        return lab_teacher()
    except (FileNotFoundError, ValueError) as exc:
        fail(f"The tiny teacher model could not be loaded: {exc}", "Run `make teacher`, then reload this page.")


def layer_names() -> list[str]:
    return list(prunable_linears(teacher_or_fail(), ("head",)))


def _measure(model: torch.nn.Module) -> Measurement:
    return measure_model(model, EVAL, **LATENCY)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------- pruning
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


@st.cache_data(show_spinner=False, max_entries=24)
def prune_view(method: str, sparsity: float, recover_steps: int) -> PruneView:
    """Prune the teacher, fine-tune if asked (with a progress bar), measure both models back to back."""
    teacher = lab_teacher()
    config = PruneConfig(method, sparsity, recover_steps=recover_steps)
    if recover_steps:
        bar = st.progress(0.0, text="Recovery fine-tuning…")
        on_step = lambda step, loss: bar.progress(  # noqa: E731
            (step + 1) / recover_steps, text=f"Recovery step {step + 1}/{recover_steps}: loss {loss:.3f}"
        )
    else:
        on_step = None
    with training_slot() as free, st.spinner("Pruning and measuring…"):
        if recover_steps and not free:
            raise TrainingBusy("Every training slot on this server is busy.")
        result = prune(teacher, config, on_step=on_step)
        pruned, ref = _measure(result.model), _measure(teacher)
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


@st.cache_data(show_spinner=False, max_entries=8)
def sweep(method: str) -> tuple[SweepPoint, ...]:
    """Held-out accuracy at each sparsity in :data:`SWEEP`, no recovery (2:4 has one point: 50%)."""
    bar = st.progress(0.0, text=f"Sweeping {method} pruning…")

    def progress(point: SweepPoint, done: int, total: int) -> None:
        bar.progress(done / total, text=f"Sparsity {point.sparsity:.0%}: accuracy {point.accuracy:.3f}")

    return sparsity_sweep(lab_teacher(), method, SWEEP, EVAL, on_point=progress)


def cost_table(view: PruneView) -> pd.DataFrame:
    def row(name: str, params: int, nonzero: int, dense: int, sparse: int, m: Measurement) -> dict[str, object]:
        return {
            "model": name,
            "parameters": f"{params:,}",
            "nonzero": f"{nonzero:,}",
            "dense bytes": f"{dense / 1024:,.0f} KiB",
            "sparse-encoded bytes": f"{sparse / 1024:,.0f} KiB",
            "accuracy": f"{m.accuracy:.3f}",
            "perplexity": f"{m.perplexity:.2f}",
            "latency (ms/char)": f"{m.ms_per_token:.2f}",
        }

    t_bytes = view.teacher_params * 4
    return pd.DataFrame(
        [
            row("teacher", view.teacher_params, view.teacher_params, t_bytes, t_bytes, view.teacher),
            row(
                f"pruned ({view.method})",
                view.params,
                view.nonzero_params,
                view.dense_bytes,
                view.sparse_bytes,
                view.pruned,
            ),
        ]
    )


# ------------------------------------------------------------------------------------------ quantization
@dataclass(frozen=True)
class RowView:
    """One weight row before and after quantization, with its grid."""

    original: np.ndarray
    quantized: np.ndarray
    steps: np.ndarray  # each element's grid step (scale)
    grids: tuple[tuple[int, int, tuple[float, ...]], ...]  # (first column, end column, levels) per group drawn
    layer_bytes: int
    layer_fp32_bytes: int
    levels: int


@st.cache_data(show_spinner=False, max_entries=64)
def quant_row(bits: int, symmetric: bool, granularity: str, group_size: int, layer: str, row: int) -> RowView:
    spec = QuantSpec(bits, symmetric, granularity, group_size)
    weight = dict(lab_teacher().named_modules())[layer].weight.detach().cpu()
    qt = quantize_tensor(weight, spec)
    back, steps = qt.dequantize()[row], qt.element_scales()[row]
    levels = len(qt.grid(0))
    grids = ()
    if levels <= 32:  # finer grids are drawn as a blur: skip them
        grids = tuple((start, end, tuple(qt.grid(g).tolist())) for g, start, end in group_spans(qt, row))
    return RowView(
        original=weight[row].numpy(),
        quantized=back.numpy(),
        steps=steps.numpy(),
        grids=grids,
        layer_bytes=qt.nbytes,
        layer_fp32_bytes=weight.numel() * 4,
        levels=levels,
    )


@dataclass(frozen=True)
class SchemeRow:
    scheme: str
    bits: int
    stored_bytes: int
    compression: float
    accuracy: float
    perplexity: float
    latency_ms: float
    compute: str


def _row(name: str, result: QuantizeResult) -> SchemeRow:
    m = _measure(result.model)
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


@st.cache_data(show_spinner=False, max_entries=2)
def scheme_table() -> list[SchemeRow]:
    """Every :data:`LAB_SCHEMES` format: packed bytes, held-out accuracy, perplexity, measured latency."""
    teacher = lab_teacher()
    bar = st.progress(0.0, text="Quantizing and measuring…")
    rows = []
    for i, name in enumerate(LAB_SCHEMES):
        result = quantize_scheme(teacher, name)
        rows.append(_row(name, result))
        bar.progress((i + 1) / len(LAB_SCHEMES), text=f"{name}: accuracy {rows[-1].accuracy:.3f}")
    return rows


@st.cache_data(show_spinner="Quantizing the whole model with your setting…", max_entries=32)
def custom_scheme(bits: int, symmetric: bool, granularity: str, group_size: int) -> SchemeRow:
    spec = QuantSpec(bits, symmetric, granularity, group_size)
    result = quantize_model(lab_teacher(), QuantizeConfig(spec))
    return _row(f"your setting: {spec.label}", result)
