"""The OpenAI-compatible backend against a loopback imitation: every failure users can meet, key scoping,
the endpoints setting, several endpoints behind one router, and Ollama's own /v1 route."""

from __future__ import annotations

import socket
import time

import pytest

from slm_lib.backends import get_backend
from slm_lib.backends.ollama import OllamaBackend
from slm_lib.backends.openai_compat import OpenAIBackend
from slm_lib.backends.openai_endpoints import (
    Endpoint,
    env_endpoints,
    normalize_base_url,
    openai_model_id,
    parse_endpoints,
    split_endpoint_model,
)
from slm_lib.backends.openai_router import OpenAIRouter
from slm_lib.backends.openai_stream import sse_data
from slm_lib.chat import (
    BackendUnavailable,
    ChatOptions,
    Lane,
    ModelNotFound,
    PromptTooLong,
    ServerBusy,
    StreamInterrupted,
    ask,
)
from tests.fake_ollama import canned_answer, tokens
from tests.fake_openai import running

MODEL = "qwen2.5-1.5b-instruct"
HI = [{"role": "user", "content": "Hello there, how are you today?"}]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake():
    with running() as server:
        yield server


def backend(url, **kw) -> OpenAIBackend:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("name", "fake")
    return OpenAIBackend(url, **kw)


# ---- base URLs and the endpoints setting ----


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
        ("localhost:8080/v1/", "http://localhost:8080/v1"),
        (":1234", "http://127.0.0.1:1234/v1"),
        ("0.0.0.0:8000", "http://127.0.0.1:8000/v1"),  # a bind address, reached on loopback
        ("http://[::1]:8000", "http://[::1]:8000/v1"),
        ("https://api.example.org", "https://api.example.org:443/v1"),
        ("  HTTP://Host.example:11434/v1 ", "http://host.example:11434/v1"),
        ("http://gateway:80/openai/v1", "http://gateway:80/openai/v1"),
    ],
)
def test_normalize_base_url(raw, expected):
    assert normalize_base_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "empty"),
        ("localhost", "no port"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://host:70", "scheme"),
        ("http://user:pw@host:8000", "password"),
        ("http://host:8000/v1?x=1", "'?'"),
        ("http://host:8000/#x", "'#'"),
        ("host:99999", "port"),
        ("host:0", "port"),
        ("http://host:8000/a/../b", "path"),
        ("http://host:8000/v1%2f", "path"),
        ("local host:8000", "spaces"),
    ],
)
def test_bad_base_urls_are_refused_with_the_reason(raw, words):
    with pytest.raises(ValueError, match=words):
        normalize_base_url(raw)


def test_endpoints_setting_parses_urls_objects_and_keys_from_other_variables():
    env = {"FLEET_KEY": "sk-fleet"}
    text = (
        '{"fleet": {"base_url": "http://10.0.0.5:8000/v1", "api_key_env": "FLEET_KEY", "max_concurrency": 16},'
        ' "laptop": "127.0.0.1:11434/v1", "proxy": {"base_url": "https://llm.example.org", "api_key": "sk-inline"}}'
    )
    fleet, laptop, proxy = parse_endpoints(text, env)
    assert (fleet.name, fleet.base_url, fleet.api_key, fleet.max_concurrency) == (
        "fleet",
        "http://10.0.0.5:8000/v1",
        "sk-fleet",
        16,
    )
    assert (laptop.api_key, laptop.max_concurrency, laptop.source) == (None, 1, "environment")
    assert proxy.api_key == "sk-inline" and "sk-inline" not in repr(proxy)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not json", "not valid JSON"),
        ('["127.0.0.1:8000"]', "JSON object"),
        ('{"Bad Name": "127.0.0.1:8000"}', "endpoint name"),
        ('{"a/b": "127.0.0.1:8000"}', "endpoint name"),
        ('{"x": "127.0.0.1:8000", "x": "127.0.0.1:8001"}', "appears twice"),
        ('{"x": {"url": "127.0.0.1:8000"}}', "unknown field"),
        ('{"x": {"api_key": "k"}}', "base_url is required"),
        ('{"x": {"base_url": "127.0.0.1:8000", "api_key_env": "NOPE"}}', "'NOPE'"),
        ('{"x": {"base_url": "127.0.0.1:8000", "max_concurrency": 0}}', "max_concurrency"),
        ('{"x": {"base_url": "127.0.0.1:8000", "max_concurrency": 1000}}', "max_concurrency"),
        ('{"x": {"base_url": "127.0.0.1:8000", "api_key": "a\\nb"}}', "printable"),
        ('{"x": {"base_url": "127.0.0.1:8000", "api_key": "clé"}}', "ASCII"),
        ('{"x": "file:///etc/passwd"}', "scheme"),
    ],
)
def test_bad_endpoint_settings_name_the_problem(text, words):
    with pytest.raises(ValueError, match=words):
        parse_endpoints(text, {})


def test_model_ids_carry_the_endpoint():
    model_id = openai_model_id("local", "/models/smollm2")
    assert model_id == "openai:local//models/smollm2"
    assert split_endpoint_model(model_id.partition(":")[2]) == ("local", "/models/smollm2")
    with pytest.raises(ValueError, match="<endpoint>/<model>"):
        split_endpoint_model("no-slash")


# ---- listing and streaming ----


def test_lists_models_and_streams_an_answer_with_usage_counts(fake):
    b = get_backend("openai", base_url=fake.base_url)
    assert b.list_models() == sorted(fake.models)
    stream = b.stream_chat(MODEL, HI, ChatOptions(max_new_tokens=6, seed=3))
    chunks = list(stream)
    expected = tokens(canned_answer(MODEL, HI[0]["content"]))[:6]
    assert chunks == expected and stream.text == "".join(expected)
    stats = stream.stats
    assert (stats.source, stats.completion_tokens, stats.prompt_tokens) == ("usage", 6, 6)
    assert stats.tokens_per_second > 0 and 0 <= stats.ttft_seconds <= stats.total_seconds
    _, _, body = fake.requests[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["max_tokens"], body["seed"], body["temperature"]) == (6, 3, 0.0)


def test_without_usage_the_counts_are_estimated_and_say_so(fake):
    fake.mode = "no_usage"
    result = backend(fake.base_url).chat(MODEL, HI, ChatOptions(max_new_tokens=5))
    assert result.complete and result.stats.source == "estimated" and result.stats.completion_tokens == 5


def test_llama_cpp_timings_are_used_when_sent(fake):
    fake.timings = True
    result = backend(fake.base_url).chat(MODEL, HI, ChatOptions(max_new_tokens=8))
    assert result.stats.source == "timings" and result.stats.completion_tokens == 8
    assert result.stats.tokens_per_second == pytest.approx(fake.models[MODEL])


def test_counts_a_server_should_never_send_are_not_believed(fake):
    fake.mode = "bad_counts"
    result = backend(fake.base_url).chat(MODEL, HI, ChatOptions(max_new_tokens=4))
    assert result.complete and result.stats.source == "estimated"
    assert (result.stats.completion_tokens, result.stats.prompt_tokens) == (4, 0)


def test_a_server_that_refuses_stream_options_is_asked_again_without_them(fake):
    fake.refuse_stream_options = True
    b = backend(fake.base_url)
    assert b.chat(MODEL, HI).complete and b.chat(MODEL, HI).complete
    sent = [body for method, _, body in fake.requests if method == "POST"]
    assert "stream_options" in sent[0] and all("stream_options" not in body for body in sent[1:])
    assert len(sent) == 3, "the refusal is remembered"


def test_a_server_that_ignores_stream_gives_the_whole_answer(fake):
    fake.mode = "no_stream"
    result = backend(fake.base_url).chat(MODEL, HI, ChatOptions(max_new_tokens=7))
    assert result.complete and len(tokens(result.text)) == 7 and result.stats.source == "usage"


def test_long_prompts_are_refused_before_any_request(fake):
    with pytest.raises(PromptTooLong):
        backend(fake.base_url).stream_chat(MODEL, [{"role": "user", "content": "x" * 100_000}])
    assert not fake.requests


# ---- every failure, with a message that says what to do ----


def test_nothing_listening_is_unavailable_for_listing_and_streaming():
    b = backend(f"127.0.0.1:{_closed_port()}", retries=0)
    with pytest.raises(BackendUnavailable, match="Nothing answers at endpoint 'fake'.*is the server running"):
        b.list_models()
    with pytest.raises(BackendUnavailable, match="is the server running"):
        b.stream_chat(MODEL, HI)
    assert ask(b, MODEL, HI).fatal


def test_a_silent_server_is_cut_off_at_the_read_timeout(fake):
    fake.mode = "hang"
    b = backend(fake.base_url, read_timeout=0.3, retries=0)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="did not answer within 0.3 s"):
        b.list_models()
    result = ask(b, MODEL, HI)
    assert not result.complete and "read timeout" in result.error and result.fatal
    assert time.monotonic() - started < 10


def test_401_without_a_key_and_with_a_wrong_one_say_which():
    with running(api_key="sk-right") as server:
        with pytest.raises(BackendUnavailable, match="needs an API key \\(401"):
            backend(server.base_url).list_models()
        with pytest.raises(BackendUnavailable, match="rejected the API key \\(401"):
            backend(server.base_url, api_key="sk-wrong").stream_chat(MODEL, HI)
        good = backend(server.base_url, api_key="sk-right")
        assert good.list_models() and good.chat(MODEL, HI).complete


def test_a_model_the_server_does_not_serve_is_model_not_found(fake):
    b = backend(fake.base_url)
    with pytest.raises(ModelNotFound, match="'gpt-9' is not served by endpoint 'fake'"):
        b.stream_chat("gpt-9", HI)
    fake.mode = "not_found"
    with pytest.raises(ModelNotFound, match="does not exist"):
        b.stream_chat(MODEL, HI)


@pytest.mark.parametrize("mode", ["busy", "rate_limited"])
def test_busy_servers_are_retried_with_a_capped_backoff_then_reported(fake, mode):
    fake.mode = mode
    b = backend(fake.base_url, retries=2, backoff=0.01, backoff_cap=0.05)  # caps Retry-After: 1 as well
    started = time.monotonic()
    with pytest.raises(ServerBusy, match="is busy.*tried 3 times"):
        b.stream_chat(MODEL, HI)
    assert len(fake.requests) == 3 and time.monotonic() - started < 1.0
    assert ask(b, MODEL, HI).retryable


def test_a_server_busy_once_answers_on_the_retry(fake):
    fake.mode = "busy_once"
    assert backend(fake.base_url, retries=1).chat(MODEL, HI).complete


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("mid_stream_error", "reported an error in the middle of the answer.*CUDA error"),
        ("die", "dropped in the middle of the answer"),
        ("truncated", "ended before the server's final message"),
    ],
)
def test_a_stream_that_breaks_keeps_its_partial_text(fake, mode, words):
    fake.mode = mode
    stream = backend(fake.base_url).stream_chat(MODEL, HI)
    with pytest.raises(StreamInterrupted, match=words) as info:
        "".join(stream)
    assert info.value.partial == "".join(tokens(canned_answer(MODEL, HI[0]["content"]))[:3])
    result = ask(backend(fake.base_url), MODEL, HI)
    assert not result.complete and result.text == info.value.partial and not result.fatal


@pytest.mark.parametrize(
    ("mode", "words"),
    [("html", "text/html"), ("not_openai", "no 'choices'"), ("long_line", "longer than")],
)
def test_a_server_that_is_not_openai_compatible_says_so(fake, mode, words):
    fake.mode = mode
    b = backend(fake.base_url)
    with pytest.raises(BackendUnavailable, match=f"did not answer like an OpenAI-compatible API.*{words}"):
        b.stream_chat(MODEL, HI)
    if mode != "long_line":
        with pytest.raises(BackendUnavailable, match="OpenAI-compatible"):
            b.list_models()


def test_a_wrong_path_is_not_openai_compatible():
    with running() as server:
        b = backend(server.url + "/api")  # /api/models does not exist
        with pytest.raises(BackendUnavailable, match="404 on /models"):
            b.list_models()


def test_redirects_are_never_followed_and_the_key_stays_home(fake):
    fake.mode = "redirect"
    b = backend(fake.base_url, api_key="sk-secret")
    with pytest.raises(BackendUnavailable, match="redirect \\(307\\); not followed"):
        b.stream_chat(MODEL, HI)
    assert len(fake.requests) == 1


def test_each_key_goes_to_its_own_server_only():
    with running(api_key="sk-a") as a, running(api_key="sk-b") as b, running() as open_server:
        router = OpenAIRouter.from_endpoints(
            [
                Endpoint("a", a.base_url, "sk-a"),
                Endpoint("b", b.base_url, "sk-b"),
                Endpoint("open", open_server.base_url),
            ]
        )
        models = router.list_models()
        for endpoint in ("a", "b", "open"):
            assert router.chat(f"{endpoint}/{MODEL}", HI).complete
        assert f"a/{MODEL}" in models and f"open/{MODEL}" in models
        assert {h.get("authorization") for h in a.headers} == {"Bearer sk-a"}
        assert {h.get("authorization") for h in b.headers} == {"Bearer sk-b"}
        assert {h.get("authorization") for h in open_server.headers} == {None}
        assert "sk-" not in repr(router) + repr(router.backends["a"])


def test_the_app_holds_at_most_max_concurrency_requests_then_says_busy(fake):
    b = backend(fake.base_url, max_concurrency=1, queue_wait=0.1)
    first = b.stream_chat(MODEL, HI)
    with pytest.raises(ServerBusy, match="request slot"):
        b.stream_chat(MODEL, HI)
    "".join(first)
    assert b.chat(MODEL, HI).complete, "the slot is free again once the first answer ended"


def test_a_stream_closed_early_frees_its_slot(fake):
    b = backend(fake.base_url, max_concurrency=1, queue_wait=0.1)
    result = ask(b, MODEL, HI, max_chars=5, on_text=lambda _: None)
    assert result.truncated
    assert b.chat(MODEL, HI).complete


def test_hosted_app_refuses_a_visitors_url_and_allows_the_operators(fake, monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_HOSTED", "1")
    monkeypatch.setenv("SLM_EXPLORER_OPENAI_ENDPOINTS", f'{{"ops": "{fake.base_url}"}}')
    with pytest.raises(ValueError, match="custom URLs are disabled"):
        get_backend("openai", base_url="169.254.169.254:80")
    assert not fake.requests
    (ops,) = env_endpoints()
    assert get_backend("openai", endpoints=[ops]).list_models() == [f"ops/{m}" for m in sorted(fake.models)]


# ---- several endpoints behind one router ----


def test_router_lists_every_endpoint_and_a_dead_one_hides_nothing(fake):
    router = get_backend(
        "openai", endpoints=[Endpoint("up", fake.base_url), Endpoint("down", f"127.0.0.1:{_closed_port()}")]
    )
    assert router.list_models() == [f"up/{m}" for m in sorted(fake.models)]
    listed = router.list_by_endpoint()
    assert isinstance(listed["down"], BackendUnavailable) and "Nothing answers" in str(listed["down"])
    assert router.lane(f"up/{MODEL}") == Lane("openai:up", 1)
    with pytest.raises(BackendUnavailable, match="No OpenAI-compatible endpoint named 'gone'"):
        router.stream_chat(f"gone/{MODEL}", HI)
    result = router.chat(f"up/{MODEL}", HI)
    assert result.complete and result.model == f"up/{MODEL}"


def test_router_with_every_endpoint_down_is_unavailable():
    router = get_backend("openai", endpoints=[Endpoint("down", f"127.0.0.1:{_closed_port()}")], retries=0)
    with pytest.raises(BackendUnavailable, match="Nothing answers"):
        router.list_models()


def test_sse_reader_joins_multi_line_data_and_skips_comments():
    raw = [b": ping\r\n\r\nevent: message\ndata: a\ndata: b\n\n", b"data: [DO", b"NE]\n\n"]
    assert list(sse_data(iter(raw))) == ["a\nb", "[DONE]"]


# ---- Ollama's own /v1 route: the same server through both APIs ----


def test_ollama_v1_route_serves_the_same_models_and_answers(fake_ollama):
    native = OllamaBackend(fake_ollama.url)
    assert native.openai_base_url == f"{fake_ollama.url}/v1"
    via_v1 = get_backend("openai", base_url=native.openai_base_url, name="ollama-v1")
    assert via_v1.list_models() == native.list_models()
    question = [{"role": "user", "content": "What is the length of hypotenuse in a right angled triangle"}]
    a, b = native.chat("llama3.2:1b", question), via_v1.chat("llama3.2:1b", question)
    assert a.text == b.text and a.stats.completion_tokens == b.stats.completion_tokens
    assert (a.stats.source, b.stats.source) == ("", "usage")
    assert native.lane("llama3.2:1b") == Lane("ollama", 1)
