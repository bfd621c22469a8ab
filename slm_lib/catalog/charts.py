"""Plotly figures for the catalog pages, built only from sourced card facts (pure: no streamlit).

Example:
    >>> from slm_lib.catalog.cards import load_models
    >>> [trace.name for trace in params_vs_mmlu_figure(load_models()).data]
    ['SLM', 'above the SLM line', 'reference LLM']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import plotly.graph_objects as go

from slm_lib.catalog.cards import SIZE_CLASSES, SLM_MAX_PARAMS_B, ModelCard
from slm_lib.catalog.memory import MemoryEstimate

__all__ = [
    "WEIGHT_BITS",
    "benchmark_figure",
    "memory_breakdown_figure",
    "params_vs_mmlu_caption",
    "params_vs_mmlu_figure",
    "weights_memory_figure",
]

WEIGHT_BITS = {"fp16": 16, "int8": 8, "int4": 4}
_STYLE = {  # size class -> (colour, marker)
    "slm": ("#1f77b4", "circle"),
    "borderline": ("#ff7f0e", "square"),
    "llm": ("#d62728", "diamond"),
}


def _kind(card: ModelCard) -> str:
    return card.size_label


def params_vs_mmlu_figure(cards: Iterable[ModelCard]) -> go.Figure:
    """Parameters (log scale) against 5-shot MMLU: SLMs, models above the SLM line and reference LLMs.

    Only cards with a published parameter count *and* a published 5-shot MMLU appear; hover shows
    the model, its score details, the source and the release date.
    """
    fig = go.Figure()
    shown = [c for c in cards if c.params_b is not None and c.mmlu is not None]
    for size_class, (color, symbol) in _STYLE.items():
        group = [c for c in shown if c.size_class == size_class]
        fig.add_trace(
            go.Scatter(
                x=[c.params_b for c in group],
                y=[c.mmlu.score for c in group],  # type: ignore[union-attr]
                mode="markers+text",
                name=SIZE_CLASSES[size_class],
                text=[c.name for c in group],
                textposition="top center",
                marker={"size": 11, "color": color, "symbol": symbol},
                customdata=[
                    [c.mmlu.label(), c.mmlu.source, c.release or "not published"]  # type: ignore[union-attr]
                    for c in group
                ],
                hovertemplate="<b>%{text}</b><br>%{x:.3g} B parameters<br>MMLU %{customdata[0]}"
                "<br>source: %{customdata[1]}<br>released: %{customdata[2]}<extra></extra>",
            )
        )
    fig.update_xaxes(
        type="log", title=f"total parameters held in memory (billions, log scale; SLMs are under {SLM_MAX_PARAMS_B:g})"
    )
    fig.update_yaxes(title="MMLU, 5-shot (%)")
    fig.update_layout(title="Size vs knowledge: published 5-shot MMLU", legend_title_text="")
    return fig


def params_vs_mmlu_caption(cards: Iterable[ModelCard]) -> str:
    """The caption that says which models are missing from the chart and why."""
    cards = list(cards)
    no_params = [c.name for c in cards if c.params_b is None]
    no_mmlu = [c.name for c in cards if c.params_b is not None and c.mmlu is None]
    parts = [
        "Each point is a published score from the model's own card or report; harnesses differ "
        "(base vs instruct, vendor vs third-party evaluation), so small gaps mean little."
    ]
    if no_params:
        parts.append(f"Not shown because the parameter count is undisclosed: {', '.join(no_params)}.")
    if no_mmlu:
        parts.append(f"Not shown because no 5-shot MMLU is published: {', '.join(no_mmlu)}.")
    return " ".join(parts)


def weights_memory_figure(cards: Iterable[ModelCard]) -> go.Figure:
    """GB needed just to hold the weights at 16, 8 and 4 bits per weight (log y axis).

    Arithmetic from the published parameter count (all experts for an MoE); models with an
    undisclosed size are left out.
    """
    shown = sorted((c for c in cards if c.params_b is not None), key=lambda c: c.params_b or 0.0)
    fig = go.Figure()
    for label, bits in WEIGHT_BITS.items():
        fig.add_trace(
            go.Bar(
                x=[c.name for c in shown],
                y=[c.params_b * bits / 8 for c in shown],  # billions of params x bytes each = GB
                name=label,
                customdata=[[c.params_b, _kind(c)] for c in shown],
                hovertemplate="<b>%{x}</b> (%{customdata[1]})<br>%{customdata[0]:.3g} B parameters<br>"
                f"{label}: " + "%{y:.2f} GB<extra></extra>",
            )
        )
    fig.update_yaxes(type="log", title="GB to hold the weights (log scale)")
    fig.update_layout(barmode="group", title="Memory for the weights alone, by precision", xaxis_tickangle=-40)
    return fig


def benchmark_figure(cards: Sequence[ModelCard], names: Sequence[str] | None = None) -> go.Figure:
    """Grouped bars of published benchmark scores for a few models (missing scores are simply absent)."""
    if names is None:
        names = sorted({n for c in cards for n in c.benchmarks})
    fig = go.Figure()
    for card in cards:
        present = [n for n in names if n in card.benchmarks]
        fig.add_trace(
            go.Bar(
                x=present,
                y=[card.benchmarks[n].score for n in present],
                name=card.name,
                customdata=[[card.benchmarks[n].label(), card.benchmarks[n].source] for n in present],
                hovertemplate="<b>" + card.name + "</b><br>%{x}: %{customdata[0]}<br>source: %{customdata[1]}"
                "<extra></extra>",
            )
        )
    fig.update_yaxes(title="score (%)", range=[0, 100])
    fig.update_layout(barmode="group", title="Published benchmark scores (shots and harnesses differ)")
    return fig


def memory_breakdown_figure(estimates: Sequence[MemoryEstimate], labels: Sequence[str]) -> go.Figure:
    """Stacked bars: weights, KV cache and allowance for each quantization of one model."""
    if len(estimates) != len(labels):
        raise ValueError(f"{len(estimates)} estimates but {len(labels)} labels")
    parts = (
        ("weights", [e.weights_gb for e in estimates]),
        ("KV cache", [e.kv_cache_gb or 0.0 for e in estimates]),
        ("allowance (10%, assumed)", [e.overhead_gb for e in estimates]),
    )
    fig = go.Figure(
        [
            go.Bar(x=list(labels), y=ys, name=name, hovertemplate="%{x}: %{y:.2f} GB<extra></extra>")
            for name, ys in parts
        ]
    )
    fig.update_layout(barmode="stack", title="Estimated memory by quantization", yaxis_title="GB")
    return fig
