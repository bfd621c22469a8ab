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
from app_ui.learn_ui import column_help
from slm_lib.compress.charts import histogram_figure, mask_figure
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
    "finished_runs",
    "lab_teacher",
    "layer_names",
    "prune_result_view",
    "prune_view",
    "quant_row",
    "scheme_frame",
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


@st.cache_resource
def finished_runs() -> set[tuple[object, ...]]:
    """Settings whose result this server has computed: a lesson link with them shows the result at once."""
    return set()


# ----------------------------------------------------------------------------------------------- pruning
# The work runs as queued jobs (slm_lib.compress.tasks) on the server's job pool: a visitor over the training cap
# sees their place in line; Stop or a closed tab cancels the job, and an interrupted run caches nothing.
@st.cache_data(show_spinner=False, max_entries=24)
def prune_view(method: str, sparsity: float, recover_steps: int) -> PruneView:
    """Prune the teacher, fine-tune if asked (with a progress bar), measure both models back to back."""
    slot = st.empty()  # progress lives here and is cleared at the end (a cache hit replays it cleared)
    bar = slot.progress(0.0, text="Recovery fine-tuning…") if recover_steps else None

    def on_step(event: tuple[int, float]) -> None:
        step, loss = event
        if bar is not None:
            bar.progress((step + 1) / recover_steps, text=f"Recovery step {step + 1}/{recover_steps}: loss {loss:.3f}")

    with st.spinner("Pruning and measuring…"):
        kwargs = {"method": method, "sparsity": sparsity, "recover_steps": recover_steps}
        view = run_job(TRAIN, "slm_lib.compress.tasks:prune_task", kwargs, on_event=on_step)
    slot.empty()
    finished_runs().add((method, sparsity, recover_steps))
    return view


@st.cache_data(show_spinner=False, max_entries=8)
def sweep(method: str) -> tuple[SweepPoint, ...]:
    """Held-out accuracy at each sparsity in :data:`SWEEP`, no recovery (2:4 has one point: 50%)."""
    slot = st.empty()
    bar = slot.progress(0.0, text=f"Sweeping {method} pruning…")

    def on_point(event: tuple[float, SweepPoint]) -> None:
        fraction, point = event
        bar.progress(fraction, text=f"Sparsity {point.sparsity:.0%}: accuracy {point.accuracy:.3f}")

    points = run_job(TRAIN, "slm_lib.compress.tasks:sweep_task", {"method": method}, on_event=on_point)
    slot.empty()
    return points


def cost_table(view: PruneView) -> pd.DataFrame:
    def row(name: str, params: int, nonzero: int, dense: int, sparse: int, m: Measurement) -> dict[str, object]:
        return {
            "model": name,
            "parameters": f"{params:,}",
            "nonzero": f"{nonzero:,}",
            "dense bytes": f"{dense / 1000:,.0f} KB",
            "sparse-encoded bytes": f"{sparse / 1000:,.0f} KB",
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


def _delta(value: float, fmt: str) -> str | None:
    """A metric delta, or None when it rounds to zero (Streamlit would paint "+0" red or green)."""
    text = fmt.format(value)
    return None if float(text.replace(",", "")) == 0 else text


def prune_result_view(view: PruneView, method_label: str, rounding: str | None) -> None:
    """The finished run: cost table, three metrics, recovery curve, why (no) speed-up, weights before and after."""
    st.subheader(f"Cost: {method_label.lower()}, {view.sparsity:.0%} of pruned weights removed")
    if rounding:
        st.caption(f"Why not exactly the slider's value: {rounding}")
    table = cost_table(view)
    st.dataframe(table, hide_index=True, column_config=column_help(table.columns))
    a, b, c = st.columns(3)
    a.metric(
        "Held-out accuracy",
        f"{view.pruned.accuracy:.3f}",
        _delta(view.pruned.accuracy - view.teacher.accuracy, "{:+.3f}"),
        help="Next-character accuracy on the lab's held-out windows; the delta is against the teacher.",
    )
    same = view.params == view.teacher_params
    b.metric(
        "Params physically present",
        f"{view.params:,}",
        _delta(view.params - view.teacher_params, "{:+,}"),
        delta_color="inverse",
        help="Unchanged: the zeros still sit in the dense matrices." if same else "Rows and columns were cut out.",
    )
    c.metric(
        "Latency (ms/char)",
        f"{view.pruned.ms_per_token:.2f}",
        _delta(view.pruned.ms_per_token - view.teacher.ms_per_token, "{:+.2f}"),
        delta_color="inverse",
        help="Median time per generated character on this shared CPU; small gaps are noise.",
    )
    if view.recover_losses:
        st.caption(f"Recovery: {len(view.recover_losses)} steps in {view.recover_seconds:.1f} s.")
        st.line_chart({"training loss": list(view.recover_losses)}, height=160, x_label="step")
    if view.method == "structured":
        st.info(
            "Why this one is faster: structured pruning removed whole rows and columns, so the matrices are "
            "smaller and every multiply does less work, on any hardware."
        )
    else:
        st.info(
            "Why no speed-up from zeros: the zeros still sit in dense matrices, and a CPU's dense matrix "
            "multiply does every multiply-add whether the weight is 0 or not, so only a sparse file format "
            "saves bytes. (2:4 needs GPU sparse tensor cores to run faster.)"
        )
    st.subheader("Weights before and after")
    layer = st.selectbox("Weight matrix", layer_names(), index=2, key="prune.layer")
    h, m = st.columns(2)
    h.plotly_chart(histogram_figure(view.before[layer], view.after[layer]), key="prune.hist")
    h.caption(f"{int((view.after[layer] == 0).sum()):,} weights are exactly zero after pruning (not drawn).")
    m.plotly_chart(mask_figure(view.masks[layer]), key="prune.mask")
    m.caption(
        "Mask: blue = kept, red = pruned. Zoom in to see the 2:4 pattern; structured pruning cuts whole rows or "
        "columns."
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
    slot = st.empty()
    bar = slot.progress(0.0, text="Quantizing and measuring…")

    def on_row(event: tuple[float, SchemeRow]) -> None:
        fraction, row = event
        bar.progress(fraction, text=f"{row.scheme}: accuracy {row.accuracy:.3f}")

    rows = run_job(TRAIN, "slm_lib.compress.tasks:scheme_table_task", {}, on_event=on_row)
    slot.empty()
    finished_runs().add(("quant.table",))
    return rows


@st.cache_data(show_spinner="Quantizing the whole model with your setting…", max_entries=32)
def custom_scheme(bits: int, symmetric: bool, granularity: str, group_size: int) -> SchemeRow:
    kwargs = {"bits": bits, "symmetric": symmetric, "granularity": granularity, "group_size": group_size}
    row = run_job(TRAIN, "slm_lib.compress.tasks:custom_scheme_task", kwargs)
    finished_runs().add(("quant.custom", bits, symmetric, granularity, group_size))
    return row


def scheme_frame(rows: list[SchemeRow]) -> tuple[pd.DataFrame, dict[str, object]]:
    """The whole-model table and its column settings (formats, glossary help on the headers)."""
    table = pd.DataFrame(
        {
            "format": r.scheme,
            "stored KB": r.stored_bytes / 1000,
            "x smaller": r.compression,
            "accuracy": r.accuracy,
            "perplexity": r.perplexity,
            "latency ms/char": r.latency_ms,
            "compute": r.compute,
        }
        for r in rows
    )
    number = st.column_config.NumberColumn
    config = {
        "stored KB": number(format="%.1f"),
        "x smaller": number(format="%.2f"),
        "accuracy": number("held-out accuracy", format="%.3f"),
        "perplexity": number(format="%.2f"),
        "latency ms/char": number(format="%.2f"),
    }
    return table, column_help(table.columns, config)
