from __future__ import annotations

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
