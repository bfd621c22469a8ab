"""Gallery: filters narrow the grid, live in the URL, and a card opens the full sourced model card."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slm_lib.catalog.cards import load_models
from slm_lib.catalog.memory import estimate_need
from tests.app import unescaped

PAGE = "../../pages/gallery.py"


def _count(at: AppTest) -> int:
    line = next(m.value for m in at.markdown if m.value.endswith("models match."))
    return int(line.split("**")[1])


def _names(at: AppTest) -> set[str]:
    return {m.value.split("**")[1] for m in at.markdown if m.value.startswith("**") and "match" not in m.value}


def test_default_view_shows_every_slm_and_nothing_above_the_line():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    cards = load_models()
    assert _count(at) == len([c for c in cards if c.is_slm])
    assert not _names(at) & {"GPT-4", "Gemma 2 27B", "Phi-3.5-MoE-instruct"}
    assert any("ollama pull llama3.2:3b" == c.value for c in at.code)
    assert not any("Needs **" in m.value for m in at.markdown)  # needs read as sentences
    assert any(m.value.startswith("Needs about") and "context of 4,096 tokens" in m.value for m in at.markdown)


def test_larger_models_are_labelled_when_shown():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["large"] = "1"
    at.run()
    assert not at.exception
    assert _count(at) == len(load_models())
    assert any(m.value == "**Gemma 2 27B** · :orange[above the SLM line]" for m in at.markdown)
    assert any(m.value == "**GPT-4** · :red[reference LLM]" for m in at.markdown)


def test_fit_filter_hides_only_what_is_known_not_to_fit_and_is_written_to_the_url():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.number_input(key="gallery.fit_gb").set_value(2.0).run()
    at.number_input(key="gallery.ctx").set_value(8192).run()
    assert not at.exception
    shown, maybe = set(), set()
    for card in load_models():
        if not card.is_slm:
            continue
        status = estimate_need(card, "q4_K_M", 8192).status(2.0)
        if status != "does not fit":
            shown.add(card.name)
        if status == "may fit":
            maybe.add(card.name)
    assert _names(at) == shown and "Llama 3.2 3B Instruct" not in shown
    assert "SmolLM2-360M-Instruct" in shown  # its context is now published, so it is checked: it fits
    assert maybe == {"Qwen3-1.7B"}  # KV cache unpublished, weights alone fit: kept and said so
    assert any(
        c.value.startswith("May fit 2 GB, but a number the check needs is not published: Qwen3-1.7B")
        for c in at.caption
    )
    hidden = next(e for e in at.expander if e.label.endswith("hidden because they are known not to fit 2 GB"))
    assert (
        "SmolLM2-1.7B-Instruct (Needs about 2.9 GB at q4_K_M with a context of 8,192 tokens" in hidden.markdown[0].value
    )
    assert at.query_params["fit"] == "2" and at.query_params["ctx"] == "8192"


def test_weights_alone_too_big_is_hidden_even_without_a_kv_cache():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["fit"] = "1"
    at.run()
    assert not at.exception
    assert "Phi-3.5-vision-instruct" not in _names(at) and "Qwen3-1.7B" not in _names(at)
    hidden = next(e for e in at.expander if e.label.endswith("known not to fit 1 GB"))
    assert "Phi-3.5-vision-instruct (Needs at least" in hidden.markdown[0].value


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
    assert not any("KV cache: not published" in i.value for i in at.info)  # filled from its config now
    assert [h.value for h in at.header] == ["Phi-3.5-MoE-instruct"]
    assert "above the SLM line (Mixture of experts" in at.caption[0].value
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["model"] = "phi-3.5-vision"
    at.run()
    assert any("KV cache: not published" in i.value for i in at.info)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["model"] = "no-such-model"
    at.run()
    assert not at.exception and "no-such-model" in unescaped(at.error[0].value)
