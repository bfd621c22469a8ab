"""Streamlit helpers for the compression lab pages (distillation, pruning, quantization).

- ``teacher_model()``: the shipped teacher, loaded once per process (shared: never modify it; library
  functions deep-copy before changing a model).
- ``teacher_summary()``: its measured size and held-out scores (cached data).
- ``train_distilled(config, on_step)``: a distillation run as a queued job (``app_ui.jobs_ui``), so one busy server
  stays usable: visitors over the training cap wait their turn and see their place.
- ``result_store(name)``: a small process-wide store of finished runs keyed by a config string.
- chart builders for loss curves and soft targets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict

import plotly.graph_objects as go
import streamlit as st

from app_ui.jobs_ui import run_job
from slm_lib.compress.distill import DistillConfig, DistillProgress, DistillResult
from slm_lib.jobs import MEASURE, TRAIN
from slm_lib.tiny import TinyLM, load_teacher

__all__ = [
    "ResultStore",
    "char_label",
    "config_key",
    "distill_table",
    "loss_chart",
    "result_store",
    "soft_target_chart",
    "teacher_model",
    "teacher_summary",
    "train_distilled",
]


@st.cache_resource(show_spinner="Loading the teacher…")
def teacher_model() -> TinyLM:
    """The shipped teacher, shared by every session: read-only."""
    return load_teacher()


@st.cache_data(show_spinner="Measuring the teacher…")
def teacher_summary() -> dict[str, float | int | str]:
    """Params, stored bytes, held-out accuracy / perplexity, latency and training recipe of the teacher.

    Measured once per server, as a job in a worker (it scores the whole held-out text), not on the
    interpreter that serves pages.
    """
    return run_job(MEASURE, "slm_lib.compress.tasks:teacher_summary_task", {})


def train_distilled(config: DistillConfig, on_step: Callable[[DistillProgress], None]) -> DistillResult:
    """Run ``distill`` on the teacher as a queued training job; ``on_step`` gets each step's progress."""
    return run_job(TRAIN, "slm_lib.compress.tasks:distill_task", {"config": config}, on_event=on_step)


class ResultStore:
    """A bounded, thread-safe mapping from config key to a finished result (oldest dropped first)."""

    def __init__(self, capacity: int = 12) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> object | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            return self._items.get(key)

    def put(self, key: str, value: object) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


@st.cache_resource
def result_store(name: str) -> ResultStore:
    """The process-wide store for one page's finished runs (same settings → same result, no retraining)."""
    return ResultStore()


def config_key(config: object) -> str:
    """A plain string id for a frozen config dataclass."""
    return repr(sorted(asdict(config).items()))  # type: ignore[call-overload]


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


def distill_table(result: DistillResult) -> list[dict[str, object]]:
    """Rows for the distillation results table: teacher, distilled student, hard-label student."""
    teacher = result.teacher
    named = (("Teacher", teacher), ("Distilled student", result.distilled), ("Hard-label student", result.baseline))
    return [
        {
            "model": name,
            "params": rep.params,
            "% of teacher params": 100 * rep.params / teacher.params,
            "stored (KB, fp32)": rep.stored_bytes / 1000,
            "held-out accuracy": rep.accuracy,
            "perplexity": rep.perplexity,
            "ms per character": rep.ms_per_token,
            "% of teacher accuracy": 100 * rep.retained,
        }
        for name, rep in named
    ]
