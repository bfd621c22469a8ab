"""What a broken or hostile server sends, made harmless before the ``ollama`` client parses it.

The client turns every NDJSON line into a pydantic model: a stats value it cannot parse (``NaN``,
``Infinity``, a string) raises on the *final* line and throws the whole answer away, and one
endless line is read into memory whole. ``GuardedTransport`` wraps httpx's transport and, for the
streaming endpoints, rewrites each line before the client sees it:

- a line longer than ``MAX_LINE_BYTES`` ends the response (``httpx.RemoteProtocolError``);
- a stats field (``eval_count``, ``total_duration`` ...) that is not a whole number in
  ``[0, 10**18]`` (``NaN``, ``-5``, ``1e30``, ``"x"``) becomes ``-1``, which the client parses and
  ``ollama_types.chat_stats`` records as unknown.

Lines that are not JSON pass through unchanged (the client's own error handling applies).

Example:
    ollama.Client(host, transport=GuardedTransport())
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx

__all__ = ["MAX_LINE_BYTES", "STAT_KEYS", "UNKNOWN", "GuardedTransport", "clean_line"]

MAX_LINE_BYTES = 1 << 20  # one NDJSON message; real ones are a few hundred bytes
STAT_KEYS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
    "completed",
    "total",
)
_STREAMING = ("/api/chat", "/api/generate", "/api/pull")
_MAX_VALUE = 10**18  # nanoseconds in 31 years; counts are far smaller


UNKNOWN = -1  # what an unusable stats value becomes


def clean_line(line: bytes) -> bytes:
    """One NDJSON line with unusable stats values replaced by ``-1`` (see the module docstring).

    Example:
        >>> clean_line(b'{"done": true, "eval_count": NaN, "eval_duration": 1e30, "total_duration": 7}')
        b'{"done": true, "eval_count": -1, "eval_duration": -1, "total_duration": 7}'
    """
    try:
        data = json.loads(line)  # Python's json reads NaN and Infinity; a Go server never sends them
    except (ValueError, RecursionError):
        return line
    if not isinstance(data, dict):
        return line
    for key in STAT_KEYS:
        value = data.get(key)
        if value is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not number or not 0 <= value <= _MAX_VALUE or not float(value).is_integer():
            data[key] = UNKNOWN
        else:
            data[key] = int(value)
    return json.dumps(data).encode()


class _GuardedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        pending = b""
        for chunk in self._inner:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) > MAX_LINE_BYTES:
                raise httpx.RemoteProtocolError(f"the server sent a line over {MAX_LINE_BYTES:,} bytes")
            if lines:
                yield b"".join(clean_line(line) + b"\n" for line in lines)
        if pending:
            yield clean_line(pending)

    def close(self) -> None:
        self._inner.close()


class GuardedTransport(httpx.BaseTransport):
    """httpx's transport, with the streaming endpoints' lines checked as they arrive."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.url.path.rstrip("/").endswith(_STREAMING) and isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _GuardedStream(response.stream)
        return response

    def close(self) -> None:
        self._inner.close()
