"""The contract every chat backend honours (embedded SmolLM2, Ollama).

A backend lists its models, streams plain ``str`` chunks for a list of chat
messages, and reports timing stats when the stream ends. Pages use
``stream_chat`` with ``st.write_stream``; batch code uses ``chat``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "ChatOptions",
    "ChatResult",
    "ChatStats",
    "ChatStream",
    "Message",
    "ModelNotFound",
    "PromptTooLong",
    "ServerBusy",
    "StreamInterrupted",
]

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}


class BackendError(RuntimeError):
    """A backend failed; the message says what happened and what to do."""


class BackendUnavailable(BackendError):
    """The backend cannot be reached or loaded at all."""


class ModelNotFound(BackendError):
    """The requested model is not installed on the backend."""


class ServerBusy(BackendError):
    """The server answered 429/503: try again later."""


class PromptTooLong(BackendError, ValueError):
    """The prompt exceeds the backend's length cap (checked before any model call)."""


class StreamInterrupted(BackendError):
    """The stream broke after some text arrived; ``partial`` holds that text."""

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial


@dataclass(frozen=True)
class ChatOptions:
    """Generation options shared by all backends.

    ``seed=None`` means "do not fix the seed". ``temperature == 0`` means greedy.
    """

    temperature: float = 0.0
    max_new_tokens: int = 128
    seed: int | None = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be in [0, 2], got {self.temperature}")
        if not 1 <= self.max_new_tokens <= 4096:
            raise ValueError(f"max_new_tokens must be in [1, 4096], got {self.max_new_tokens}")


@dataclass(frozen=True)
class ChatStats:
    """Timing and token counts for one answer (seconds, tokens)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    load_seconds: float = 0.0
    ttft_seconds: float = 0.0
    total_seconds: float = 0.0
    tokens_per_second: float = 0.0


@dataclass(frozen=True)
class ChatResult:
    """A whole answer plus its stats. ``complete`` is False when the stream broke."""

    model: str
    text: str
    stats: ChatStats
    complete: bool = True
    error: str | None = None


@dataclass
class ChatStream:
    """An iterator of text chunks; ``stats`` is filled in when iteration ends.

    Example:
        stream = backend.stream_chat("smollm2-135m", [{"role": "user", "content": "Hi"}])
        text = "".join(stream)   # or st.write_stream(stream)
        print(stream.stats.tokens_per_second)
    """

    chunks: Iterator[str]
    stats: ChatStats | None = None
    text: str = field(default="")

    def __iter__(self) -> Iterator[str]:
        for chunk in self.chunks:
            self.text += chunk
            yield chunk


@runtime_checkable
class Backend(Protocol):
    """What every backend offers."""

    kind: str

    def list_models(self) -> list[str]:
        """Names usable as ``model`` in the chat calls."""
        ...

    def stream_chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatStream:
        """Stream the answer; raises BackendError subclasses with actionable messages."""
        ...

    def chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatResult:
        """The whole answer with stats (``options`` default when omitted)."""
        ...
