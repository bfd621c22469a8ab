"""The Ollama backend: a local Ollama server through the official ``ollama`` client.

The client has three pitfalls this module closes: it has no timeout by default (a
server that accepts but never answers hangs forever), ``http://host`` without a port
means port 80, and a streaming call to a dead server raises a raw
``httpx.ConnectError`` only when iterated. Every failure becomes one of the
``slm_lib.chat`` errors with a message that says what to do.

Host rules (``normalize_host``): empty -> ``127.0.0.1:11434``; no port -> 11434,
also for ``http://host`` (Ollama never listens on 80 unless told to; ``https://``
without a port keeps 443, where TLS proxies listen); ``0.0.0.0`` (a *bind* address
from the server's own OLLAMA_HOST) -> ``127.0.0.1``; only http/https; no user
names, passwords, queries or fragments. In the hosted deployment only the
``OLLAMA_HOST`` from the environment is used, pulls are off and caps are lower.

Example:
    backend = OllamaBackend("localhost")            # -> http://localhost:11434
    for chunk in (stream := backend.stream_chat("llama3.2:1b", [{"role": "user", "content": "Hi"}])):
        print(chunk, end="")
    print(stream.stats.tokens_per_second)
"""

from __future__ import annotations

import html
import ipaddress
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import ollama
import pydantic

from slm_lib import settings
from slm_lib.chat import (
    BackendError,
    BackendUnavailable,
    ChatOptions,
    ChatResult,
    ChatStats,
    ChatStream,
    Message,
    ModelNotFound,
    PromptTooLong,
    ServerBusy,
    StreamInterrupted,
)

__all__ = [
    "DEFAULT_PORT",
    "InstalledModel",
    "ModelDetails",
    "OllamaBackend",
    "PullProgress",
    "normalize_host",
    "validate_tag",
]

DEFAULT_PORT = 11434
_NS = 1e9  # Ollama reports every duration in nanoseconds
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)*(:[A-Za-z0-9._-]+)?$")
_T = TypeVar("_T")


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


def normalize_host(raw: str | None) -> str:
    """Turn an OLLAMA_HOST-style value into ``scheme://host:port[/path]``.

    Raises:
        ValueError: naming the value and what is wrong with it.

    Example:
        >>> normalize_host("http://localhost"), normalize_host(":11435"), normalize_host("0.0.0.0")
        ('http://localhost:11434', 'http://127.0.0.1:11435', 'http://127.0.0.1:11434')
    """
    text = (raw or "").strip() or settings.ollama_host()
    if "://" in text:
        scheme, rest = text.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"Ollama host {raw!r}: scheme {scheme!r} is not supported; use http:// or https://")
    else:
        scheme, rest = "http", text
    if any(c.isspace() for c in rest):
        raise ValueError(f"Ollama host {raw!r} contains spaces")
    split = urllib.parse.urlsplit(f"{scheme}://{rest}")
    if split.username is not None or split.password is not None:
        raise ValueError(f"Ollama host {raw!r} must not contain a user name or password")
    if split.query or split.fragment:
        raise ValueError(f"Ollama host {raw!r} must not contain '?' or '#'")
    try:
        port = split.port
    except ValueError:
        raise ValueError(f"Ollama host {raw!r}: the port must be a number from 1 to 65535") from None
    if port == 0:
        raise ValueError(f"Ollama host {raw!r}: the port must be a number from 1 to 65535")
    hostname = split.hostname or "127.0.0.1"
    # 0.0.0.0 / :: mean "listen everywhere" on the server; a client reaches that server on loopback.
    if hostname in ("0.0.0.0", "::"):
        hostname = "127.0.0.1" if hostname == "0.0.0.0" else "::1"
    try:
        if ipaddress.ip_address(hostname).version == 6:
            hostname = f"[{hostname}]"
    except ValueError:
        pass
    if port is None:
        port = 443 if scheme == "https" else DEFAULT_PORT
    return f"{scheme}://{hostname}:{port}{split.path.rstrip('/')}"


def validate_tag(tag: str) -> str:
    """Check an Ollama model tag such as ``llama3.2:1b`` or ``library/qwen2:1.5b``; returns it stripped."""
    clean = (tag or "").strip()
    if not clean or len(clean) > 200 or not _TAG.match(clean):
        raise ValueError(f"{tag!r} is not an Ollama model tag (expected e.g. 'llama3.2:1b')")
    return clean


class _DropApiKey(httpx.Auth):
    """Removes the ``OLLAMA_API_KEY`` bearer header the client adds, so it never reaches a user-given host."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.pop("authorization", None)
        yield request


_GATES: dict[int, threading.BoundedSemaphore] = {}
_GATES_LOCK = threading.Lock()


def _gate(cap: int) -> threading.BoundedSemaphore:
    """One process-wide semaphore per cap: at most ``cap`` Ollama generations at once."""
    with _GATES_LOCK:
        return _GATES.setdefault(cap, threading.BoundedSemaphore(cap))


def _clean(text: object, limit: int = 200) -> str:
    """A server's error text, safe and short enough to show: no tags, one line, capped."""
    plain = re.sub(r"<[^>]*>", " ", html.unescape(str(text)))
    plain = " ".join(plain.split())
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<") or "<html" in head or "<!doctype" in head


class OllamaBackend:
    """Chat with models served by Ollama; see the module docstring for the host rules.

    Args:
        host: an OLLAMA_HOST-style value; None means the environment's ``OLLAMA_HOST``.
        connect_timeout: seconds to open a connection (a dead host fails this fast).
        read_timeout: seconds to wait for the next bytes (the first token of a cold 7B model
            can take a minute on a CPU).
        retries: extra attempts when the server answers 429/503 (busy).
        backoff: first wait between those attempts; doubled each time, capped at ``backoff_cap``.
        queue_wait: seconds to wait for a free generation slot before ``ServerBusy``.
    """

    kind = "ollama"

    def __init__(
        self,
        host: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 120.0,
        retries: int = 2,
        backoff: float = 0.5,
        backoff_cap: float = 4.0,
        queue_wait: float = 10.0,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError(f"timeouts must be > 0, got {connect_timeout} and {read_timeout}")
        if retries < 0 or backoff < 0 or backoff_cap < 0 or queue_wait < 0:
            raise ValueError("retries, backoff, backoff_cap and queue_wait must be >= 0")
        env_host = normalize_host(settings.ollama_host())
        self.hosted = settings.is_hosted()
        self.host = normalize_host(host) if host is not None and host.strip() else env_host
        if self.hosted and self.host != env_host:
            # A user-given URL on a public server is a request-forgery hole: refuse before any request.
            raise ValueError("The hosted app only uses its own Ollama server; custom hosts are disabled.")
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.retries, self.backoff, self.backoff_cap = retries, backoff, backoff_cap
        self.queue_wait = queue_wait
        self._own_host = self.host == env_host
        self._client = self._make_client(read_timeout)
        self._pull_client: ollama.Client | None = None

    def _make_client(self, read_timeout: float) -> ollama.Client:
        connect = self.connect_timeout
        timeout = httpx.Timeout(connect, read=read_timeout, write=read_timeout, pool=connect)
        extra: dict[str, Any] = {} if self._own_host else {"auth": _DropApiKey()}
        # Ollama's API never redirects; following one could reach an internal host.
        return ollama.Client(host=self.host, timeout=timeout, follow_redirects=False, **extra)

    def __repr__(self) -> str:
        return f"OllamaBackend(host={self.host!r})"

    # ---- listing ----

    def list_models(self) -> list[str]:
        """Names of the installed models (usable as ``model`` in the chat calls)."""
        return [m.name for m in self.installed()]

    def installed(self) -> list[InstalledModel]:
        """Installed models with size and quantization, sorted by name."""
        reply = self._call(lambda: self._client.list())
        models = []
        for m in reply.models:
            d = m.details
            models.append(
                InstalledModel(
                    name=m.model or "",
                    size_bytes=int(m.size or 0),
                    quantization=(d.quantization_level if d else None) or "?",
                    family=(d.family if d else None) or "?",
                    params=(d.parameter_size if d else None) or "?",
                )
            )
        return sorted((m for m in models if m.name), key=lambda m: m.name)

    def details(self, model: str) -> ModelDetails:
        """Family, size, quantization and context length of one installed model (``/api/show``)."""
        reply = self._call(lambda: self._client.show(model), model)
        info = dict(reply.modelinfo or {})
        arch = info.get("general.architecture", "")
        ctx = info.get(f"{arch}.context_length")
        count = info.get("general.parameter_count")
        d = reply.details
        return ModelDetails(
            name=model,
            family=(d.family if d else None) or arch or "?",
            params=(d.parameter_size if d else None) or "?",
            quantization=(d.quantization_level if d else None) or "?",
            parameter_count=int(count) if isinstance(count, int | float) else None,
            context_length=int(ctx) if isinstance(ctx, int | float) else None,
        )

    def version(self) -> str:
        """The server's version string (``/api/version``; the client has no call for it)."""
        timeout = httpx.Timeout(self.connect_timeout, read=self.read_timeout)

        def get() -> str:
            with httpx.Client(base_url=self.host, timeout=timeout, follow_redirects=False) as client:
                reply = client.get("/api/version")
                if reply.status_code != 200:
                    raise ollama.ResponseError(reply.text, reply.status_code)
                return str(reply.json()["version"])

        try:
            return self._call(get)
        except (KeyError, TypeError):
            raise self._not_ollama() from None

    # ---- pulling ----

    def pull(self, tag: str) -> Iterator[PullProgress]:
        """Download a model, yielding progress lines; the last one has status ``success``.

        Raises (on iteration) BackendError subclasses; BackendError at once in the hosted app.
        """
        if self.hosted:
            raise BackendError("Pulling models is disabled in the hosted app; ask its operator to pull them.")
        tag = validate_tag(tag)
        if self._pull_client is None:  # layers arrive slowly on a bad line: a longer read timeout
            self._pull_client = self._make_client(max(self.read_timeout, 300.0))
        return self._pull(self._pull_client, tag)

    def _pull(self, client: ollama.Client, tag: str) -> Iterator[PullProgress]:
        parts = self._call(lambda: iter(client.pull(tag, stream=True)), tag)
        try:
            while True:
                try:
                    part = next(parts)
                except StopIteration:
                    return
                except Exception as exc:
                    if isinstance(exc, ollama.ResponseError) and exc.status_code == -1:
                        raise BackendError(f"Pulling {tag} failed: {_clean(exc.error)}") from None
                    raise self._map(exc, tag) from None
                done, total = int(part.completed or 0), int(part.total or 0)
                yield PullProgress(part.status or "", done, total, part.digest or "")
        finally:
            close = getattr(parts, "close", None)
            if close is not None:
                close()

    # ---- chatting ----

    def stream_chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatStream:
        """Stream an answer; the request is sent (and connection, 404 and busy errors raised) here.

        Errors after the first chunk raise ``StreamInterrupted`` carrying the text so far.
        ``stream.stats`` is filled from Ollama's final message.
        """
        opts = options or ChatOptions()
        caps = settings.limits()
        size = sum(len(m.get("content", "")) for m in messages)
        if size > caps.max_prompt_chars:
            raise PromptTooLong(
                f"The prompt has {size:,} characters; this app allows {caps.max_prompt_chars:,}. Shorten it."
            )
        request: dict[str, Any] = {
            "temperature": opts.temperature,
            "num_predict": min(opts.max_new_tokens, caps.max_new_tokens),
        }
        if opts.seed is not None:
            request["seed"] = opts.seed
        gate = _gate(caps.max_concurrent_generations)
        if not gate.acquire(timeout=self.queue_wait):
            raise ServerBusy(
                f"{caps.max_concurrent_generations} generations are already running on this app; try again in a moment."
            )
        try:
            # Lone surrogates cannot be encoded as UTF-8 JSON: replace them instead of failing the request.
            msgs = [{k: str(v).encode("utf-8", "replace").decode("utf-8") for k, v in m.items()} for m in messages]
            started = time.perf_counter()

            def open_stream() -> tuple[Iterator[ollama.ChatResponse], ollama.ChatResponse]:
                parts = iter(self._client.chat(model=model, messages=msgs, options=request, stream=True))
                first = next(parts, None)  # the request happens on the first next(): prime it here
                if first is None:
                    raise BackendUnavailable(f"Ollama at {self.host} ended the answer for {model} at once.")
                return parts, first

            parts, first = self._call(open_stream, model)
        except BaseException:
            gate.release()
            raise
        stream = ChatStream(chunks=iter(()))
        stream.chunks = self._chunks(stream, model, parts, first, started, gate)
        return stream

    def _chunks(
        self,
        stream: ChatStream,
        model: str,
        parts: Iterator[ollama.ChatResponse],
        first: ollama.ChatResponse,
        started: float,
        gate: threading.BoundedSemaphore,
    ) -> Iterator[str]:
        text, first_token_at, part = "", None, first
        try:
            while True:
                content = (part.message.content or "") if part.message is not None else ""
                if content:
                    first_token_at = first_token_at or time.perf_counter()
                    text += content
                    yield content
                if part.done:
                    stream.stats = _stats(part, (first_token_at or time.perf_counter()) - started)
                    return
                try:
                    part = next(parts)
                except StopIteration:
                    raise StreamInterrupted(
                        f"The answer from {model} ended before Ollama's final message.", text
                    ) from None
                except Exception as exc:
                    raise self._map(exc, model, text, streaming=True) from None
        finally:
            close = getattr(parts, "close", None)
            if close is not None:
                close()  # closes the HTTP response: Ollama stops generating
            gate.release()

    def chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatResult:
        """The whole answer. A stream that breaks midway returns ``complete=False`` with the partial text.

        Streaming is used underneath so that the read timeout bounds the gap between tokens,
        not the whole (possibly long) answer.
        """
        stream = self.stream_chat(model, messages, options)
        try:
            text = "".join(stream)
        except StreamInterrupted as exc:
            stats = ChatStats()
            return ChatResult(model=model, text=exc.partial, stats=stats, complete=False, error=str(exc))
        assert stream.stats is not None  # set by _chunks before it returns
        return ChatResult(model=model, text=text, stats=stream.stats)

    # ---- error handling ----

    def _call(self, fn: Callable[[], _T], model: str | None = None) -> _T:
        """Run one request, mapping errors; 429/503 are retried with a capped exponential backoff."""
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                if isinstance(exc, BackendError):
                    raise
                error = self._map(exc, model)
                if not isinstance(error, ServerBusy) or attempt >= self.retries:
                    raise error from None
                time.sleep(min(self.backoff_cap, self.backoff * 2**attempt))
                attempt += 1

    def _not_ollama(self) -> BackendUnavailable:
        return BackendUnavailable(
            f"The server at {self.host} did not answer like Ollama (no Ollama JSON; a web page or another "
            "service?). Check the host and port; Ollama listens on 11434 by default."
        )

    def _map(self, exc: BaseException, model: str | None, partial: str = "", streaming: bool = False) -> BackendError:
        """Turn any client, transport or parsing error into a base error with an actionable message."""
        what, host = (f" for {model}" if model else ""), self.host
        if isinstance(exc, ollama.ResponseError):
            code, msg = exc.status_code, str(exc.error)
            if code == -1:  # an {"error": ...} line inside a 200 stream
                text = f"Ollama reported an error in the middle of the answer{what}: {_clean(msg)}"
                return StreamInterrupted(text, partial)
            if _looks_like_html(msg):
                return self._not_ollama()
            low = msg.lower()
            named = model is not None and "not found" in low and model.lower() in low
            if code == 404 and model and ("try pulling" in low or named):
                fix = "ask the app's operator to run" if self.hosted else "run"
                text = f"Model {model!r} is not installed on Ollama at {host}: {fix} `ollama pull {model}`."
                return ModelNotFound(text)
            if code in (429, 503):
                return ServerBusy(
                    f"Ollama at {host} is busy ({code}: {_clean(msg)}); tried {self.retries + 1} times. "
                    "Wait a moment and run again, or raise OLLAMA_NUM_PARALLEL / OLLAMA_MAX_QUEUE."
                )
            if 300 <= code < 400:
                return BackendUnavailable(f"{host} answered with a redirect ({code}); not followed.")
            if code in (401, 403):
                return BackendError(f"Ollama at {host} refused the request ({code}: {_clean(msg)}).")
            if code == 404:
                return BackendUnavailable(f"{host} has no Ollama API (404: {_clean(msg)}). Check the host.")
            return BackendError(f"Ollama failed{what} ({code}: {_clean(msg)}).")
        if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
            # ConnectionError: the client wraps it (non-streaming); httpx.ConnectError: a stream's 1st next().
            return BackendUnavailable(
                f"Ollama is not reachable at {host}. Start it with `ollama serve`, or set the host "
                "(sidebar or OLLAMA_HOST)."
            )
        if isinstance(exc, httpx.ReadTimeout):
            if streaming or partial:
                text = f"Ollama stopped sending{what} for {self.read_timeout:g} s (read timeout)."
                return StreamInterrupted(text, partial)
            return BackendUnavailable(
                f"Ollama at {host} accepted the connection but did not answer within {self.read_timeout:g} s "
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
            return self._not_ollama()
        if isinstance(exc, httpx.HTTPError):
            return BackendUnavailable(f"Could not talk to Ollama at {host}: {type(exc).__name__}.")
        name = type(exc).__name__
        return BackendError(f"Unexpected error from the Ollama client{what}: {name}: {_clean(exc)}")


def _stats(final: ollama.ChatResponse, measured_ttft: float) -> ChatStats:
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
