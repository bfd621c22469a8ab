"""Every failure of an OpenAI-compatible server, as a chat-contract error whose message says what to do.

Servers word their errors differently: OpenAI, vLLM and Ollama's ``/v1`` send
``{"error": {"message": ...}}``, vLLM also ``{"object": "error", "message": ...}``, FastAPI-based
servers (``transformers serve``, llama-cpp-python) ``{"detail": ...}``. ``HTTPStatus`` carries the
status, the server's message (``clean``: no tags, one line, capped) and ``Retry-After``;
``to_backend_error`` maps it, and every transport or parsing error, to ``BackendUnavailable``,
``ModelNotFound``, ``ServerBusy``, ``StreamInterrupted`` (keeping the partial text) or ``BackendError``.

Example:
    >>> server_message(b'{"error": {"message": "The model `x` does not exist."}}')
    'The model `x` does not exist.'
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from slm_lib.backends.ollama_errors import clean
from slm_lib.chat import BackendError, BackendUnavailable, ModelNotFound, ServerBusy, StreamInterrupted

__all__ = [
    "EndpointContext",
    "HTTPStatus",
    "NotOpenAI",
    "not_openai",
    "server_message",
    "status_error",
    "to_backend_error",
]

# Words servers use when the model named in a request is not the one (or one of those) they serve.
_NOT_SERVED = ("not found", "does not exist", "not exist", "pinned", "unknown model", "not served", "no model")


@dataclass(frozen=True)
class EndpointContext:
    """What a message needs to say where and how the request was made (never the key itself)."""

    name: str
    base_url: str
    has_key: bool
    read_timeout: float
    retries: int
    hosted: bool

    @property
    def where(self) -> str:
        return f"endpoint '{self.name}' ({self.base_url})"


class HTTPStatus(Exception):
    """A non-200 answer: its status, the server's cleaned message, and the Retry-After seconds if any."""

    def __init__(self, code: int, message: str, retry_after: float | None = None, html: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retry_after, self.html = code, message, retry_after, html


class NotOpenAI(Exception):
    """The server answered 200 but not in the OpenAI format (a web page, another API, broken SSE)."""


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<") or "<html" in head or "<!doctype" in head


def server_message(body: bytes) -> str:
    """The human part of an error body, whatever its shape; cleaned and capped for a message."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return clean(text) if text.strip() else "no details"
    found: object = data
    if isinstance(data, dict):
        err = data.get("error")
        detail = data.get("detail")
        if isinstance(err, dict):
            found = err.get("message") or err
        elif isinstance(err, str):
            found = err
        elif isinstance(detail, list) and detail and isinstance(detail[0], dict):  # FastAPI validation errors
            found = "; ".join(str(d.get("msg", d)) for d in detail[:3])
        elif detail is not None:
            found = detail
        elif isinstance(data.get("message"), str):
            found = data["message"]
    return clean(found) or "no details"


def status_error(code: int, body: bytes, headers: httpx.Headers) -> HTTPStatus:
    """``HTTPStatus`` from a response's status, (capped) body and headers."""
    retry_after = None
    raw = headers.get("retry-after", "")
    if raw.strip().isdigit():
        retry_after = float(raw.strip())
    text = body.decode("utf-8", "replace")
    return HTTPStatus(code, server_message(body), retry_after, _looks_like_html(text))


def not_openai(ctx: EndpointContext, detail: str = "") -> BackendUnavailable:
    """The server answered, but not like an OpenAI-compatible API."""
    more = f" ({detail})" if detail else ""
    return BackendUnavailable(
        f"The server at {ctx.where} did not answer like an OpenAI-compatible API{more}. Check the base URL: "
        "it usually ends in /v1 (vLLM, llama.cpp, LM Studio, `transformers serve`, Ollama's /v1 route)."
    )


def _status_to_error(exc: HTTPStatus, ctx: EndpointContext, model: str | None, listing: bool) -> BackendError:
    code, msg, where = exc.code, exc.message, ctx.where
    what = f" for {model}" if model else ""
    if exc.html and code not in (401, 403, 429, 503):
        return not_openai(ctx, f"{code} with a web page")
    if code == 401:
        if not ctx.has_key:
            fix = "ask the app's operator to set its key" if ctx.hosted else "give its API key (sidebar or api_key_env)"
            return BackendUnavailable(f"{where} needs an API key (401: {msg}): {fix}.")
        return BackendUnavailable(f"{where} rejected the API key (401: {msg}): check the key configured for it.")
    if code == 403:
        return BackendUnavailable(f"{where} refused access (403: {msg}): the key lacks permission for this.")
    if code in (429, 503):
        return ServerBusy(
            f"{where} is busy ({code}: {msg}); tried {ctx.retries + 1} times. Wait a moment and run again, "
            "or lower this endpoint's max_concurrency."
        )
    if 300 <= code < 400:
        return BackendUnavailable(f"{where} answered with a redirect ({code}); not followed. Use the final URL.")
    low = msg.lower()
    named = model is not None and model.lower() in low
    not_served = (code == 404 and (named or "model" in low)) or (
        code in (400, 422) and named and any(w in low for w in _NOT_SERVED)
    )
    if model and not listing and not_served:
        return ModelNotFound(f"Model {model!r} is not served by {where} ({code}: {msg}). Pick one it lists.")
    if code == 404:
        return not_openai(ctx, f"404 on {'/models' if listing else '/chat/completions'}: {msg}")
    if code >= 500:
        return BackendError(f"{where} failed{what} with a server error ({code}: {msg}).")
    return BackendError(f"{where} refused the request{what} ({code}: {msg}).")


def to_backend_error(
    exc: BaseException,
    ctx: EndpointContext,
    model: str | None = None,
    partial: str = "",
    streaming: bool = False,
    listing: bool = False,
) -> BackendError:
    """Turn any status, transport or parsing error into a base error with an actionable message."""
    what, where = (f" for {model}" if model else ""), ctx.where
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, HTTPStatus):
        return _status_to_error(exc, ctx, model, listing)
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return BackendUnavailable(
            f"Nothing answers at {where}: is the server running? Start it (e.g. `vllm serve MODEL`, "
            "`transformers serve`, `llama-server`) or fix the base URL."
        )
    if isinstance(exc, httpx.ReadTimeout):
        if streaming or partial:
            return StreamInterrupted(
                f"{where} stopped sending{what} for {ctx.read_timeout:g} s (read timeout).", partial
            )
        return BackendUnavailable(
            f"{where} accepted the connection but did not answer within {ctx.read_timeout:g} s (read timeout). "
            "It may be stuck or still loading the model; try again later."
        )
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnavailable(f"The request to {where} timed out ({type(exc).__name__}).")
    if isinstance(exc, NotOpenAI | json.JSONDecodeError | UnicodeDecodeError):
        if streaming or partial:
            text = f"{where} sent something that is not OpenAI stream data in the middle of the answer{what}."
            return StreamInterrupted(text, partial)
        return not_openai(ctx, clean(exc, 120))
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        if streaming or partial:
            return StreamInterrupted(f"The connection to {where} dropped in the middle of the answer{what}.", partial)
        return BackendUnavailable(f"{where} closed the connection without answering.")
    if isinstance(exc, httpx.HTTPError):
        return BackendUnavailable(f"Could not talk to {where}: {type(exc).__name__}.")
    return BackendError(f"Unexpected error from {where}{what}: {type(exc).__name__}: {clean(exc)}")
