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


def test_home_status_uses_material_icons_and_ends_with_a_quiz():
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    assert all(w.icon.startswith(":material/") for w in [*at.warning, *at.success])  # no emoji font needed
    radios = [r for r in at.radio if r.key.startswith("home.quiz.")]
    assert 3 <= len(radios) <= 5
    first = radios[0]
    right = "SmolLM2-135M-Instruct (135 million parameters)"
    assert right in first.options
    first.set_value(right).run()
    assert any(s.value.startswith("Right.") for s in at.success)
    assert any("1 of 4 right (1 answered)" in c.value for c in at.caption)


def test_quiz_answer_order_changes_between_sessions():
    orders = set()
    for _ in range(6):
        at = AppTest.from_file(HOME, default_timeout=60)
        at.run()
        orders.add(tuple(next(r for r in at.radio if r.key.startswith("home.quiz.")).options))
    assert len(orders) > 1
