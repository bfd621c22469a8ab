"""What Ollama's API returns, as this app's typed records: installed models, model details, pull
progress, and the stats of one answer (Ollama reports every duration in nanoseconds).

Example:
    >>> PullProgress("pulling", completed=50, total=200).fraction
    0.25
"""

from __future__ import annotations

from dataclasses import dataclass

import ollama

from slm_lib.chat import ChatStats

__all__ = ["InstalledModel", "ModelDetails", "PullProgress", "chat_stats"]

_NS = 1e9  # nanoseconds per second


@dataclass(frozen=True)
class InstalledModel:
    """One model on the server, from ``/api/tags``."""

    name: str
    size_bytes: int
    quantization: str
    family: str
    params: str  # as Ollama reports it, e.g. "1.2B"


@dataclass(frozen=True)
class ModelDetails:
    """More facts about one installed model, from ``/api/show``."""

    name: str
    family: str
    params: str
    quantization: str
    parameter_count: int | None
    context_length: int | None


@dataclass(frozen=True)
class PullProgress:
    """One progress line of a pull. ``completed``/``total`` are bytes of the current layer (0 if unknown)."""

    status: str
    completed: int = 0
    total: int = 0
    digest: str = ""

    @property
    def fraction(self) -> float | None:
        """Bytes done / total for a download line, else None."""
        return min(1.0, max(0.0, self.completed / self.total)) if self.total > 0 else None


def chat_stats(final: ollama.ChatResponse, measured_ttft: float) -> ChatStats:
    """ChatStats from Ollama's final message (durations in ns); TTFT = load + prompt evaluation.

    Ollama leaves out fields that are 0. A value the transport guard found unusable arrives as -1 and
    ends up in ``ChatStats.unknown`` (a rate computed from it is unknown too); the TTFT then falls back
    to this app's own measurement.
    """

    def raw(name: str) -> float:
        value = getattr(final, name, None)
        return 0 if value is None else value

    eval_count, eval_ns = raw("eval_count"), raw("eval_duration")
    load_ns, prompt_ns = raw("load_duration"), raw("prompt_eval_duration")
    server_ttft = (load_ns + prompt_ns) / _NS if min(load_ns, prompt_ns) >= 0 else 0.0
    if min(eval_count, eval_ns) < 0:
        rate = -1.0  # unknown
    else:
        rate = eval_count / eval_ns * _NS if eval_ns > 0 else 0.0
    return ChatStats(
        prompt_tokens=raw("prompt_eval_count"),
        completion_tokens=eval_count,
        load_seconds=load_ns / _NS,
        ttft_seconds=server_ttft if server_ttft > 0 else measured_ttft,
        total_seconds=raw("total_duration") / _NS,
        tokens_per_second=rate,
    )
