"""Every failure of the ``ollama`` client, its transport or its JSON, as a chat-contract error with a fix.

The client raises ``ResponseError`` for HTTP errors (``status_code == -1`` for an ``{"error"}``
line inside a 200 stream), ``ConnectionError`` or a raw ``httpx.ConnectError`` (a stream's
first ``next()``) for a dead host, ``httpx`` timeouts, and pydantic/JSON errors when the server
is not Ollama at all. ``to_backend_error`` maps each to ``BackendUnavailable``, ``ModelNotFound``,
``ServerBusy``, ``StreamInterrupted`` (keeping the partial text) or ``BackendError``. Server text
is shortened and stripped of tags (``clean``) before it reaches a message.

Example:
    >>> clean("<h1>Bad   gateway</h1>")
    'Bad gateway'
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

import httpx
import ollama
import pydantic

from slm_lib.chat import BackendError, BackendUnavailable, ModelNotFound, ServerBusy, StreamInterrupted

__all__ = ["ErrorContext", "clean", "not_ollama", "to_backend_error"]


@dataclass(frozen=True)
class ErrorContext:
    """What a message needs to say where and how the request was made."""

    host: str
    read_timeout: float
    retries: int
    hosted: bool


def clean(text: object, limit: int = 200) -> str:
    """A server's error text, safe and short enough to show: no tags, one line, capped."""
    plain = re.sub(r"<[^>]*>", " ", html.unescape(str(text)))
    plain = " ".join(plain.split())
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<") or "<html" in head or "<!doctype" in head


def not_ollama(host: str) -> BackendUnavailable:
    """The server answered, but not like Ollama (a web page, another service)."""
    return BackendUnavailable(
        f"The server at {host} did not answer like Ollama (no Ollama JSON; a web page or another "
        "service?). Check the host and port; Ollama listens on 11434 by default."
    )


def to_backend_error(
    exc: BaseException, where: ErrorContext, model: str | None = None, partial: str = "", streaming: bool = False
) -> BackendError:
    """Turn any client, transport or parsing error into a base error with an actionable message."""
    what, host = (f" for {model}" if model else ""), where.host
    if isinstance(exc, ollama.ResponseError):
        code, msg = exc.status_code, str(exc.error)
        if code == -1:  # an {"error": ...} line inside a 200 stream
            text = f"Ollama reported an error in the middle of the answer{what}: {clean(msg)}"
            return StreamInterrupted(text, partial)
        if _looks_like_html(msg):
            return not_ollama(where.host)
        low = msg.lower()
        named = model is not None and "not found" in low and model.lower() in low
        if code == 404 and model and ("try pulling" in low or named):
            fix = "ask the app's operator to run" if where.hosted else "run"
            text = f"Model {model!r} is not installed on Ollama at {host}: {fix} `ollama pull {model}`."
            return ModelNotFound(text)
        if code in (429, 503):
            return ServerBusy(
                f"Ollama at {host} is busy ({code}: {clean(msg)}); tried {where.retries + 1} times. "
                "Wait a moment and run again, or raise OLLAMA_NUM_PARALLEL / OLLAMA_MAX_QUEUE."
            )
        if 300 <= code < 400:
            return BackendUnavailable(f"{host} answered with a redirect ({code}); not followed.")
        if code in (401, 403):
            return BackendError(f"Ollama at {host} refused the request ({code}: {clean(msg)}).")
        if code == 404:
            return BackendUnavailable(f"{host} has no Ollama API (404: {clean(msg)}). Check the host.")
        return BackendError(f"Ollama failed{what} ({code}: {clean(msg)}).")
    if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
        # ConnectionError: the client wraps it (non-streaming); httpx.ConnectError: a stream's 1st next().
        return BackendUnavailable(
            f"Ollama is not reachable at {host}. Start it with `ollama serve`, or set the host "
            "(sidebar or OLLAMA_HOST)."
        )
    if isinstance(exc, httpx.ReadTimeout):
        if streaming or partial:
            text = f"Ollama stopped sending{what} for {where.read_timeout:g} s (read timeout)."
            return StreamInterrupted(text, partial)
        return BackendUnavailable(
            f"Ollama at {host} accepted the connection but did not answer within {where.read_timeout:g} s "
            "(read timeout). It may be stuck or loading a large model: check `ollama ps`, then try again."
        )
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnavailable(f"The request to Ollama at {host} timed out ({type(exc).__name__}).")
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        if streaming or partial:
            text = f"The connection to Ollama dropped in the middle of the answer{what}."
            return StreamInterrupted(text, partial)
        return BackendUnavailable(f"Ollama at {host} closed the connection without answering.")
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError | UnicodeDecodeError):
        return not_ollama(where.host)
    if isinstance(exc, httpx.HTTPError):
        return BackendUnavailable(f"Could not talk to Ollama at {host}: {type(exc).__name__}.")
    name = type(exc).__name__
    return BackendError(f"Unexpected error from the Ollama client{what}: {name}: {clean(exc)}")
