"""Reading an OpenAI chat stream: server-sent events, their JSON, and the stats of one answer.

A streamed ``/v1/chat/completions`` answer is a series of ``data: {json}`` events, each with a
``choices[0].delta.content`` piece, a ``finish_reason`` at the end, ``usage`` token counts in the
last chunk when ``stream_options.include_usage`` was asked for (servers differ: OpenAI and vLLM
send an extra chunk with empty ``choices``, ``transformers serve`` puts it next to the
``finish_reason``), and usually ``data: [DONE]``. llama.cpp adds its own ``timings``.

Lines are read with a cap (``MAX_LINE_BYTES``) so a hostile server cannot make the app buffer an
endless line. Counts a server should never send (negative, NaN, 10^30) are treated as not sent.

Example:
    >>> list(sse_data(iter([b'data: {"a": 1}\\n\\n: keep-alive\\n\\ndata: [DONE]\\n\\n'])))
    ['{"a": 1}', '[DONE]']
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from slm_lib.backends.openai_errors import NotOpenAI
from slm_lib.chat import ChatStats

__all__ = ["MAX_LINE_BYTES", "Tally", "sse_data"]

MAX_LINE_BYTES = 1 << 20  # one SSE line; a chunk of an answer is a few bytes
_MAX_COUNT = 10_000_000  # more tokens than any answer or prompt here: a broken or hostile count


def sse_data(chunks: Iterator[bytes]) -> Iterator[str]:
    """The ``data`` payload of each server-sent event (multi-line data joined by newlines).

    Raises:
        NotOpenAI: a line longer than ``MAX_LINE_BYTES``, or bytes that are not UTF-8.
    """
    buffer = b""
    data: list[str] = []
    for chunk in chunks:
        buffer += chunk
        while (end := buffer.find(b"\n")) >= 0:
            line, buffer = buffer[:end].rstrip(b"\r"), buffer[end + 1 :]
            if not line:  # a blank line ends an event
                if data:
                    yield "\n".join(data)
                    data = []
                continue
            name, _, value = line.partition(b":")
            if name == b"data":
                try:
                    data.append(value.removeprefix(b" ").decode("utf-8"))
                except UnicodeDecodeError:
                    raise NotOpenAI("the stream is not UTF-8 text") from None
            # comments (":..."), "event:", "id:" and "retry:" lines carry nothing the app needs
        if len(buffer) > MAX_LINE_BYTES:
            raise NotOpenAI(f"a stream line is longer than {MAX_LINE_BYTES:,} bytes")
    if data:
        yield "\n".join(data)


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 <= value <= _MAX_COUNT or value != int(value):
        return None
    return int(value)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return float(value) / 1000.0  # llama.cpp reports milliseconds


@dataclass
class Tally:
    """What one streamed answer has shown so far; ``stats()`` turns it into ``ChatStats``."""

    started: float
    first_token_at: float | None = None
    chunks: int = 0
    finish_reason: str | None = None
    usage: Mapping[str, object] | None = None
    timings: Mapping[str, object] | None = None

    def stats(self, ended: float) -> ChatStats:
        """Token counts from ``usage`` (or llama.cpp's ``timings``) when sent, else from chunks; times measured."""
        first = self.first_token_at or ended
        ttft, decode = first - self.started, ended - first
        timings = self.timings or {}
        usage = self.usage or {}
        predicted, predicted_s = _count(timings.get("predicted_n")), _seconds(timings.get("predicted_ms"))
        completion, prompt = _count(usage.get("completion_tokens")), _count(usage.get("prompt_tokens"))
        if predicted is not None and predicted_s is not None:
            prompt = _count(timings.get("prompt_n")) if prompt is None else prompt
            return ChatStats(
                prompt_tokens=prompt or 0,
                completion_tokens=predicted,
                ttft_seconds=ttft,
                total_seconds=ended - self.started,
                tokens_per_second=predicted / predicted_s,
                source="timings",
            )
        source = "usage" if completion is not None else "estimated"
        tokens = completion if completion is not None else self.chunks
        if decode > 1e-3 and tokens > 1:
            speed = (tokens - 1) / decode  # the first token arrived at ``first``; the rest took ``decode``
        else:
            speed = tokens / (ended - self.started) if ended > self.started else 0.0
        return ChatStats(
            prompt_tokens=prompt or 0,
            completion_tokens=tokens,
            ttft_seconds=ttft,
            total_seconds=ended - self.started,
            tokens_per_second=speed,
            source=source,
        )
