"""The contract every chat backend honours (embedded SmolLM2, Ollama), and asking one model safely.

A backend lists its models, streams plain ``str`` chunks for a list of chat
messages, and reports timing stats when the stream ends. ``ask`` is the one
place that turns a backend call into a ``ChatResult``, whatever goes wrong:
the playground and evaluation runs both use it.

Example:
    >>> check_prompt_length([{"role": "user", "content": "Hi"}], max_chars=100)
    2
    >>> ChatOptions(temperature=0.7).max_new_tokens
    128
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

from slm_lib import settings
from slm_lib.jobs.job import Place
from slm_lib.jobs.watch import watching

__all__ = [
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "ChatOptions",
    "ChatResult",
    "ChatStats",
    "ChatStream",
    "Lane",
    "Message",
    "ModelNotFound",
    "PromptTooLong",
    "ServerBusy",
    "StreamInterrupted",
    "ask",
    "check_prompt_length",
    "check_temperature",
]

_CAPPED = "Stopped at the answer length cap."
TEMPERATURE_RANGE = (0.0, 2.0)  # 0 is greedy; above 2 every backend produces noise

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
        check_temperature(self.temperature)
        if not 1 <= self.max_new_tokens <= 4096:
            raise ValueError(f"max_new_tokens must be in [1, 4096], got {self.max_new_tokens}")


@dataclass(frozen=True)
class ChatStats:
    """Timing and token counts for one answer (seconds, tokens).

    ``source`` says where the numbers come from when a backend cannot measure them all itself:
    ``""`` the backend's own counts and clocks (embedded, Ollama); ``"usage"`` token counts from the
    server's ``usage``, times measured by the app; ``"timings"`` the server's own timings (llama.cpp);
    ``"estimated"`` no ``usage`` was sent, so tokens are counted from streamed chunks (about one token
    each) and times measured by the app.

    Servers are outside the code: a value no real answer can have (NaN, infinite, negative, a count
    above ``MAX_TOKENS`` or a duration above ``MAX_SECONDS``, or not a number at all) is recorded as
    unknown: the field reads 0 and its name is listed in ``unknown``, so one bad reply never aborts
    a run or a resume.

    Example:
        >>> ChatStats(completion_tokens=10**30, total_seconds=-5.0).unknown
        ('completion_tokens', 'total_seconds')
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    load_seconds: float = 0.0
    ttft_seconds: float = 0.0
    total_seconds: float = 0.0
    tokens_per_second: float = 0.0
    source: str = ""
    unknown: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [name for name in self.unknown if name in _STAT_BOUNDS]
        for name, (kind, high) in _STAT_BOUNDS.items():
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if ok and 0 <= value <= high and (kind is float or float(value).is_integer()):
                object.__setattr__(self, name, kind(value))
                continue
            object.__setattr__(self, name, kind(0))  # frozen: normalised once, here
            if name not in unknown:
                unknown.append(name)
        object.__setattr__(self, "unknown", tuple(n for n in _STAT_BOUNDS if n in unknown))

    def known(self, name: str) -> bool:
        """False when the server sent no usable value for ``name``."""
        return name not in self.unknown


MAX_TOKENS = 10**8  # no prompt or answer is longer (context windows are ~10**6)
MAX_SECONDS = 10**6  # about 11 days
_STAT_BOUNDS: dict[str, tuple[type, float]] = {
    "prompt_tokens": (int, MAX_TOKENS),
    "completion_tokens": (int, MAX_TOKENS),
    "load_seconds": (float, MAX_SECONDS),
    "ttft_seconds": (float, MAX_SECONDS),
    "total_seconds": (float, MAX_SECONDS),
    "tokens_per_second": (float, 10**7),
}


@dataclass(frozen=True)
class ChatResult:
    """A whole answer plus its stats.

    ``complete`` is False when the answer did not end normally; ``error`` then says why.
    ``truncated``: generation was stopped at the answer length cap (``text`` is what was kept).
    ``fatal``: asking this model again is pointless (unreachable, not installed).
    ``retryable``: the server was busy (429/503); the same request may work a little later.
    """

    model: str
    text: str
    stats: ChatStats
    complete: bool = True
    error: str | None = None
    truncated: bool = False
    fatal: bool = False
    retryable: bool = False


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


class Lane(NamedTuple):
    """Requests that share one server, and how many of them may run at once.

    A backend may offer ``lane(model) -> Lane``; evaluation runs dispatch lanes concurrently and
    keep at most ``limit`` requests in flight in each. Without it a backend's models share one
    lane named after its kind, one request at a time (right for a CPU or a laptop Ollama).
    """

    name: str
    limit: int = 1


@runtime_checkable
class Backend(Protocol):
    """What every backend offers (and optionally ``lane(model) -> Lane``, see ``Lane``)."""

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


def check_temperature(value: float) -> float:
    """Return ``value`` when it is a usable temperature, else raise ValueError naming it.

    Example:
        >>> check_temperature(0.7)
        0.7
    """
    low, high = TEMPERATURE_RANGE
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value) or not low <= value <= high:
        raise ValueError(f"temperature must be in [{low:g}, {high:g}], got {value}")
    return float(value)


def check_prompt_length(messages: Sequence[Message], max_chars: int | None = None) -> int:
    """Total characters of the messages; raises PromptTooLong over the cap (``limits().max_prompt_chars``).

    The one prompt-length check: pages, runs and every backend call it before any model call,
    because a widget's ``max_chars`` is only a browser-side hint.
    """
    cap = settings.limits().max_prompt_chars if max_chars is None else max_chars
    size = sum(len(str(m.get("content", ""))) for m in messages)
    if size > cap:
        raise PromptTooLong(
            f"The prompt has {size:,} characters; this app allows {cap:,} (the limit for one prompt). "
            "Shorten the question, template or system prompt."
        )
    return size


def ask(
    backend: Backend,
    model: str,
    messages: list[Message],
    options: ChatOptions | None = None,
    *,
    max_chars: int | None = None,
    on_text: Callable[[str], None] | None = None,
    on_place: Callable[[Place | None], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ChatResult:
    """Ask one model and return its answer as a ``ChatResult``; never raises for a backend failure.

    With ``on_text`` the answer is streamed and ``on_text(text_so_far)`` is called after each chunk;
    without it ``backend.chat`` is used. Generation stops once the answer passes ``max_chars``
    (default ``limits().max_answer_chars``): ``truncated`` then says so. Failures become
    ``complete=False`` results with a message: a stream that broke keeps its partial text, an
    unreachable backend or missing model is ``fatal``, and an unexpected error is described
    without internals in the hosted app.

    When the app is at its generation cap the answer waits its turn: ``on_place(place)`` hears where it
    stands (``None`` once it starts). ``should_stop()`` True gives up the place or stops the answer.

    Example:
        result = ask(backend, "smollm2-135m", [{"role": "user", "content": "Hi"}])
        result.text if result.complete else result.error
    """
    cap = settings.limits().max_answer_chars if max_chars is None else max_chars
    with watching(on_place, should_stop):  # whatever waits for a slot below reports here
        return _ask(backend, model, messages, options, cap, on_text, should_stop)


def _ask(
    backend: Backend,
    model: str,
    messages: list[Message],
    options: ChatOptions | None,
    cap: int,
    on_text: Callable[[str], None] | None,
    should_stop: Callable[[], bool] | None,
) -> ChatResult:
    text = ""
    stream: ChatStream | None = None
    try:
        check_prompt_length(messages)
        if on_text is None:
            result = backend.chat(model, messages, options)
            if len(result.text) > cap:
                return ChatResult(model, result.text[:cap], result.stats, False, _CAPPED, truncated=True)
            return result
        stream = backend.stream_chat(model, messages, options)
        for chunk in stream:
            text += chunk
            if len(text) > cap:
                return ChatResult(model, text[:cap], ChatStats(), False, _CAPPED, truncated=True)
            if should_stop is not None and should_stop():
                return ChatResult(model, text, ChatStats(), False, "Stopped before the answer was complete.")
            on_text(text)
    except StreamInterrupted as exc:
        return ChatResult(model, (exc.partial or text)[:cap], ChatStats(), False, str(exc))
    except (BackendUnavailable, ModelNotFound) as exc:
        return ChatResult(model, text, ChatStats(), False, str(exc), fatal=True)
    except ServerBusy as exc:
        return ChatResult(model, text, ChatStats(), False, str(exc), retryable=True)
    except (BackendError, ValueError) as exc:
        return ChatResult(model, text, ChatStats(), False, str(exc))
    except Exception as exc:  # one broken answer must not take a comparison or a run down
        detail = "" if settings.is_hosted() else f": {type(exc).__name__}: {exc}"  # no internals in public
        return ChatResult(model, text, ChatStats(), False, f"Unexpected error{detail}")
    finally:
        close = getattr(stream.chunks, "close", None) if stream is not None else None
        if close is not None:
            close()  # stops a generation the caller left early (cap, Stop, a closed tab): its slot is freed
    return ChatResult(model, text, stream.stats or ChatStats())
