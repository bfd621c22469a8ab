"""Chooser: grouped picks with reasons, the stated reserve, plain 'nothing fits', clear messages for bad input."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slm_lib.catalog.cards import load_models
from slm_lib.catalog.recommend import ChooserRequest, recommend

PAGE = "../../pages/chooser.py"


def _picks(at: AppTest) -> list[str]:
    return [
        m.value.split("**")[1].split(". ", 1)[1] for m in at.markdown if m.value.startswith("**") and ". " in m.value
    ]


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def test_default_request_ranks_like_the_library_in_labelled_groups():
    at = _page()
    assert not at.exception
    req = ChooserRequest(use_case="chat", memory_gb=8, context_tokens=4096, bandwidth_gb_s=17.1)
    rec = recommend(load_models(), req)
    assert _picks(at) == [p.card.name for p in rec.picks]
    assert [h.value for h in at.subheader] == [g.title for g in rec.groups]
    assert at.subheader[0].value == "Ranked by MMLU (5-shot), highest published score first"
    message = at.success[0].value
    assert "fit 6.4 GB (the 8 GB device minus 1.6 GB kept free for the system" in message
    assert "the larger of 1.5 GB and 20%" in at.markdown[0].value  # the rule is stated on the page
    reasons = next(m.value for m in at.markdown if m.value.startswith("- fits with"))
    assert "MMLU" in reasons and "license:" in reasons and "tokens/s" in reasons and "1.6 GB reserve" in reasons


def test_changing_the_reserve_changes_what_fits():
    at = _page()
    at.checkbox(key="chooser.reserve.default").uncheck().run()
    at.number_input(key="chooser.reserve.gb").set_value(0.0).run()
    assert not at.exception
    assert "Gemma 2 9B" in _picks(at) and "your choice" in at.success[0].value
    at.number_input(key="chooser.reserve.gb").set_value(8.0).run()
    assert "below the device's 8 GB" in at.error[0].value and "Fix:" in at.error[0].value


def test_laptop_presets_and_code_ranking_never_mix_benchmarks():
    at = _page()
    at.selectbox(key="chooser.device.preset").set_value("laptop-16gb").run()
    at.selectbox(key="chooser.use_case").set_value("code").run()
    assert not at.exception
    titles = [h.value for h in at.subheader]
    assert titles[0] == "Ranked by HumanEval, highest published score first"
    assert titles[1] == "No HumanEval score published; ranked by MMLU (5-shot) instead"
    assert any(i.value.startswith("Only 3 of the") and "HumanEval" in i.value for i in at.info)
    options = set(at.selectbox(key="chooser.device.preset").options)
    assert {"Laptop (8 GB DDR4)", "Laptop (16 GB DDR5)", "Laptop (32 GB DDR5)"} <= options
    assert {"Phone (8 GB LPDDR5X)", "Raspberry Pi 5 (8 GB)"} <= options


def test_vision_on_a_phone_lists_what_may_fit():
    at = _page()
    at.selectbox(key="chooser.use_case").set_value("vision").run()
    at.selectbox(key="chooser.device.preset").set_value("phone-8gb").run()
    assert not at.exception
    warning = at.warning[0].value
    assert warning.startswith("Nothing in the catalog is known to fit 6.4 GB")
    assert "Phi-3.5-vision-instruct (KV-cache size" in warning  # may fit: reported, not silently dropped
    assert _picks(at) == []
    assert any(e.label.startswith("2 more may fit") for e in at.expander)


def test_filters_change_the_ranking():
    at = _page()
    at.selectbox(key="chooser.use_case").set_value("math").run()
    at.radio(key="chooser.license").set_value("permissive").run()
    at.selectbox(key="chooser.language").set_value("German").run()
    assert not at.exception
    names = _picks(at)
    assert names and names[0] == "Phi-4-mini-instruct"
    assert not any("Llama" in n for n in names)


def test_zero_ram_and_zero_context_give_clear_messages():
    at = _page()
    at.selectbox(key="chooser.device.preset").set_value("custom").run()
    at.number_input(key="chooser.device.ram").set_value(0.0).run()
    assert not at.exception
    assert "above 0 GB" in at.error[0].value and "e.g. 8" in at.error[0].value
    at.number_input(key="chooser.device.ram").set_value(16.0).run()
    at.number_input(key="chooser.context").set_value(0).run()
    assert not at.exception
    assert "got 0" in at.error[0].value and "Fix:" in at.error[0].value


def test_custom_device_without_bandwidth_says_why_there_is_no_speed():
    at = _page()
    at.selectbox(key="chooser.device.preset").set_value("custom").run()
    at.number_input(key="chooser.device.ram").set_value(4.0).run()
    assert not at.exception
    assert _picks(at) and not any("tokens/s" in m.value for m in at.markdown)
    assert any("No speed estimate without a memory bandwidth" in c.value for c in at.caption)


def test_nothing_fits_names_the_closest_model():
    at = _page()
    at.selectbox(key="chooser.device.preset").set_value("custom").run()
    at.number_input(key="chooser.device.ram").set_value(1.6).run()
    assert not at.exception
    rec = recommend(load_models(), ChooserRequest(use_case="chat", memory_gb=1.6))
    assert rec.closest.card.id == "smollm2-135m"
    assert f"The closest: {rec.closest.card.name}, which needs about" in at.warning[0].value
