"""The Ollama backend against a loopback fake Ollama, including every failure users can meet."""

from __future__ import annotations

import copy
import socket

import httpx
import ollama
import pytest

from slm_lib.backends import get_backend
from slm_lib.backends import ollama as ob
from slm_lib.backends.ollama import OllamaBackend
from slm_lib.backends.ollama_host import normalize_host, validate_tag
from slm_lib.chat import (
    BackendError,
    BackendUnavailable,
    ChatOptions,
    ModelNotFound,
    PromptTooLong,
    ServerBusy,
    StreamInterrupted,
)
from tests import fake_ollama_fixture
from tests.fake_ollama import HYPOTENUSE, canned_answer, tokens

fake_ollama = fake_ollama_fixture.fake_ollama  # the loopback fake Ollama fixture

HYP = [{"role": "user", "content": "What is the length of hypotenuse in a right angled triangle"}]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fast(url: str, **kw) -> OllamaBackend:
    kw.setdefault("backoff", 0.01)
    return OllamaBackend(url, **kw)


# ---- host normalisation ----


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("", "http://127.0.0.1:11434"),
        (None, "http://127.0.0.1:11434"),
        ("localhost", "http://localhost:11434"),
        (":11435", "http://127.0.0.1:11435"),
        ("http://localhost", "http://localhost:11434"),  # not port 80 (the client's pitfall)
        ("https://ollama.example.org", "https://ollama.example.org:443"),
        ("0.0.0.0", "http://127.0.0.1:11434"),  # a bind address, reached on loopback
        ("0.0.0.0:9999", "http://127.0.0.1:9999"),
        ("  HTTP://Example.com:8080/ollama/  ", "http://example.com:8080/ollama"),
        ("[::1]:11500", "http://[::1]:11500"),
        ("[::]", "http://[::1]:11434"),
    ],
)
def test_normalize_host(raw, expected, monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    "raw, words",
    [
        ("file:///etc/passwd", "scheme"),
        ("ftp://host", "scheme"),
        ("http://user:pw@host", "password"),
        ("host:99999", "port"),
        ("host:abc", "port"),
        ("host:0", "port"),
        ("http://host?x=1", "?"),
        ("local host", "spaces"),
    ],
)
def test_normalize_host_rejects_with_a_clear_message(raw, words):
    with pytest.raises(ValueError, match="Ollama host") as info:
        normalize_host(raw)
    assert words in str(info.value)
    assert repr(raw) in str(info.value)


def test_empty_host_uses_environment(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "10.1.2.3")
    assert OllamaBackend("").host == "http://10.1.2.3:11434"
    assert OllamaBackend(None).host == "http://10.1.2.3:11434"


def test_validate_tag():
    assert validate_tag(" llama3.2:1b ") == "llama3.2:1b"
    assert validate_tag("library/qwen2:1.5b") == "library/qwen2:1.5b"
    for bad in ["", "a b", "x;rm -rf /", "../etc", "model:tag:extra", ":latest"]:
        with pytest.raises(ValueError, match="not an Ollama model tag"):
            validate_tag(bad)


def test_rejects_bad_timeouts():
    with pytest.raises(ValueError, match="timeouts"):
        OllamaBackend("localhost", connect_timeout=0)


# ---- normal operation ----


def test_get_backend_builds_ollama(fake_ollama):
    backend = get_backend("ollama", host=fake_ollama.url)
    assert backend.kind == "ollama" and isinstance(backend, OllamaBackend)
    assert backend.list_models() == ["llama3.2:1b", "qwen2:1.5b"]


def test_installed_version_and_details(fake_ollama):
    backend = fast(fake_ollama.url)
    models = {m.name: m for m in backend.installed()}
    assert models["llama3.2:1b"].size_bytes == 1_321_098_329
    assert models["llama3.2:1b"].quantization == "Q8_0"
    assert models["qwen2:1.5b"].family == "qwen2" and models["qwen2:1.5b"].params == "1.5B"
    assert backend.version() == "0.17.1"
    details = backend.details("qwen2:1.5b")
    assert details.context_length == 32768 and details.parameter_count == 1_500_000_000


def test_stream_chat_streams_text_and_takes_stats_from_ollama_fields(fake_ollama):
    backend = fast(fake_ollama.url)
    stream = backend.stream_chat("llama3.2:1b", HYP)
    chunks = list(stream)
    assert len(chunks) == len(tokens(HYPOTENUSE["llama3.2:1b"])) > 5
    assert "".join(chunks) == HYPOTENUSE["llama3.2:1b"] == stream.text
    # The fake's final object: eval_count=n, eval_duration=n/50 s, load 0.15 s, prompt eval 2 ms/word.
    s = stream.stats
    n = len(chunks)
    assert s.completion_tokens == n
    assert s.tokens_per_second == pytest.approx(50.0, rel=1e-3)
    assert s.prompt_tokens == len(HYP[0]["content"].split())
    assert s.load_seconds == pytest.approx(0.15)
    assert s.ttft_seconds == pytest.approx(0.15 + s.prompt_tokens * 0.002)
    assert s.total_seconds == pytest.approx(0.15 + s.prompt_tokens * 0.002 + int(n / 50 * 1e9) / 1e9)


def test_chat_sends_options_and_does_not_mutate_messages(fake_ollama):
    backend = fast(fake_ollama.url)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour"}]
    before = copy.deepcopy(messages)
    result = backend.chat("qwen2:1.5b", messages, ChatOptions(temperature=0.7, max_new_tokens=4, seed=42))
    assert messages == before
    assert result.complete and result.error is None
    assert result.stats.completion_tokens == 4  # num_predict honoured (done_reason "length")
    body = fake_ollama.requests[-1][2]
    assert body["options"] == {"temperature": 0.7, "num_predict": 4, "seed": 42}
    assert body["messages"] == before and body["stream"] is True
    full = canned_answer("qwen2:1.5b", "Be brief.\nName a colour")
    assert result.text == "".join(tokens(full)[:4])


def test_seed_none_is_not_sent(fake_ollama):
    fast(fake_ollama.url).chat("qwen2:1.5b", HYP, ChatOptions(seed=None))
    assert "seed" not in fake_ollama.requests[-1][2]["options"]


def test_pull_streams_progress_and_installs(fake_ollama):
    backend = fast(fake_ollama.url)
    lines = list(backend.pull("gemma2:2b"))
    assert lines[0].status == "pulling manifest"
    downloads = [p for p in lines if p.total]
    assert downloads[0].fraction == 0.0 and downloads[-1].fraction == 1.0
    assert [p.completed for p in downloads] == sorted(p.completed for p in downloads)
    assert lines[-1].status == "success"
    assert "gemma2:2b" in backend.list_models()


def test_pull_unknown_tag_is_a_clear_error(fake_ollama):
    with pytest.raises(BackendError, match="Pulling nosuch:1b failed: pull model manifest"):
        list(fast(fake_ollama.url).pull("nosuch:1b"))


def test_pull_rejects_bad_tag_before_any_request(fake_ollama):
    with pytest.raises(ValueError):
        fast(fake_ollama.url).pull("bad tag; rm")
    assert fake_ollama.requests == []


# ---- failures ----


def test_dead_host_every_call_is_backend_unavailable():
    url = f"127.0.0.1:{_closed_port()}"
    backend = OllamaBackend(url, connect_timeout=1.0)
    for call in (
        backend.list_models,
        backend.version,
        lambda: backend.stream_chat("m", HYP),
        lambda: backend.chat("m", HYP),
        lambda: list(backend.pull("llama3.2:1b")),
    ):
        with pytest.raises(BackendUnavailable, match=r"not reachable at http://127\.0\.0\.1:\d+"):
            call()


def test_the_raw_client_leaks_httpx_connect_error_on_iteration():
    """The pitfall the backend closes: a stream to a dead server raises httpx.ConnectError lazily."""
    client = ollama.Client(host=f"http://127.0.0.1:{_closed_port()}", timeout=1.0)
    stream = client.chat(model="m", messages=HYP, stream=True)  # no error yet
    with pytest.raises(httpx.ConnectError):
        next(iter(stream))


def test_model_not_installed_shows_pull_command(fake_ollama):
    backend = fast(fake_ollama.url)
    with pytest.raises(ModelNotFound, match=r"'gemma2:2b' is not installed.*`ollama pull gemma2:2b`"):
        backend.stream_chat("gemma2:2b", HYP)
    with pytest.raises(ModelNotFound, match="ollama pull gemma2:2b"):
        backend.chat("gemma2:2b", HYP)


def test_not_found_mode_on_installed_model(fake_ollama):
    fake_ollama.model_modes["qwen2:1.5b"] = "not_found"
    with pytest.raises(ModelNotFound, match="ollama pull qwen2:1.5b"):
        fast(fake_ollama.url).chat("qwen2:1.5b", HYP)


def test_error_line_mid_stream_keeps_partial_text(fake_ollama):
    fake_ollama.mode = "mid_stream_error"
    backend = fast(fake_ollama.url)
    stream = backend.stream_chat("llama3.2:1b", HYP)
    got = []
    with pytest.raises(StreamInterrupted, match="middle of the answer.*unexpected EOF") as info:
        for chunk in stream:
            got.append(chunk)
    assert info.value.partial == "".join(got) == "".join(tokens(HYPOTENUSE["llama3.2:1b"])[:3])
    assert stream.stats is None
    result = backend.chat("llama3.2:1b", HYP)
    assert not result.complete and result.text == info.value.partial and "unexpected EOF" in result.error


def test_server_dying_mid_stream_is_incomplete(fake_ollama):
    fake_ollama.mode = "die"
    result = fast(fake_ollama.url).chat("llama3.2:1b", HYP)
    assert not result.complete
    assert result.text == "".join(tokens(HYPOTENUSE["llama3.2:1b"])[:3])
    assert "dropped" in result.error


@pytest.mark.parametrize("mode, code", [("busy", 503), ("rate_limited", 429)])
def test_busy_server_is_retried_with_capped_backoff_then_reported(fake_ollama, mode, code, monkeypatch):
    fake_ollama.mode = mode
    waits = []
    monkeypatch.setattr(ob.time, "sleep", waits.append)
    backend = OllamaBackend(fake_ollama.url, retries=4, backoff=0.5, backoff_cap=1.5)
    with pytest.raises(ServerBusy, match=f"busy \\({code}.*tried 5 times"):
        backend.chat("llama3.2:1b", HYP)
    assert waits == [0.5, 1.0, 1.5, 1.5]  # doubling, capped
    assert len([r for r in fake_ollama.requests if r[1] == "/api/chat"]) == 5
    with pytest.raises(ServerBusy):
        backend.list_models()


def test_busy_once_then_answers(fake_ollama):
    fake_ollama.mode = "busy_once"
    result = fast(fake_ollama.url).chat("llama3.2:1b", HYP)
    assert result.complete and result.text == HYPOTENUSE["llama3.2:1b"]
    assert len([r for r in fake_ollama.requests if r[1] == "/api/chat"]) == 2


def test_server_that_never_answers_hits_the_read_timeout(fake_ollama):
    fake_ollama.mode = "hang"
    backend = fast(fake_ollama.url, read_timeout=0.3)
    with pytest.raises(BackendUnavailable, match=r"did not answer within 0\.3 s \(read timeout\)"):
        backend.stream_chat("llama3.2:1b", HYP)
    with pytest.raises(BackendUnavailable, match="read timeout"):
        backend.list_models()


@pytest.mark.parametrize("mode", ["html", "redirect"])
def test_non_ollama_answers_are_reported_not_parsed(fake_ollama, mode):
    fake_ollama.mode = mode
    backend = fast(fake_ollama.url)
    for call in (backend.list_models, backend.version, lambda: backend.chat("llama3.2:1b", HYP)):
        with pytest.raises(BackendUnavailable) as info:
            call()
        assert ("did not answer like Ollama" in str(info.value)) or ("redirect" in str(info.value))
    # The redirect to a link-local address was never followed.
    assert all(path.startswith("/api/") for _, path, _ in fake_ollama.requests)


def test_wrong_path_404_is_not_called_model_not_found(fake_ollama):
    backend = fast(fake_ollama.url + "/prefix")  # Go's plain "404 page not found"
    with pytest.raises(BackendUnavailable, match="no Ollama API"):
        backend.chat("llama3.2:1b", HYP)


def test_prompt_too_long_is_refused_before_any_request(fake_ollama):
    backend = fast(fake_ollama.url)
    with pytest.raises(PromptTooLong, match="characters"):
        backend.stream_chat("llama3.2:1b", [{"role": "user", "content": "x" * 1_000_000}])
    assert fake_ollama.requests == []


def test_generation_slots_are_capped_and_always_released(fake_ollama):
    from slm_lib import settings

    cap = settings.limits().max_concurrent_generations
    backend = fast(fake_ollama.url, queue_wait=0)
    open_streams = [backend.stream_chat("llama3.2:1b", HYP) for _ in range(cap)]
    with pytest.raises(ServerBusy, match="already running"):
        backend.stream_chat("llama3.2:1b", HYP)
    for s in open_streams:
        list(s)
    fake_ollama.mode = "mid_stream_error"
    for _ in range(cap + 2):  # failures release their slot too
        assert not backend.chat("llama3.2:1b", HYP).complete
    fake_ollama.mode = "ok"
    for _ in range(cap + 2):
        with pytest.raises(ModelNotFound):
            backend.chat("nosuch:1b", HYP)
    assert backend.chat("llama3.2:1b", HYP).complete


def test_api_key_never_sent_to_a_user_given_host(fake_ollama, monkeypatch):
    monkeypatch.setenv("OLLAMA_API_KEY", "secret-key")
    fast(fake_ollama.url).list_models()  # OLLAMA_HOST (conftest) is another address
    assert "authorization" not in fake_ollama.headers[-1]
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    fast(fake_ollama.url).list_models()  # the operator's own host keeps its key
    assert fake_ollama.headers[-1]["authorization"] == "Bearer secret-key"


# ---- hosted deployment ----


def test_hosted_refuses_custom_hosts_before_any_request(fake_ollama, monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_HOSTED", "1")
    for url in [fake_ollama.url, "169.254.169.254", "127.0.0.1:6379", "10.0.0.5", "file:///etc/passwd"]:
        with pytest.raises(ValueError):
            OllamaBackend(url)
    assert fake_ollama.requests == []


def test_hosted_uses_env_host_with_lower_caps_and_no_pulls(fake_ollama, monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_HOSTED", "1")
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    backend = OllamaBackend()
    assert backend.host == fake_ollama.url and backend.list_models()
    with pytest.raises(BackendError, match="disabled in the hosted app"):
        backend.pull("gemma2:2b")
    backend.chat("llama3.2:1b", HYP, ChatOptions(max_new_tokens=4000))
    assert fake_ollama.requests[-1][2]["options"]["num_predict"] == 256  # hosted cap
    with pytest.raises(PromptTooLong):
        backend.chat("llama3.2:1b", [{"role": "user", "content": "x" * 2_001}])
    fake_ollama.mode = "not_found"
    with pytest.raises(ModelNotFound, match="operator"):
        backend.chat("llama3.2:1b", HYP)


@pytest.mark.parametrize("text", ["\x00", "bad \ud800 half", "\u202eabc", "<|im_end|> hi", "   "])
def test_odd_user_text_never_breaks_the_request(fake_ollama, text):
    result = fast(fake_ollama.url).chat("qwen2:1.5b", [{"role": "user", "content": text}])
    assert result.complete and result.error is None
    sent = fake_ollama.requests[-1][2]["messages"][0]["content"]
    assert "\ud800" not in sent


# ---- issue 11: bounded waits and values a server should never send ----


def test_silent_server_listing_is_cut_off_at_the_list_timeout_while_answers_keep_theirs(fake_ollama):
    fake_ollama.mode = "hang"
    backend = fast(fake_ollama.url, list_timeout=0.5, retries=0)
    assert backend.read_timeout == 120.0 and backend.list_timeout == 0.5  # generation keeps its long timeout
    with pytest.raises(BackendUnavailable, match=r"did not answer within 0\.5 s"):
        backend.installed()


@pytest.mark.parametrize(
    ("mode", "unknown"),
    [
        ("stats_huge", {"completion_tokens", "tokens_per_second"}),
        ("stats_nan", {"load_seconds", "total_seconds", "tokens_per_second"}),
        ("stats_negative", {"prompt_tokens", "total_seconds", "tokens_per_second"}),
    ],
)
def test_impossible_stats_are_recorded_as_unknown_and_the_answer_kept(fake_ollama, mode, unknown):
    fake_ollama.mode = mode
    result = fast(fake_ollama.url).chat("llama3.2:1b", HYP)
    assert result.complete and result.text == HYPOTENUSE["llama3.2:1b"]
    assert set(result.stats.unknown) == unknown
    assert all(getattr(result.stats, name) == 0 for name in unknown)
    assert result.stats.ttft_seconds >= 0


def test_hostile_model_names_are_listed_as_sent(fake_ollama):
    """The library keeps names verbatim (they are needed for requests); pages sanitize what they show."""
    from tests.fake_ollama import hostile_names

    fake_ollama.mode = "hostile"
    names = fast(fake_ollama.url).list_models()
    assert set(hostile_names(fake_ollama.attacker)) <= set(names)


def test_hostile_error_body_is_cleaned_of_tags_and_capped(fake_ollama):
    fake_ollama.mode = "hostile"
    from tests.fake_ollama import hostile_names

    failing = [n for n in hostile_names(fake_ollama.attacker) if n.startswith("fails")][0]
    with pytest.raises(BackendError) as info:
        fast(fake_ollama.url, retries=0).chat(failing, HYP)
    assert "<img" not in str(info.value) and len(str(info.value)) < 400
