"""Plotly figures for the catalog pages, built only from sourced card facts (pure: no streamlit).

Example:
    fig = params_vs_mmlu_figure(load_models())
    fig.data[0].name   # 'SLM'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go

from slm_lib.catalog.cards import ModelCard
from slm_lib.catalog.memory import MemoryEstimate

__all__ = [
    "WEIGHT_BITS",
    "benchmark_figure",
    "label_overlaps",
    "label_positions",
    "memory_breakdown_figure",
    "params_vs_mmlu_caption",
    "params_vs_mmlu_figure",
    "weights_memory_figure",
]

WEIGHT_BITS = {"fp16": 16, "int8": 8, "int4": 4}
_COLORS = {"SLM": "#1f77b4", "LLM": "#d62728"}


# Where a point's label may go, tried in this order, as (plotly textposition, dx, dy) in label-box units.
_SPOTS = (
    ("top center", 0.0, 0.6),
    ("bottom center", 0.0, -0.6),
    ("middle right", 0.55, 0.0),
    ("middle left", -0.55, 0.0),
    ("top right", 0.55, 0.6),
    ("bottom right", 0.55, -0.6),
    ("top left", -0.55, 0.6),
    ("bottom left", -0.55, -0.6),
)


_Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, y up


def _pixels(xs: Sequence[float], ys: Sequence[float], log_x: bool, log_y: bool, size: tuple[float, float]):  # noqa: ANN202
    def scaled(values: Sequence[float], log: bool) -> list[float]:
        vals = [math.log10(v) if log and v > 0 else float(v) for v in values]
        lo, hi = min(vals, default=0.0), max(vals, default=1.0)
        span = (hi - lo) or 1.0
        return [(v - lo) / span for v in vals]

    return [v * size[0] for v in scaled(xs, log_x)], [v * size[1] for v in scaled(ys, log_y)]


def _label_box(x: float, y: float, text: str, spot: str) -> _Box:
    """Where plotly draws ``text`` for a point at (x, y) px: about 7 px per character, 16 px high."""
    w, h = 7.0 * len(text) + 4, 16.0
    dx, dy = {name: (dx, dy) for name, dx, dy in _SPOTS}[spot]
    cx, cy = x + dx * (w + 10), y + dy * (h + 10)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _overlap(a: _Box, b: _Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def label_positions(
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    log_x: bool = False,
    log_y: bool = False,
    size: tuple[float, float] = (700, 380),
) -> list[str]:
    """A plotly ``textposition`` per point so that point labels overlap each other and the points as little
    as possible (greedy, in x order; each label takes the first spot with the least overlap).

    Label boxes are estimated at 7 px per character and 16 px high on a plot of ``size`` pixels.

    Example:
        >>> label_positions([1, 1.01, 5], [0.5, 0.5, 0.9], ["a model", "another", "far away"])
        ['top center', 'bottom center', 'top center']
    """
    if not len(xs) == len(ys) == len(texts):
        raise ValueError(f"{len(xs)} xs, {len(ys)} ys and {len(texts)} texts must match")
    px_x, px_y = _pixels(xs, ys, log_x, log_y, size)
    dots = [(x - 5, y - 5, x + 5, y + 5) for x, y in zip(px_x, px_y, strict=True)]
    placed: list[_Box] = []
    out = [""] * len(xs)
    for i in sorted(range(len(xs)), key=lambda i: (px_x[i], px_y[i])):
        best: tuple[float, str, _Box] | None = None
        for spot, _, _ in _SPOTS:
            box = _label_box(px_x[i], px_y[i], texts[i], spot)
            cost = sum(_overlap(box, b) for b in placed) + sum(_overlap(box, d) for d in dots)
            if best is None or cost < best[0]:
                best = (cost, spot, box)
            if cost == 0:
                break
        assert best is not None
        out[i] = best[1]
        placed.append(best[2])
    return out


def label_overlaps(
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    positions: Sequence[str],
    log_x: bool = False,
    log_y: bool = False,
    size: tuple[float, float] = (700, 380),
) -> int:
    """How many pairs of labels overlap when placed at ``positions`` (the check behind :func:`label_positions`)."""
    px_x, px_y = _pixels(xs, ys, log_x, log_y, size)
    boxes = [_label_box(x, y, t, p) for x, y, t, p in zip(px_x, px_y, texts, positions, strict=True)]
    return sum(_overlap(a, b) > 0 for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def _kind(card: ModelCard) -> str:
    return "LLM" if card.is_llm else "SLM"


def params_vs_mmlu_figure(cards: Iterable[ModelCard]) -> go.Figure:
    """Parameters (log scale) against 5-shot MMLU, SLMs and reference LLMs as two series.

    Only cards with a published parameter count *and* a published 5-shot MMLU appear; hover shows
    the model, its score details, the source and the release date.
    """
    fig = go.Figure()
    shown = [c for c in cards if c.params_b is not None and c.mmlu is not None]
    for kind in ("SLM", "LLM"):
        group = [c for c in shown if _kind(c) == kind]
        fig.add_trace(
            go.Scatter(
                x=[c.params_b for c in group],
                y=[c.mmlu.score for c in group],  # type: ignore[union-attr]
                mode="markers+text",
                name=kind,
                text=[c.name for c in group],
                marker={"size": 11, "color": _COLORS[kind], "symbol": "circle" if kind == "SLM" else "diamond"},
                customdata=[
                    [c.mmlu.label(), c.mmlu.source, c.release or "not published"]  # type: ignore[union-attr]
                    for c in group
                ],
                hovertemplate="<b>%{text}</b><br>%{x:.3g} B parameters<br>MMLU %{customdata[0]}"
                "<br>source: %{customdata[1]}<br>released: %{customdata[2]}<extra></extra>",
            )
        )
    everyone = [p for trace in fig.data for p in zip(trace.x, trace.y, trace.text, strict=True)]
    spots = iter(label_positions(*zip(*everyone, strict=True), log_x=True) if everyone else [])
    for trace in fig.data:  # one de-overlap over both series, so SLM and LLM labels avoid each other too
        trace.textposition = [next(spots) for _ in trace.x]
    fig.update_xaxes(type="log", title="parameters (billions, log scale)")
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
