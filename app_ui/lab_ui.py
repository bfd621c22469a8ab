"""Streamlit helpers for the compression lab pages (distillation, pruning, quantization).

- ``teacher_model()``: the shipped teacher, loaded once per process (shared: never modify it; library
  functions deep-copy before changing a model).
- ``teacher_summary()``: its measured size and held-out scores (cached data).
- ``training_slot()``: a process-wide cap on concurrent training runs, so one busy server stays usable.
- ``result_store(name)``: a small process-wide store of finished runs keyed by a config string.
- ``config_key`` and ``distill_table``: a run's cache key and the distillation results table.

The lab's figures are in :mod:`slm_lib.compress.charts`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import streamlit as st

from slm_lib.compress.distill import DistillResult
from slm_lib.settings import limits
from slm_lib.tiny import (
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
    "config_key",
    "distill_table",
    "result_store",
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
    scores = evaluate(teacher)
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
