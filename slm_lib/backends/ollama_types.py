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
        return min(1.0, self.completed / self.total) if self.total else None


def chat_stats(final: ollama.ChatResponse, measured_ttft: float) -> ChatStats:
    """ChatStats from Ollama's final message (durations in ns); TTFT = load + prompt evaluation."""

    def sec(name: str) -> float:
        return float(getattr(final, name, None) or 0) / _NS

    eval_count = int(final.eval_count or 0)
    eval_s = sec("eval_duration")
    server_ttft = sec("load_duration") + sec("prompt_eval_duration")
    return ChatStats(
        prompt_tokens=int(final.prompt_eval_count or 0),
        completion_tokens=eval_count,
        load_seconds=sec("load_duration"),
        ttft_seconds=server_ttft if server_ttft > 0 else measured_ttft,
        total_seconds=sec("total_duration"),
        tokens_per_second=eval_count / eval_s if eval_s > 0 else 0.0,
    )
