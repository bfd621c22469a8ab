"""Streamlit helpers for the compression lab pages (distillation, pruning, quantization).

- ``teacher_model()``: the shipped teacher, loaded once per process (shared: never modify it; library
  functions deep-copy before changing a model).
- ``teacher_summary()``: its measured size and held-out scores (cached data).
- ``train_distilled(config, on_step)``: a distillation run as a queued job (``app_ui.jobs_ui``), so one busy server
  stays usable: visitors over the training cap wait their turn and see their place.
- ``result_store(name)``: a small process-wide store of finished runs keyed by a config string.
- ``config_key`` and ``distill_table``: a run's cache key and the distillation results table.

The lab's figures are in :mod:`slm_lib.compress.charts`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict

import streamlit as st

from app_ui.jobs_ui import run_job
from slm_lib.compress.distill import DistillConfig, DistillProgress, DistillResult
from slm_lib.jobs import MEASURE, TRAIN
from slm_lib.tiny import TinyLM, load_teacher

__all__ = [
    "ResultStore",
    "config_key",
    "distill_table",
    "result_store",
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

    Measured once per server, as a job in a worker (it scores the held-out split every lab page uses), not on the
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
