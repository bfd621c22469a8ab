"""Catalog data: the shipped file validates and obeys the app's rules; malformed entries fail naming entry and field."""

import copy
import dataclasses
import json

import pytest

from slm_lib import catalog
from slm_lib.catalog.cards import SLM_MAX_PARAMS_B, CatalogError, ModelCard, get_card, load_models

# Fields that name or describe a card rather than state a published fact.
_NOT_FACTS = {"id", "name", "family", "vendor", "size_class", "size_note", "sources", "benchmarks"}

REQUIRED = [
    "llama-3.2-1b",
    "llama-3.2-3b",
    "phi-3.5-mini",
    "phi-3.5-moe",
    "phi-3.5-vision",
    "qwen2-0.5b",
    "qwen2-1.5b",
    "qwen2-7b",
    "gemma-2-2b",
    "gemma-2-9b",
    "gemma-2-27b",
    "mistral-7b",
    "smollm2-135m",
    "smollm2-360m",
    "smollm2-1.7b",
    "qwen2.5-7b",
    "qwen3-4b",
    "gemma-3-4b",
    "phi-4-mini",
    "llama-3.1-8b",
]


@pytest.fixture(scope="module")
def cards():
    return load_models()


@pytest.fixture
def raw():
    return json.loads(catalog.ASSET.read_text(encoding="utf-8"))


def _write(tmp_path, data):
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_catalog_has_every_required_model_and_reference_llms(cards):
    ids = {c.id for c in cards}
    assert set(REQUIRED) <= ids
    llms = [c for c in cards if c.is_llm]
    assert 2 <= len(llms) <= 4
    assert get_card(cards, "gpt-4").params_b is None  # undisclosed stays unknown, never guessed


def test_slm_definition_is_total_parameters_in_memory(cards):
    for card in cards:
        is_small = card.params_b is not None and card.params_b < SLM_MAX_PARAMS_B
        assert card.is_slm == is_small, f"{card.id}: {card.size_class} with {card.params_b}B parameters"
        if card.size_class == "borderline":
            assert card.params_b is not None and card.size_note
    moe, big = get_card(cards, "phi-3.5-moe"), get_card(cards, "gemma-2-27b")
    assert moe.size_class == big.size_class == "borderline"  # 6.6B active, but 41.9B in memory
    assert moe.active_params_b < SLM_MAX_PARAMS_B < moe.params_b
    assert get_card(cards, "gemma-2-9b").is_slm and get_card(cards, "llama-3.1-405b").is_llm


def test_every_non_null_field_is_sourced(cards):
    fact_fields = [f.name for f in dataclasses.fields(ModelCard) if f.name not in _NOT_FACTS]
    assert {"params_b", "context_tokens", "release", "ollama_size_gb", "languages_note", "head_dim"} <= set(fact_fields)
    for card in cards:
        for name in fact_fields:
            value = getattr(card, name)
            if value in (None, ()):
                continue
            field = "languages" if name == "languages_note" else name
            assert str(card.source(field) or "").startswith(("http", "Analytics", "Gemma", "Jiang", "OpenAI")), (
                f"{card.id}.{name} = {value!r} has no source"
            )
        for bench in card.benchmarks.values():
            assert bench.source.startswith(("http", "Gemma", "Jiang", "OpenAI")), f"{card.id} {bench.name}"


def test_llama_3_2_base_models_are_not_quantization_aware(cards):
    # QAT belongs to the separate Llama 3.2 quantized (SpinQuant / QLoRA) releases, not these cards
    for model_id in ("llama-3.2-1b", "llama-3.2-3b"):
        assert not any("quantiz" in t for t in get_card(cards, model_id).techniques)


def test_published_numbers_that_were_missing_are_filled_with_their_config(cards):
    smol = get_card(cards, "smollm2-1.7b")
    assert (smol.context_tokens, smol.n_layers, smol.n_kv_heads, smol.head_dim) == (8192, 24, 32, 64)
    assert smol.source("n_layers").endswith("SmolLM2-1.7B-Instruct/blob/main/config.json")
    assert get_card(cards, "smollm2-360m").context_tokens == 8192
    assert get_card(cards, "gemma-2-27b").head_dim == 128
    assert get_card(cards, "phi-3.5-moe").has_architecture


def test_architecture_numbers_come_from_config_files(cards):
    card = get_card(cards, "llama-3.2-3b")
    arch = (card.n_layers, card.n_heads, card.n_kv_heads, card.head_dim, card.vocab_size)
    assert arch == (28, 24, 8, 128, 128256)
    assert card.source("n_kv_heads") == "https://huggingface.co/meta-llama/Llama-3.2-3B/blob/main/config.json"


def test_moe_card_keeps_total_and_active_params(cards):
    moe = get_card(cards, "phi-3.5-moe")
    assert moe.is_moe and moe.params_b == 41.9 and moe.active_params_b == 6.6


def test_loaded_cards_are_frozen(cards):
    with pytest.raises(AttributeError):
        cards[0].params_b = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m.__setitem__("params_b", "three"), "params_b"),
        (lambda m: m.__setitem__("params_b", -1), "params_b"),
        (lambda m: m.__setitem__("context_tokens", 8192.5), "context_tokens"),
        (lambda m: m["sources"].pop("params_b"), "params_b"),
        (lambda m: m.__setitem__("name", ""), "name"),
        (lambda m: m.__setitem__("n_kv_heads", 7), "n_kv_heads"),
        (lambda m: m["benchmarks"][0].__setitem__("score", 130), "score"),
        (lambda m: m["sources"].__setitem__("license", "no_such_key"), "no_such_key"),
        (lambda m: m.__setitem__("modalities", "text"), "modalities"),
        (lambda m: m.__setitem__("size_class", "llm"), "size_class"),
        (lambda m: m.__setitem__("size_class", "big"), "size_class"),
        (lambda m: m.__setitem__("languages_note", "many") or m["sources"].pop("languages"), "languages"),
    ],
)
def test_malformed_entry_names_entry_and_field(tmp_path, raw, mutate, field):
    data = copy.deepcopy(raw)
    entry = next(m for m in data["models"] if m["id"] == "llama-3.2-3b")
    mutate(entry)
    with pytest.raises(CatalogError) as err:
        load_models(_write(tmp_path, data))
    assert "llama-3.2-3b" in str(err.value)
    assert field in str(err.value)


def test_borderline_or_slm_must_match_the_parameter_count(tmp_path, raw):
    data = copy.deepcopy(raw)
    entry = next(m for m in data["models"] if m["id"] == "gemma-2-27b")
    entry["size_class"] = "slm"
    with pytest.raises(CatalogError, match=r"gemma-2-27b.*'size_class' is 'slm' but its 27B"):
        load_models(_write(tmp_path, data))
    entry["size_class"], entry["size_note"] = "borderline", None
    with pytest.raises(CatalogError, match="size_note"):
        load_models(_write(tmp_path, data))


def test_duplicate_id_is_rejected(tmp_path, raw):
    data = copy.deepcopy(raw)
    data["models"].append(copy.deepcopy(data["models"][0]))
    with pytest.raises(CatalogError, match="duplicate"):
        load_models(_write(tmp_path, data))


def test_invalid_json_is_a_catalog_error(tmp_path):
    path = tmp_path / "models.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid JSON"):
        load_models(path)
