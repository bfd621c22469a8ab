"""Gallery: filters narrow the grid, live in the URL, and a card opens the full sourced model card."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slm_lib.catalog.cards import load_models
from slm_lib.catalog.memory import estimate_memory

PAGE = "../../app_pages/gallery.py"


def _count(at: AppTest) -> int:
    line = next(m.value for m in at.markdown if m.value.endswith("models match."))
    return int(line.split("**")[1])


def _names(at: AppTest) -> set[str]:
    return {m.value.split("**")[1] for m in at.markdown if m.value.startswith("**") and "match" not in m.value}


def test_default_view_shows_every_slm_and_no_llm():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    cards = load_models()
    assert _count(at) == len([c for c in cards if not c.is_llm])
    assert "GPT-4" not in _names(at)
    assert any("ollama pull llama3.2:3b" == c.value for c in at.code)


def test_fit_filter_matches_the_memory_estimate_and_is_written_to_the_url():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.number_input(key="gallery.fit_gb").set_value(2.0).run()
    at.number_input(key="gallery.ctx").set_value(8192).run()
    assert not at.exception
    expected = set()
    for card in load_models():
        if card.is_llm or card.params_b is None or (card.context_tokens or 0) < 8192:
            continue
        est = estimate_memory(card, "q4_K_M", 8192)
        if est.total_gb is not None and est.total_gb <= 2.0:
            expected.add(card.name)
    assert _names(at) == expected and "Llama 3.2 3B Instruct" not in expected
    assert at.query_params["fit"] == "2" and at.query_params["ctx"] == "8192"


def test_a_link_reproduces_the_view():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["lang"] = "German"
    at.query_params["modality"] = "text"
    at.query_params["sort"] = "mmlu"
    at.query_params["pmax"] = "4"
    at.run()
    assert not at.exception
    assert at.selectbox(key="gallery.language").value == "German"
    assert at.select_slider(key="gallery.pmax").value == 4.0
    names = _names(at)
    assert names and {"Llama 3.2 3B Instruct", "Phi-4-mini-instruct"} <= names
    assert "SmolLM2-135M-Instruct" not in names  # English only


def test_bad_link_values_fall_back_to_defaults():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["quant"] = "q3_banana"
    at.query_params["pmin"] = "7"
    at.query_params["license"] = "gpl,permissive"
    at.run()
    assert not at.exception
    assert at.selectbox(key="gallery.quant").value == "q4_K_M"
    assert at.select_slider(key="gallery.pmin").value == 0.1
    assert at.multiselect(key="gallery.license").value == ["permissive"]


def test_open_card_shows_sources_memory_table_and_pull_command():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.button(key="gallery.open.llama-3.2-3b").click().run()
    assert not at.exception
    assert at.query_params["model"] == "llama-3.2-3b"
    assert [h.value for h in at.header] == ["Llama 3.2 3B Instruct"]
    assert any(c.value == "ollama pull llama3.2:3b" for c in at.code)
    facts = next(m.value for m in at.markdown if m.value.startswith("| fact |"))
    assert "huggingface.co/meta-llama/Llama-3.2-3B/blob/main/config.json" in facts
    table = at.dataframe[0].value
    row = table[table["quantization"] == "q4_K_M"].iloc[0]
    assert abs(row["weights GB"] - 2.0) / 2.0 < 0.10
    at.button(key="gallery.back").click().run()
    assert "model" not in at.query_params and not at.exception


def test_unpublished_kv_and_unknown_model_are_explained():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["model"] = "phi-3.5-moe"
    at.run()
    assert not at.exception
    assert any("KV cache: not published" in i.value for i in at.info)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["model"] = "no-such-model"
    at.run()
    assert not at.exception and "no-such-model" in at.error[0].value
