"""Plotly figures for the compression lab pages, built from plain numbers and arrays (pure: no streamlit).

Example:
    >>> fig = mask_figure(np.array([[True, False, True, True]]))
    >>> fig.data[0].type, fig.data[0].z.tolist()
    ('heatmap', [[1, 0, 1, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from slm_lib.compress.prune import SweepPoint

__all__ = [
    "char_label",
    "histogram_figure",
    "loss_chart",
    "mask_figure",
    "row_figure",
    "scheme_figure",
    "soft_target_chart",
    "sweep_figure",
]

_MARGIN = {"t": 30, "b": 10}


# ------------------------------------------------------------------------------------------ distillation
def char_label(ch: str) -> str:
    """A visible label for a character (space, newline and tab are otherwise invisible on a chart)."""
    return {" ": "␣ (space)", "\n": "⏎ (newline)", "\t": "⇥ (tab)"}.get(ch, ch)


def loss_chart(
    curves: dict[str, Sequence[float]],
    val_points: Sequence[tuple[int, float, float]] = (),
    total_steps: int | None = None,
) -> go.Figure:
    """Training cross-entropy per step for each named curve, plus held-out loss markers when measured."""
    fig = go.Figure()
    colors = ["#636EFA", "#EF553B", "#00CC96"]
    for i, (name, values) in enumerate(curves.items()):
        fig.add_scatter(y=list(values), mode="lines", name=f"{name}: training batch", line_color=colors[i % 3])
    if val_points:
        steps = [p[0] - 1 for p in val_points]
        for i, name in enumerate(list(curves)[:2]):
            fig.add_scatter(
                x=steps,
                y=[p[1 + i] for p in val_points],
                mode="markers+lines",
                line_dash="dot",
                name=f"{name}: held-out",
                marker_color=colors[i % 3],
            )
    fig.update_layout(
        xaxis_title="step",
        yaxis_title="cross-entropy (nats per character)",
        height=330,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    return fig


def soft_target_chart(
    chars: Sequence[str], temperatures: Sequence[float], probs: Sequence[Sequence[float]], top: int = 12
) -> go.Figure:
    """Grouped bars: the teacher's probability for its ``top`` likeliest next characters at each temperature."""
    base = min(range(len(temperatures)), key=lambda i: abs(temperatures[i] - 1.0))
    order = sorted(range(len(chars)), key=lambda j: -probs[base][j])[:top]
    labels = [char_label(chars[j]) for j in order]
    fig = go.Figure()
    for t, row in zip(temperatures, probs, strict=True):
        fig.add_bar(x=labels, y=[row[j] for j in order], name=f"T = {t:g}")
    fig.update_layout(
        barmode="group",
        xaxis_title="next character",
        yaxis_title="probability",
        height=330,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return fig


# ----------------------------------------------------------------------------------------------- pruning
def histogram_figure(before: np.ndarray, after: np.ndarray) -> go.Figure:
    """Overlaid histograms of one matrix's weights before and after pruning (exact zeros left out after)."""
    before, after = before.ravel(), after.ravel()
    fig = go.Figure()
    fig.add_histogram(x=before, name="before", nbinsx=80, opacity=0.6)
    fig.add_histogram(x=after[after != 0], name="after (nonzero only)", nbinsx=80, opacity=0.6)
    fig.update_layout(barmode="overlay", xaxis_title="weight value", yaxis_title="count", height=320, margin=_MARGIN)
    return fig


def mask_figure(mask: np.ndarray) -> go.Figure:
    """A keep-mask as a heatmap: blue = kept, red = pruned; rows are outputs, columns inputs."""
    fig = go.Figure(
        go.Heatmap(
            z=mask.astype(np.int8),
            colorscale=[[0, "#d62728"], [1, "#1f77b4"]],
            showscale=False,
            hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(xaxis_title="input", yaxis_title="output", yaxis_autorange="reversed", height=360, margin=_MARGIN)
    return fig


def sweep_figure(points: Sequence[SweepPoint], method: str, teacher_accuracy: float) -> go.Figure:
    """Held-out accuracy against sparsity, with the unpruned teacher as a dotted line."""
    fig = go.Figure(
        go.Scatter(x=[p.sparsity for p in points], y=[p.accuracy for p in points], mode="lines+markers", name=method)
    )
    fig.add_hline(y=teacher_accuracy, line_dash="dot", annotation_text="teacher")
    fig.update_layout(
        xaxis_title="sparsity",
        yaxis_title="held-out accuracy",
        xaxis_tickformat=".0%",
        height=320,
        margin=_MARGIN,
    )
    return fig


# ------------------------------------------------------------------------------------------ quantization
def row_figure(
    original: np.ndarray,
    quantized: np.ndarray,
    steps: np.ndarray,
    grids: Sequence[tuple[int, int, Sequence[float]]] = (),
) -> tuple[go.Figure, go.Figure]:
    """Left: a row's weights and the grid they snap to. Right: error in units of the grid step.

    ``grids`` holds ``(first column, end column, grid levels)`` per scale group; each level is drawn as a
    horizontal line over its group's columns (none drawn when empty).
    """
    x = np.arange(len(original))
    fig = go.Figure()
    if grids:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for start, end, levels in grids:
            for level in levels:
                xs += [start - 0.5, end - 0.5, None]  # None breaks the line between segments
                ys += [level, level, None]
        fig.add_scatter(x=xs, y=ys, mode="lines", name="grid", line={"color": "lightgray", "width": 1})
    fig.add_scatter(x=x, y=original, mode="markers", name="original", marker={"size": 5})
    fig.add_scatter(x=x, y=quantized, mode="markers", name="quantized", marker={"size": 5, "symbol": "x"})
    fig.update_layout(xaxis_title="input index", yaxis_title="weight", height=340, margin=_MARGIN)
    errors = (quantized - original) / steps
    err = go.Figure(go.Histogram(x=errors, nbinsx=40))
    err.update_layout(
        xaxis_title="error / grid step (always within ±0.5)", yaxis_title="count", height=340, margin=_MARGIN
    )
    return fig, err


def scheme_figure(names: Sequence[str], stored_bytes: Sequence[int], accuracies: Sequence[float]) -> go.Figure:
    """Held-out accuracy against stored size (log scale), one labelled point per format."""
    fig = go.Figure(
        go.Scatter(
            x=[b / 1024 for b in stored_bytes],
            y=list(accuracies),
            text=list(names),
            mode="markers+text",
            textposition="top center",
            marker={"size": 10},
        )
    )
    fig.update_layout(
        xaxis_title="stored KiB (packed, incl. scales and zero points)",
        yaxis_title="held-out accuracy",
        xaxis_type="log",
        height=380,
        margin=_MARGIN,
    )
    return fig
