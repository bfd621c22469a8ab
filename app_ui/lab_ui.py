"""Streamlit helpers for the compression lab pages (distillation, pruning, quantization).

- ``teacher_model()``: the shipped teacher, loaded once per process (shared: never modify it; library
  functions deep-copy before changing a model).
- ``teacher_summary()``: its measured size and held-out scores (cached data).
- ``training_slot()``: a process-wide cap on concurrent training runs, so one busy server stays usable.
- ``result_store(name)``: a small process-wide store of finished runs keyed by a config string.
- chart builders for loss curves and soft targets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict

import plotly.graph_objects as go
import streamlit as st

from slm_lib.compress.distill import DistillResult
from slm_lib.settings import limits
from slm_lib.tiny import (
    LAB_EVAL,
    TEACHER_PATH,
    TinyLM,
    evaluate,
    load_teacher,
    measure_latency,
    param_count,
    read_metadata,
    stored_bytes,
)

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
    "training_slot",
]


@st.cache_resource(show_spinner="Loading the teacher…")
def teacher_model() -> TinyLM:
    """The shipped teacher, shared by every session: read-only."""
    return load_teacher()


@st.cache_data(show_spinner="Measuring the teacher…")
def teacher_summary() -> dict[str, float | int | str]:
    """Params, stored bytes, held-out accuracy / perplexity, latency and training recipe of the teacher."""
    teacher = teacher_model()
    scores = evaluate(teacher, "val", LAB_EVAL)
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


class _Slots:
    def __init__(self, n: int) -> None:
        self.semaphore = threading.BoundedSemaphore(n)


@st.cache_resource
def _slots() -> _Slots:
    return _Slots(limits().max_concurrent_generations)


@contextmanager
def training_slot() -> Iterator[bool]:
    """Yield True if a training slot was free (and hold it), False if the server is busy. Never blocks."""
    semaphore = _slots().semaphore
    acquired = semaphore.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            semaphore.release()


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
