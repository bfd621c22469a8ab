from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app import HOME, settle


def test_home_explains_and_reports_ollama_unreachable_with_fix():
    at = settle(AppTest.from_file(HOME, default_timeout=60))
    assert not at.exception
    assert at.title[0].value == "SLM Explorer"
    headers = [h.value for h in at.header]
    assert "How SLMs are made from large models" in headers
    assert "Where SLMs are applied" in headers
    # conftest points OLLAMA_HOST at a closed loopback port
    warnings = " ".join(w.value for w in at.warning)
    assert "Ollama" in warnings
    assert any("ollama serve" in c.value for c in at.caption)


def test_home_recheck_button_reruns_the_panel():
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    at.button(key="home.recheck").click().run()
    assert not at.exception
