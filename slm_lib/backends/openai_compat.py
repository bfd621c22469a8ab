"""The OpenAI-compatible backend: one server that speaks ``/v1/models`` and ``/v1/chat/completions``.

Talks to the server with ``httpx`` directly: every request has a connect and a read timeout (a
silent server is cut off), redirects are never followed, and the API key goes in a header of a
client bound to this endpoint's ``base_url`` only, so it cannot reach any other host. Answers are
streamed (SSE) with ``stream_options.include_usage``; a server that refuses that option is asked
again without it. Token counts come from ``usage`` when the server sends it, else from the
streamed chunks; ``ChatStats.source`` says which. 429 and 503 are retried with a capped backoff
(honouring ``Retry-After`` up to the cap). At most ``max_concurrency`` requests from this process
are in flight at once; more wait up to ``queue_wait`` seconds, then get ``ServerBusy``.

In the hosted app only the operator's endpoints (``SLM_EXPLORER_OPENAI_ENDPOINTS``) are allowed.

Example:
    backend = OpenAIBackend("127.0.0.1:8000", name="local")
    stream = backend.stream_chat(backend.list_models()[0], [{"role": "user", "content": "Hi"}])
    print("".join(stream), stream.stats.tokens_per_second, stream.stats.source)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

import httpx

from slm_lib import settings
from slm_lib.backends.openai_endpoints import check_model_name, env_endpoints, normalize_base_url
from slm_lib.backends.openai_errors import (
    EndpointContext,
    NotOpenAI,
    server_message,
    status_error,
    to_backend_error,
)
from slm_lib.backends.openai_stream import Tally, sse_data
from slm_lib.chat import (
    BackendError,
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

__all__ = ["OpenAIBackend"]

_T = TypeVar("_T")
_MAX_ERROR_BODY = 64 * 1024
_MAX_JSON_BODY = 4 * 1024 * 1024
_DONE = "[DONE]"


def _read_capped(response: httpx.Response, cap: int) -> bytes:
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= cap:
            break
    return body[:cap]


class OpenAIBackend:
    """Chat with the models of one OpenAI-compatible server; see the module docstring.

    Args:
        base_url: the server's API root, e.g. ``http://127.0.0.1:8000/v1`` (rules: ``normalize_base_url``).
        api_key: sent as ``Authorization: Bearer`` to ``base_url`` only; None sends no header.
        name: the endpoint's name in messages and model ids (``openai:<name>/<model>``).
        max_concurrency: requests this process sends at once (an evaluation run's lane width).
        connect_timeout, read_timeout: seconds to connect, and to wait for the next bytes.
        retries, backoff, backoff_cap: extra attempts on 429/503, first wait, longest wait.
        queue_wait: seconds to wait for a free request slot before ``ServerBusy``.
        list_timeout: read timeout of ``list_models`` (a page waits for it; an answer may take longer).
    """

    kind = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        name: str = "openai",
        max_concurrency: int = 1,
        connect_timeout: float = 3.0,
        read_timeout: float = 120.0,
        retries: int = 2,
        backoff: float = 0.5,
        backoff_cap: float = 8.0,
        queue_wait: float = 30.0,
        list_timeout: float = 10.0,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError(f"timeouts must be > 0, got {connect_timeout} and {read_timeout}")
        if list_timeout <= 0:
            raise ValueError(f"list_timeout must be > 0, got {list_timeout}")
        if retries < 0 or backoff < 0 or backoff_cap < 0 or queue_wait < 0:
            raise ValueError("retries, backoff, backoff_cap and queue_wait must be >= 0")
        if not 1 <= max_concurrency <= settings.MAX_LANE_CONCURRENCY:
            raise ValueError(f"max_concurrency must be in [1, {settings.MAX_LANE_CONCURRENCY}], got {max_concurrency}")
        self.base_url = normalize_base_url(base_url)
        self.hosted = settings.is_hosted()
        if self.hosted and self.base_url not in {e.base_url for e in env_endpoints()}:
            # A visitor's URL on a public server is a request-forgery hole: refuse before any request.
            raise ValueError(
                "The hosted app only uses the OpenAI-compatible endpoints its operator configured "
                "(SLM_EXPLORER_OPENAI_ENDPOINTS); custom URLs are disabled."
            )
        self.name, self.max_concurrency = name, max_concurrency
        self.read_timeout, self.retries, self.backoff, self.backoff_cap = read_timeout, retries, backoff, backoff_cap
        self.queue_wait = queue_wait
        self._list_timeout = httpx.Timeout(connect_timeout, read=min(read_timeout, list_timeout))
        self._ctx = EndpointContext(name, self.base_url, bool(api_key), read_timeout, retries, self.hosted)
        self._list_ctx = replace(self._ctx, read_timeout=min(read_timeout, list_timeout))
        headers = {"Accept": "application/json, text/event-stream"}
        if api_key is not None and (not api_key.isascii() or not api_key.isprintable()):
            raise ValueError(f"endpoint {name!r}: the API key must be printable ASCII without line breaks")
        if api_key:
            headers["Authorization"] = f"Bearer {api_key.strip()}"
        timeout = httpx.Timeout(connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout)
        # Bound to base_url, no redirects: the key is sent to this server and nowhere else.
        self._client = httpx.Client(
            base_url=self.base_url + "/", headers=headers, timeout=timeout, follow_redirects=False
        )
        self._gate = threading.BoundedSemaphore(max_concurrency)
        self._include_usage = True  # cleared when the server refuses stream_options

    def __repr__(self) -> str:
        return f"OpenAIBackend(name={self.name!r}, base_url={self.base_url!r})"  # never the key

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def lane(self, model: str) -> Lane:
        """Requests to this server share one lane, ``max_concurrency`` wide."""
        return Lane(f"openai:{self.name}", self.max_concurrency)

    # ---- listing ----

    def list_models(self) -> list[str]:
        """Model ids the server lists at ``GET /models`` (usable as ``model``), sorted."""

        def get() -> list[str]:
            with self._client.stream("GET", "models", timeout=self._list_timeout) as response:
                body = _read_capped(response, _MAX_JSON_BODY if response.status_code == 200 else _MAX_ERROR_BODY)
                if response.status_code != 200:
                    raise status_error(response.status_code, body, response.headers)
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise NotOpenAI("/models has no 'data' list")
            names = set()
            for item in data["data"]:
                try:
                    names.add(check_model_name(item.get("id") if isinstance(item, dict) else None))
                except ValueError:
                    continue  # one odd entry must not hide the others
            return sorted(names)

        return self._call(get, listing=True, ctx=self._list_ctx)

    # ---- chatting ----

    def stream_chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatStream:
        """Stream an answer; the request is sent (and connection, auth, 404 and busy errors raised) here.

        Errors after the first chunk raise ``StreamInterrupted`` carrying the text so far.
        ``stream.stats`` is filled when the server ends the answer.
        """
        opts = options or ChatOptions()
        caps = settings.limits()
        check_prompt_length(messages, caps.max_prompt_chars)
        model = check_model_name(model)
        # Lone surrogates cannot be encoded as UTF-8 JSON: replace them instead of failing the request.
        msgs = [{k: str(v).encode("utf-8", "replace").decode("utf-8") for k, v in m.items()} for m in messages]
        payload: dict[str, Any] = {
            "model": model,
            "messages": msgs,
            "stream": True,
            "temperature": opts.temperature,
            "max_tokens": min(opts.max_new_tokens, caps.max_new_tokens),
        }
        if opts.seed is not None:
            payload["seed"] = opts.seed
        if not self._gate.acquire(timeout=self.queue_wait):
            raise ServerBusy(
                f"All {self.max_concurrency} request slot(s) this app keeps for endpoint '{self.name}' are in use "
                "(an evaluation run may be using them); try again in a moment."
            )
        try:
            tally = Tally(started=time.perf_counter())
            response, events = self._call(lambda: self._open(payload), model)
        except BaseException:
            self._gate.release()
            raise
        stream = ChatStream(chunks=iter(()))
        stream.chunks = self._chunks(stream, model, response, events, tally)
        return stream

    def _open(self, payload: dict[str, Any]) -> tuple[httpx.Response, Iterator[dict[str, Any] | str]]:
        """Send the request and read its first event (so a silent server times out here)."""
        body = dict(payload, stream_options={"include_usage": True}) if self._include_usage else payload
        response = self._client.send(self._client.build_request("POST", "chat/completions", json=body), stream=True)
        try:
            if response.status_code != 200:
                raw = _read_capped(response, _MAX_ERROR_BODY)
                if self._include_usage and response.status_code in (400, 422) and b"stream_options" in raw:
                    self._include_usage = False  # an older server: ask again without the option
                    response.close()
                    return self._open(payload)
                raise status_error(response.status_code, raw, response.headers)
            kind = response.headers.get("content-type", "")
            if "text/event-stream" in kind:
                events = (_DONE if d.strip() == _DONE else json.loads(d) for d in sse_data(response.iter_bytes()))
            elif "json" in kind:  # a server that ignores "stream": one whole answer
                events = iter([json.loads(_read_capped(response, _MAX_JSON_BODY)), _DONE])
            else:
                raise NotOpenAI(f"content type {kind.split(';')[0] or 'none'!r}")
            first = next(events, None)
            if not isinstance(first, dict) or not ("choices" in first or "error" in first):
                raise NotOpenAI("the answer has no 'choices'" if first is not None else "the answer stream was empty")
            return response, _prepend(first, events)
        except BaseException:
            response.close()
            raise

    def _chunks(
        self,
        stream: ChatStream,
        model: str,
        response: httpx.Response,
        events: Iterator[dict[str, Any] | str],
        tally: Tally,
    ) -> Iterator[str]:
        text = ""
        try:
            for event in events:
                if event == _DONE:
                    break
                piece = self._read_event(event, model, text, tally)
                if piece:
                    tally.first_token_at = tally.first_token_at or time.perf_counter()
                    tally.chunks += 1
                    text += piece
                    yield piece
            else:
                if tally.finish_reason is None:
                    raise StreamInterrupted(f"The answer from {model} ended before the server's final message.", text)
            stream.stats = tally.stats(time.perf_counter())
        except BackendError:
            raise
        except Exception as exc:
            raise to_backend_error(exc, self._ctx, model, text, streaming=True) from None
        finally:
            response.close()  # the server stops generating when the connection closes
            self._gate.release()

    def _read_event(self, event: object, model: str, text: str, tally: Tally) -> str:
        """The text piece of one event; records finish reason, usage and timings on ``tally``."""
        if not isinstance(event, dict):
            raise NotOpenAI("an event is not a JSON object")
        if "error" in event:
            detail = server_message(json.dumps({"error": event["error"]}).encode())
            raise StreamInterrupted(
                f"Endpoint '{self.name}' reported an error in the middle of the answer from {model}: {detail}", text
            )
        if isinstance(event.get("usage"), dict):
            tally.usage = event["usage"]
        if isinstance(event.get("timings"), dict):
            tally.timings = event["timings"]
        choices = event.get("choices")
        if not isinstance(choices, list):
            raise NotOpenAI("an event has no 'choices' list")
        if not choices:
            return ""  # the usage chunk
        choice = choices[0] if isinstance(choices[0], dict) else {}
        if choice.get("finish_reason"):
            tally.finish_reason = str(choice["finish_reason"])
        part = choice.get("delta") if "delta" in choice else choice.get("message")  # a non-streamed answer
        content = part.get("content") if isinstance(part, dict) else None
        return content if isinstance(content, str) else ""

    def chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatResult:
        """The whole answer. A stream that breaks midway returns ``complete=False`` with the partial text."""
        stream = self.stream_chat(model, messages, options)
        try:
            text = "".join(stream)
        except StreamInterrupted as exc:
            return ChatResult(model=model, text=exc.partial, stats=ChatStats(), complete=False, error=str(exc))
        assert stream.stats is not None  # set by _chunks before it returns
        return ChatResult(model=model, text=text, stats=stream.stats)

    # ---- error handling ----

    def _call(
        self, fn: Callable[[], _T], model: str | None = None, listing: bool = False, ctx: EndpointContext | None = None
    ) -> _T:
        """Run one request, mapping errors; 429/503 are retried with a capped exponential backoff."""
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                error = to_backend_error(exc, ctx or self._ctx, model, listing=listing)
                if not isinstance(error, ServerBusy) or attempt >= self.retries:
                    if error is exc:
                        raise
                    raise error from None
                wait = self.backoff * 2**attempt
                retry_after = getattr(exc, "retry_after", None)
                time.sleep(min(self.backoff_cap, max(wait, retry_after or 0.0)))
                attempt += 1


def _prepend(first: _T, rest: Iterator[_T]) -> Iterator[_T]:
    yield first
    yield from rest
