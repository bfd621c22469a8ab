"""The Ollama backend: a local Ollama server through the official ``ollama`` client.

The client has three pitfalls this module closes: it has no timeout by default (a
server that accepts but never answers hangs forever), ``http://host`` without a port
means port 80, and a streaming call to a dead server raises a raw
``httpx.ConnectError`` only when iterated. Every failure becomes one of the
``slm_lib.chat`` errors with a message that says what to do (``ollama_errors``).

Hosts are normalised and checked by ``ollama_host``. In the hosted deployment only the
``OLLAMA_HOST`` from the environment is used, pulls are off and caps are lower.

Example:
    backend = OllamaBackend("localhost")            # -> http://localhost:11434
    for chunk in (stream := backend.stream_chat("llama3.2:1b", [{"role": "user", "content": "Hi"}])):
        print(chunk, end="")
    print(stream.stats.tokens_per_second)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import ollama

from slm_lib import settings
from slm_lib.backends.ollama_errors import ErrorContext, clean, not_ollama, to_backend_error
from slm_lib.backends.ollama_guard import GuardedTransport
from slm_lib.backends.ollama_host import DropApiKey, normalize_host, validate_tag
from slm_lib.backends.ollama_types import InstalledModel, ModelDetails, PullProgress, chat_stats
from slm_lib.chat import (
    BackendError,
    BackendUnavailable,
    ChatOptions,
    ChatResult,
    ChatStats,
    ChatStream,
    Lane,
    Message,
    ServerBusy,
    StreamInterrupted,
    check_prompt_length,
)

__all__ = ["InstalledModel", "ModelDetails", "OllamaBackend", "PullProgress"]

_T = TypeVar("_T")


MAX_LISTED = 500  # models shown from one server's /api/tags (a real one has a handful)
_GATES: dict[int, threading.BoundedSemaphore] = {}
_GATES_LOCK = threading.Lock()


def _gate(cap: int) -> threading.BoundedSemaphore:
    """One process-wide semaphore per cap: at most ``cap`` Ollama generations at once."""
    with _GATES_LOCK:
        return _GATES.setdefault(cap, threading.BoundedSemaphore(cap))


class OllamaBackend:
    """Chat with models served by Ollama; see the module docstring for the host rules.

    Args:
        host: an OLLAMA_HOST-style value; None means the environment's ``OLLAMA_HOST``.
        connect_timeout: seconds to open a connection (a dead host fails this fast).
        read_timeout: seconds to wait for the next bytes of an answer (the first token of a cold 7B
            model can take a minute on a CPU).
        list_timeout: seconds to wait for listing, details and version (a page waits on these).
        retries: extra attempts when the server answers 429/503 (busy).
        backoff: first wait between those attempts; doubled each time, capped at ``backoff_cap``.
        queue_wait: seconds to wait for a free generation slot before ``ServerBusy``.
        max_concurrency: requests an evaluation run keeps in flight here (default
            ``SLM_EXPLORER_OLLAMA_CONCURRENCY``, 1: Ollama answers one request per model at a time
            unless the server's ``OLLAMA_NUM_PARALLEL`` is raised).
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
        max_concurrency: int | None = None,
        list_timeout: float = 5.0,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0 or list_timeout <= 0:
            raise ValueError(f"timeouts must be > 0, got {connect_timeout}, {read_timeout} and {list_timeout}")
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
        self.max_concurrency = settings.ollama_concurrency() if max_concurrency is None else max_concurrency
        if not 1 <= self.max_concurrency <= settings.MAX_LANE_CONCURRENCY:
            raise ValueError(f"max_concurrency must be in [1, {settings.MAX_LANE_CONCURRENCY}], got {max_concurrency}")
        self._own_host = self.host == env_host
        self._where = ErrorContext(self.host, read_timeout, retries, self.hosted)
        self.list_timeout = min(list_timeout, read_timeout)
        self._client = self._make_client(read_timeout)
        self._list_client = self._make_client(self.list_timeout)
        self._list_where = ErrorContext(self.host, self.list_timeout, retries, self.hosted)
        self._pull_client: ollama.Client | None = None

    def _make_client(self, read_timeout: float) -> ollama.Client:
        connect = self.connect_timeout
        timeout = httpx.Timeout(connect, read=read_timeout, write=read_timeout, pool=connect)
        extra: dict[str, Any] = {} if self._own_host else {"auth": DropApiKey()}
        # Ollama's API never redirects; following one could reach an internal host. The transport checks
        # each streamed line before the client parses it (ollama_guard).
        return ollama.Client(
            host=self.host, timeout=timeout, follow_redirects=False, transport=GuardedTransport(), **extra
        )

    def __repr__(self) -> str:
        return f"OllamaBackend(host={self.host!r})"

    def lane(self, model: str) -> Lane:
        """All requests to this Ollama share one lane, ``max_concurrency`` wide."""
        return Lane("ollama", self.max_concurrency)

    @property
    def openai_base_url(self) -> str:
        """Ollama's own OpenAI-compatible route on this host (``/v1``): the same models through the OpenAI API.

        Give it to the ``openai`` backend (``get_backend("openai", base_url=backend.openai_base_url)``, or an
        endpoint in the sidebar) to compare both APIs on one server.
        """
        return f"{self.host}/v1"

    # ---- listing ----

    def list_models(self) -> list[str]:
        """Names of the installed models (usable as ``model`` in the chat calls)."""
        return [m.name for m in self.installed()]

    def installed(self) -> list[InstalledModel]:
        """Installed models with size and quantization, sorted by name (bounded by ``list_timeout``)."""
        reply = self._call(lambda: self._list_client.list(), where=self._list_where)
        models = []
        for m in reply.models[:MAX_LISTED]:
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
        reply = self._call(lambda: self._list_client.show(model), model, where=self._list_where)
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
        timeout = httpx.Timeout(self.connect_timeout, read=self.list_timeout)

        def get() -> str:
            with httpx.Client(base_url=self.host, timeout=timeout, follow_redirects=False) as client:
                reply = client.get("/api/version")
                if reply.status_code != 200:
                    raise ollama.ResponseError(reply.text, reply.status_code)
                return str(reply.json()["version"])

        try:
            return self._call(get, where=self._list_where)
        except (KeyError, TypeError):
            raise not_ollama(self.host) from None

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
                        raise BackendError(f"Pulling {tag} failed: {clean(exc.error)}") from None
                    raise to_backend_error(exc, self._where, tag) from None
                done, total = max(0, int(part.completed or 0)), max(0, int(part.total or 0))
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
        check_prompt_length(messages, caps.max_prompt_chars)
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
                    stream.stats = chat_stats(part, (first_token_at or time.perf_counter()) - started)
                    return
                try:
                    part = next(parts)
                except StopIteration:
                    raise StreamInterrupted(
                        f"The answer from {model} ended before Ollama's final message.", text
                    ) from None
                except Exception as exc:
                    raise to_backend_error(exc, self._where, model, text, streaming=True) from None
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

    def _call(self, fn: Callable[[], _T], model: str | None = None, where: ErrorContext | None = None) -> _T:
        """Run one request, mapping errors; 429/503 are retried with a capped exponential backoff."""
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                if isinstance(exc, BackendError):
                    raise
                error = to_backend_error(exc, where or self._where, model)
                if not isinstance(error, ServerBusy) or attempt >= self.retries:
                    raise error from None
                time.sleep(min(self.backoff_cap, self.backoff * 2**attempt))
                attempt += 1
