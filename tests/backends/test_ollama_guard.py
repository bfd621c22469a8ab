"""The transport guard: what a hostile server streams is made parseable and bounded before the client reads it."""

from __future__ import annotations

import json

import httpx
import pytest

from slm_lib.backends.ollama_guard import MAX_LINE_BYTES, UNKNOWN, GuardedTransport, clean_line


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), (0, 0), (1.0, 1), ("NaN", UNKNOWN), ("Infinity", UNKNOWN), (-5, UNKNOWN), (10**30, UNKNOWN)],
)
def test_stats_values_are_kept_or_marked_unknown(value, expected):
    raw = f'{{"done": true, "eval_count": {value}, "message": {{"content": "hi"}}}}'.encode()
    data = json.loads(clean_line(raw))
    assert data["eval_count"] == expected and data["message"] == {"content": "hi"}


def test_strings_and_fractions_are_unknown_and_other_lines_pass_through():
    data = json.loads(clean_line(b'{"eval_duration": "soon", "total_duration": 1.5}'))
    assert data == {"eval_duration": UNKNOWN, "total_duration": UNKNOWN}
    for line in (b"not json", b"[1, 2]", b'{"error": "x"}'):
        assert json.loads(clean_line(line)) == json.loads(line) if line != b"not json" else clean_line(line) == line


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks):
        self.chunks = chunks

    def __iter__(self):
        yield from self.chunks


def _transport(chunks):
    inner = httpx.MockTransport(lambda request: httpx.Response(200, stream=_Chunks(chunks)))
    return httpx.Client(transport=GuardedTransport(inner), base_url="http://guarded.test")


def test_lines_split_across_chunks_are_cleaned_whole():
    client = _transport([b'{"done": false}\n{"done": true, "eval_', b'count": NaN}\n'])
    with client.stream("POST", "/api/chat") as reply:
        lines = [json.loads(line) for line in reply.iter_lines()]
    assert lines == [{"done": False}, {"done": True, "eval_count": UNKNOWN}]


def test_an_endless_line_ends_the_response():
    client = _transport([b"x" * (MAX_LINE_BYTES // 4)] * 8)
    with pytest.raises(httpx.RemoteProtocolError, match="line over"), client.stream("POST", "/api/chat") as reply:
        list(reply.iter_lines())


def test_other_endpoints_are_not_touched():
    client = _transport([b'{"eval_count": NaN}'])
    assert client.get("/api/tags").content == b'{"eval_count": NaN}'
