"""A loopback HTTP server that answers like an OpenAI-compatible model server, for the failure modes
real servers will not produce on demand (the real ``transformers serve`` covers the normal path).

It speaks ``GET /v1/models`` and ``POST /v1/chat/completions`` (SSE with ``data: [DONE]``, a usage
chunk with empty ``choices`` when ``stream_options.include_usage`` is asked, as OpenAI and vLLM
send it; or one JSON answer with ``"stream": false``). ``OpenAIRoutes`` is a mixin, so the fake
Ollama serves the same routes under ``/v1`` as Ollama does.

Failure modes (``server.mode`` for every request, or ``server.model_modes[name]`` per model):

| mode | behaviour |
|---|---|
| ``ok`` | normal answers |
| ``not_found`` | chat answers 404 ``{"error": {"message": "The model `x` does not exist."}}`` |
| ``busy`` / ``rate_limited`` / ``busy_once`` | 503 / 429 with ``Retry-After: 1`` / 503 for the first chat only |
| ``hang`` | reads the request, never answers (until the server stops) |
| ``html`` | 200 ``text/html`` page (another web server on the port) |
| ``not_openai`` | 200 JSON of another API |
| ``redirect`` | 307 to a link-local address (must not be followed) |
| ``mid_stream_error`` | three chunks, then ``data: {"error": ...}`` |
| ``die`` | three chunks, then the connection is cut mid-body |
| ``truncated`` | three chunks, then a clean end with no finish reason and no ``[DONE]`` |
| ``no_usage`` | ignores ``stream_options`` (no usage chunk) |
| ``bad_counts`` | usage of ``1e30`` completion and ``-5`` prompt tokens |
| ``no_stream`` | ignores ``"stream": true``: one JSON answer |
| ``long_line`` | one 2 MB line with no line break |

``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get 401.
``refuse_stream_options``: 400 when a request carries ``stream_options`` (older servers).
``timings``: add llama.cpp's ``timings`` object to the last chunk.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = {"qwen2.5-1.5b-instruct": 60.0, "meta-llama/Llama-3.2-1B-Instruct": 40.0}
CREATED = 1_736_935_200


class FakeOpenAI(ThreadingHTTPServer):
    """The server; every public attribute is a knob for tests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, delay: float = 0.0, api_key: str | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.mode = "ok"
        self.model_modes: dict[str, str] = {}
        self.delay = delay
        self.api_key = api_key
        self.refuse_stream_options = False
        self.timings = False
        self.models = dict(MODELS)
        self.requests: list[tuple[str, str, dict]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.seen: dict[str, int] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def openai_models(self) -> dict[str, float]:
        return self.models

    def mode_for(self, path: str, model: str | None) -> str:
        mode = self.model_modes.get(model or "", self.mode)
        if mode == "busy_once":
            with self.lock:
                self.seen[path] = self.seen.get(path, 0) + 1
                return "busy" if self.seen[path] == 1 else "ok"
        return mode

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class OpenAIRoutes:
    """``/v1/models`` and ``/v1/chat/completions`` for a BaseHTTPRequestHandler whose server offers
    ``openai_models()`` (name -> tokens/s), ``mode_for``, ``delay`` and ``stopping``."""

    # ---- plumbing ----

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # the client hung up (a test that stops reading on purpose)

    def _send_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _sse(self, payload: object) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        raw = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(raw):X}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _openai_failure(self, mode: str, model: str | None) -> bool:
        server = self.server
        if mode == "hang":
            server.stopping.wait(60)
            self.close_connection = True
            return True
        if mode == "html":
            page = b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>hi</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return True
        if mode == "not_openai":
            self._send_json(200, {"status": "ok", "service": "something else"})
            return True
        if mode == "redirect":
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if mode == "busy":
            self._send_json(503, {"error": {"message": "Service Unavailable: the engine is overloaded", "code": 503}})
            return True
        if mode == "rate_limited":
            error = {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": 429}}
            self._send_json(429, error, {"Retry-After": "1"})
            return True
        if mode == "not_found" and model is not None:
            error = {"message": f"The model `{model}` does not exist.", "type": "NotFoundError", "code": 404}
            self._send_json(404, {"object": "error", "error": error})
            return True
        return False

    def _authorized(self) -> bool:
        key = getattr(self.server, "api_key", None)
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        given = "Incorrect API key provided" if self.headers.get("Authorization") else "Missing API key"
        error = {"message": given, "type": "invalid_request_error", "code": "invalid_api_key"}
        self._send_json(401, {"error": error})
        return False

    # ---- routes ----

    def openai_get(self, path: str) -> bool:
        if path != "/v1/models":
            return False
        if not self._authorized() or self._openai_failure(self.server.mode_for(path, None), None):
            return True
        data = [
            {"id": name, "object": "model", "created": CREATED, "owned_by": "library"}
            for name in sorted(self.server.openai_models())
        ]
        self._send_json(200, {"object": "list", "data": data})
        return True

    def openai_post(self, path: str, body: dict) -> bool:
        if path != "/v1/chat/completions":
            return False
        if not self._authorized():
            return True
        model = body.get("model") if isinstance(body.get("model"), str) else None
        if getattr(self.server, "refuse_stream_options", False) and "stream_options" in body:
            self._send_json(400, {"detail": "Unrecognized request argument supplied: stream_options"})
            return True
        mode = self.server.mode_for(path, model)
        if not model:
            self._send_json(400, {"error": {"message": "you must provide a model parameter"}})
            return True
        if self._openai_failure(mode, model):
            return True
        if model not in self.server.openai_models():
            error = {"message": f'model "{model}" not found, try pulling it first', "type": "api_error"}
            self._send_json(404, {"error": error})
            return True
        server = self.server
        with server.lock:
            server.in_flight = getattr(server, "in_flight", 0) + 1
            server.max_in_flight = max(getattr(server, "max_in_flight", 0), server.in_flight)
        try:
            self._complete(body, model, mode)
        finally:
            with server.lock:
                server.in_flight -= 1
        return True

    def _complete(self, body: dict, model: str, mode: str) -> None:
        from tests.fake_ollama import canned_answer, tokens  # here: fake_ollama imports this module

        messages = body.get("messages") or []
        prompt = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        pieces = tokens(canned_answer(model, prompt))
        limit = int(body.get("max_tokens") or 0)
        reason = "stop"
        if 0 < limit < len(pieces):
            pieces, reason = pieces[:limit], "length"
        usage = {"prompt_tokens": max(1, len(prompt.split())), "completion_tokens": len(pieces)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if mode == "bad_counts":
            usage = {"prompt_tokens": -5, "completion_tokens": 1e30, "total_tokens": 1e30}
        base = {"id": "chatcmpl-fake", "created": CREATED, "model": model}
        if body.get("stream") is not True or mode == "no_stream":
            message = {"role": "assistant", "content": "".join(pieces)}
            choice = {"index": 0, "message": message, "finish_reason": reason}
            self._send_json(200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = {**base, "object": "chat.completion.chunk"}
        if mode == "long_line":
            raw = b"data: " + b"x" * (2 << 20)
            self.wfile.write(f"{len(raw):X}\r\n".encode() + raw + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self._sse({**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for i, piece in enumerate(pieces):
            if i == 3 and mode in ("mid_stream_error", "die", "truncated"):
                if mode == "die":
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "mid_stream_error":
                    self._sse({"error": {"message": "CUDA error: an illegal memory access", "type": "internal"}})
                self.wfile.write(b"0\r\n\r\n")
                return
            self._sse({**chunk, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            if self.server.delay:
                time.sleep(self.server.delay)
        last: dict = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}
        if getattr(self.server, "timings", False):
            speed = self.server.openai_models()[model]
            last["timings"] = {
                "prompt_n": usage["prompt_tokens"],
                "prompt_ms": 12.5,
                "predicted_n": len(pieces),
                "predicted_ms": len(pieces) / speed * 1000,
            }
        self._sse(last)
        include = (body.get("stream_options") or {}).get("include_usage") and mode != "no_usage"
        if include:
            self._sse({**chunk, "choices": [], "usage": usage})
        self._sse("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Handler(OpenAIRoutes, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeOpenAI

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _record(self, method: str, body: dict) -> None:
        self.server.requests.append((method, self.path, body))
        self.server.headers.append({k.lower(): v for k, v in self.headers.items()})

    def do_GET(self) -> None:
        self._record("GET", {})
        if not self.openai_get(self.path):
            self._send_json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            body = {}
        body = body if isinstance(body, dict) else {}
        self._record("POST", body)
        if not self.openai_post(self.path, body):
            self._send_json(404, {"detail": "Not Found"})


@contextmanager
def running(port: int = 0, delay: float = 0.0, api_key: str | None = None) -> Iterator[FakeOpenAI]:
    """Start a FakeOpenAI on a background thread; stop it on exit."""
    server = FakeOpenAI(port, delay, api_key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(5)
