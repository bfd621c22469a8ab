"""The chat contract: one prompt-length check, one temperature check, and ask() mapping every failure."""

from __future__ import annotations

import pytest

from slm_lib import settings
from slm_lib.chat import (
    BackendError,
    BackendUnavailable,
    ChatOptions,
    ChatResult,
    ChatStats,
    ChatStream,
    ModelNotFound,
    PromptTooLong,
    ServerBusy,
    StreamInterrupted,
    ask,
    check_prompt_length,
    check_temperature,
)

HI = [{"role": "user", "content": "Hi"}]


class Scripted:
    """A backend whose stream yields ``chunks`` then raises ``error`` (if any)."""

    kind = "test"

    def __init__(self, chunks=("Hel", "lo"), error=None, before=None):
        self.chunks, self.error, self.before, self.closed = list(chunks), error, before, False

    def list_models(self):
        return ["m"]

    def stream_chat(self, model, messages, options=None):
        if self.before is not None:
            raise self.before
        stream = ChatStream(iter(()))

        def gen():
            try:
                yield from self.chunks
                if self.error is not None:
                    raise self.error
                stream.stats = ChatStats(completion_tokens=len(self.chunks), tokens_per_second=10.0)
            finally:
                self.closed = True

        stream.chunks = gen()
        return stream

    def chat(self, model, messages, options=None):
        if self.before is not None:
            raise self.before
        return ChatResult(model, "".join(self.chunks), ChatStats(completion_tokens=len(self.chunks)))


@pytest.mark.parametrize("value", [-0.1, 2.01, float("nan"), float("inf"), True, "0.5"])
def test_temperature_outside_the_range_is_refused_with_its_value(value):
    with pytest.raises(ValueError, match="temperature must be in \\[0, 2\\]"):
        check_temperature(value)
    with pytest.raises(ValueError):
        ChatOptions(temperature=value)


def test_temperature_bounds_are_accepted():
    assert check_temperature(0) == 0.0 and check_temperature(2.0) == 2.0


def test_prompt_length_counts_every_message_and_names_both_numbers():
    messages = [{"role": "system", "content": "x" * 40}, {"role": "user", "content": "y" * 60}]
    assert check_prompt_length(messages, max_chars=100) == 100
    with pytest.raises(PromptTooLong, match="101 characters; this app allows 100"):
        check_prompt_length([*messages, {"role": "user", "content": "z"}], max_chars=100)


def test_prompt_length_defaults_to_the_deployment_cap():
    cap = settings.limits().max_prompt_chars
    with pytest.raises(PromptTooLong):
        check_prompt_length([{"role": "user", "content": "x" * (cap + 1)}])


def test_ask_streams_text_to_the_callback_and_keeps_the_stats():
    seen = []
    result = ask(Scripted(), "m", HI, on_text=seen.append)
    assert result.complete and result.text == "Hello" and seen == ["Hel", "Hello"]
    assert result.stats.completion_tokens == 2 and not result.truncated and not result.fatal


def test_ask_without_a_callback_uses_chat():
    result = ask(Scripted(chunks=["whole answer"]), "m", HI)
    assert result.complete and result.text == "whole answer"


@pytest.mark.parametrize("stream", [True, False])
def test_ask_stops_at_the_answer_cap_and_says_so(stream):
    backend = Scripted(chunks=["a" * 10] * 5)
    result = ask(backend, "m", HI, max_chars=25, on_text=(lambda _: None) if stream else None)
    assert result.truncated and not result.complete and result.text == "a" * 25
    assert "length cap" in result.error
    if stream:
        assert backend.closed, "the generation is stopped, not read to the end"


def test_ask_keeps_the_partial_text_of_a_broken_stream():
    result = ask(Scripted(error=StreamInterrupted("dropped", "Hello")), "m", HI, on_text=lambda _: None)
    assert not result.complete and result.text == "Hello" and result.error == "dropped" and not result.fatal


@pytest.mark.parametrize(
    ("error", "fatal", "retryable"),
    [
        (BackendUnavailable("down"), True, False),
        (ModelNotFound("not installed"), True, False),
        (ServerBusy("busy"), False, True),
        (BackendError("refused"), False, False),
    ],
)
def test_ask_maps_backend_errors_and_marks_the_fatal_and_retryable_ones(error, fatal, retryable):
    for on_text in (None, lambda _: None):
        result = ask(Scripted(before=error), "m", HI, on_text=on_text)
        assert not result.complete and result.error == str(error) and result.fatal is fatal
        assert result.retryable is retryable


def test_ask_refuses_a_long_prompt_before_the_backend_is_called():
    backend = Scripted(before=AssertionError("the backend must not be called"))
    result = ask(backend, "m", [{"role": "user", "content": "x" * 10_000_000}])
    assert not result.complete and "this app allows" in result.error and not result.fatal


def test_ask_hides_internals_of_an_unexpected_error_when_hosted(monkeypatch):
    backend = Scripted(error=KeyError("/secret/path"))
    local = ask(backend, "m", HI, on_text=lambda _: None)
    assert "KeyError" in local.error
    monkeypatch.setenv("SLM_EXPLORER_HOSTED", "1")
    hosted = ask(Scripted(error=KeyError("/secret/path")), "m", HI, on_text=lambda _: None)
    assert hosted.error == "Unexpected error" and "secret" not in hosted.error


@pytest.mark.parametrize(
    ("values", "unknown"),
    [
        ({"completion_tokens": 10**30}, ("completion_tokens",)),
        ({"total_seconds": float("nan"), "load_seconds": float("inf")}, ("load_seconds", "total_seconds")),
        ({"total_seconds": -5.0, "prompt_tokens": -1}, ("prompt_tokens", "total_seconds")),
        ({"tokens_per_second": "fast", "completion_tokens": 2.5}, ("completion_tokens", "tokens_per_second")),
        ({"completion_tokens": 12.0, "total_seconds": 1.5}, ()),
    ],
)
def test_stats_outside_sane_ranges_are_recorded_as_unknown(values, unknown):
    stats = ChatStats(**values)
    assert stats.unknown == unknown
    assert all(getattr(stats, name) == 0 and not stats.known(name) for name in unknown)
    assert isinstance(stats.completion_tokens, int) and isinstance(stats.total_seconds, float)
