"""Streamlit helpers for the pruning and quantization pages: the cached teacher, cached runs, tables, charts.

Every run is cached per configuration (``st.cache_data``), so revisiting a page or moving a slider back does not
recompute; a run interrupted by a rerun (Stop, or a slider moved mid-run) caches nothing. The work itself
(pruning, sweeps, quantizing, measuring) and the figures are ``slm_lib``'s; it runs as queued jobs on the server's
job pool (``slm_lib.compress.tasks``), never on the page-serving interpreter. This module adds the shared teacher,
caching, progress bars and the cost table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from app_ui import fail
from app_ui.jobs_ui import run_job
from app_ui.lab_ui import teacher_model
from slm_lib.compress.prune import SweepPoint, prunable_linears
from slm_lib.compress.quant_grid import QuantSpec, group_spans, quantize_tensor
from slm_lib.compress.tasks import EVAL, LATENCY, SWEEP, PruneView, SchemeRow
from slm_lib.jobs import TRAIN
from slm_lib.tiny import Measurement, TinyLM

__all__ = [
    "EVAL",
    "LATENCY",
    "SWEEP",
    "PruneView",
    "RowView",
    "SchemeRow",
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


# ----------------------------------------------------------------------------------------------- pruning
# The work runs as queued jobs (slm_lib.compress.tasks) on the server's job pool: a visitor over the training cap
# sees their place in line; Stop or a closed tab cancels the job, and an interrupted run caches nothing.
@st.cache_data(show_spinner=False, max_entries=24)
def prune_view(method: str, sparsity: float, recover_steps: int) -> PruneView:
    """Prune the teacher, fine-tune if asked (with a progress bar), measure both models back to back."""
    bar = st.progress(0.0, text="Recovery fine-tuning…") if recover_steps else None

    def on_step(event: tuple[int, float]) -> None:
        step, loss = event
        if bar is not None:
            bar.progress((step + 1) / recover_steps, text=f"Recovery step {step + 1}/{recover_steps}: loss {loss:.3f}")

    with st.spinner("Pruning and measuring…"):
        kwargs = {"method": method, "sparsity": sparsity, "recover_steps": recover_steps}
        return run_job(TRAIN, "slm_lib.compress.tasks:prune_task", kwargs, on_event=on_step)


@st.cache_data(show_spinner=False, max_entries=8)
def sweep(method: str) -> tuple[SweepPoint, ...]:
    """Held-out accuracy at each sparsity in :data:`SWEEP`, no recovery (2:4 has one point: 50%)."""
    bar = st.progress(0.0, text=f"Sweeping {method} pruning…")

    def on_point(event: tuple[float, SweepPoint]) -> None:
        fraction, point = event
        bar.progress(fraction, text=f"Sparsity {point.sparsity:.0%}: accuracy {point.accuracy:.3f}")

    return run_job(TRAIN, "slm_lib.compress.tasks:sweep_task", {"method": method}, on_event=on_point)


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


@st.cache_data(show_spinner=False, max_entries=2)
def scheme_table() -> list[SchemeRow]:
    """Every lab format: packed bytes, held-out accuracy, perplexity, measured latency."""
    bar = st.progress(0.0, text="Quantizing and measuring…")

    def on_row(event: tuple[float, SchemeRow]) -> None:
        fraction, row = event
        bar.progress(fraction, text=f"{row.scheme}: accuracy {row.accuracy:.3f}")

    return run_job(TRAIN, "slm_lib.compress.tasks:scheme_table_task", {}, on_event=on_row)


@st.cache_data(show_spinner="Quantizing the whole model with your setting…", max_entries=32)
def custom_scheme(bits: int, symmetric: bool, granularity: str, group_size: int) -> SchemeRow:
    kwargs = {"bits": bits, "symmetric": symmetric, "granularity": granularity, "group_size": group_size}
    return run_job(TRAIN, "slm_lib.compress.tasks:custom_scheme_task", kwargs)
