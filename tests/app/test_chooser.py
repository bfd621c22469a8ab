"""Chooser: ranked picks with reasons, plain 'nothing fits', and clear messages for impossible input."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slm_lib.catalog.cards import load_models
from slm_lib.catalog.recommend import ChooserRequest, recommend

PAGE = "../../app_pages/chooser.py"


def _picks(at: AppTest) -> list[str]:
    return [
        m.value.split("**")[1].split(". ", 1)[1] for m in at.markdown if m.value.startswith("**") and ". " in m.value
    ]


def test_default_request_ranks_like_the_library():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    req = ChooserRequest(use_case="chat", memory_gb=8, context_tokens=4096, bandwidth_gb_s=17.1)
    expected = [p.card.name for p in recommend(load_models(), req).picks[:10]]
    assert _picks(at) == expected
    assert "model(s) fit 8 GB at q4_K_M" in at.success[0].value
    reasons = next(m.value for m in at.markdown if m.value.startswith("- fits with"))
    assert "MMLU" in reasons and "license:" in reasons and "tokens/s" in reasons


def test_vision_on_a_phone_says_nothing_fits_plainly():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="chooser.use_case").set_value("vision").run()
    at.selectbox(key="chooser.device.preset").set_value("phone-8gb").run()
    assert not at.exception
    assert at.warning[0].value.startswith("Nothing in the catalog fits 8 GB")
    assert "Phi-3.5-vision-instruct" in at.warning[0].value  # reported as unchecked, not silently dropped
    assert _picks(at) == []


def test_filters_change_the_ranking():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="chooser.use_case").set_value("math").run()
    at.radio(key="chooser.license").set_value("permissive").run()
    at.selectbox(key="chooser.language").set_value("German").run()
    assert not at.exception
    names = _picks(at)
    assert names and names[0] == "Phi-4-mini-instruct"
    assert not any("Llama" in n for n in names)


def test_zero_ram_and_zero_context_give_clear_messages():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="chooser.device.preset").set_value("custom").run()
    at.number_input(key="chooser.device.ram").set_value(0.0).run()
    assert not at.exception
    assert "above 0 GB" in at.error[0].value and "e.g. 8" in at.error[0].value
    at.number_input(key="chooser.device.ram").set_value(16.0).run()
    at.number_input(key="chooser.context").set_value(0).run()
    assert not at.exception
    assert "got 0" in at.error[0].value and "Fix:" in at.error[0].value


def test_custom_device_without_bandwidth_has_no_speed_claim():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="chooser.device.preset").set_value("custom").run()
    at.number_input(key="chooser.device.ram").set_value(4.0).run()
    assert not at.exception
    assert _picks(at) and not any("tokens/s" in m.value for m in at.markdown)
