from __future__ import annotations

import threading
import time

from slm_lib.backends import status


def test_embedded_model_is_reported_available():
    s = status.embedded_status()
    assert s.available, s.detail
    assert "GGUF" in s.detail
    assert s.models == ("smollm2-135m",)


def test_ollama_down_is_unavailable_with_a_fix():
    s = status.ollama_status()  # conftest points OLLAMA_HOST at a closed loopback port
    assert not s.available
    assert "ollama serve" in (s.fix or "")


def test_ollama_reachable_lists_its_models(fake_ollama):
    s = status.ollama_status(fake_ollama.url)
    assert s.available, s.detail
    assert s.models and all(isinstance(m, str) for m in s.models)


def test_silent_server_is_cut_off_at_the_deadline(fake_ollama):
    fake_ollama.mode = "hang"
    s = status.ollama_status(fake_ollama.url, timeout_s=0.5)
    assert not s.available


def test_check_backends_reports_a_slow_check_as_unavailable(monkeypatch):
    def slow(_host=None):
        time.sleep(3)
        return status.BackendStatus("Ollama", True, "late")

    monkeypatch.setattr(status, "ollama_status", slow)
    results = status.check_backends(deadline_s=0.3)
    ollama = [r for r in results if r.name == "ollama"]
    assert ollama and not ollama[0].available
    assert "no answer within" in ollama[0].detail


def test_a_failing_check_is_reported_not_raised(monkeypatch):
    def broken():
        raise PermissionError("cache folder is read-only")

    monkeypatch.setattr(status, "embedded_status", broken)
    results = status.check_backends(deadline_s=2)
    embedded = [r for r in results if r.name == "embedded"]
    assert embedded and not embedded[0].available
    assert "PermissionError" in embedded[0].detail


def _counting(answers):
    """A check returning the next of ``answers`` per call; an Event answer waits for it, then gives "late"."""
    calls = []

    def check():
        calls.append(1)
        value = answers[min(len(calls), len(answers)) - 1]
        if isinstance(value, threading.Event):
            value.wait(10)
            return "late"
        return value

    return check, calls


def test_a_stale_answer_stays_while_it_is_checked_again_then_the_new_one_replaces_it():
    checks = status.BackgroundChecks(ttl_s=0.05)
    release = threading.Event()
    check, calls = _counting(["first", release])
    assert checks.get("k", check, wait_s=2).value == "first"
    time.sleep(0.1)  # now stale: the renewal hangs until released
    again = checks.get("k", check, wait_s=0.1)
    assert again.done and again.value == "first"  # never "still checking" once there was an answer
    assert checks.get("k", check, wait_s=0).value == "first" and len(calls) == 2  # one renewal at a time
    release.set()
    assert checks.wait(5)
    assert checks.get("k", check, wait_s=0).value == "late"


def test_first_check_reports_still_checking_and_forget_starts_over():
    checks = status.BackgroundChecks(ttl_s=60)
    release = threading.Event()
    check, calls = _counting([release, "second"])
    first = checks.get("k", check, wait_s=0.05)
    assert not first.done  # the page shows "still checking"
    release.set()
    assert checks.wait(5) and checks.get("k", check).value == "late"
    checks.forget("k")
    assert checks.get("k", check, wait_s=2).value == "second" and len(calls) == 2


def test_a_failing_renewal_replaces_the_stale_answer_with_its_error():
    checks = status.BackgroundChecks(ttl_s=0.05)
    answers = iter([lambda: ["llama3.2:1b"], lambda: (_ for _ in ()).throw(OSError("connection refused"))])
    assert checks.get("k", lambda: next(answers)(), wait_s=2).value == ["llama3.2:1b"]
    time.sleep(0.1)
    renewed = checks.get("k", lambda: next(answers)(), wait_s=2)
    assert renewed.error == "connection refused"  # a server that went away is reported, not hidden
