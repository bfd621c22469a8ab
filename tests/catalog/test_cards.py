"""Catalog: the shipped data validates, malformed entries fail naming entry and field, filters are pure."""

import copy
import json

import pytest

from slm_lib import catalog
from slm_lib.catalog.cards import CatalogError, get_card, load_models

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


def test_every_published_fact_has_a_source(cards):
    for card in cards:
        for name in ("params_b", "context_tokens", "training_tokens_t", "ollama_tag", *catalog.ARCH_FIELDS):
            if getattr(card, name) is not None:
                assert card.source(name), f"{card.id}.{name} has no source"
        for bench in card.benchmarks.values():
            assert bench.source


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


def test_filters_are_pure_and_correct(cards):
    before = list(cards)
    small = catalog.by_params(cards, 0.1, 1.0)
    assert small and all(0.1 <= c.params_b <= 1.0 for c in small)
    assert "gpt-4" not in {c.id for c in catalog.by_params(cards, 0, 10_000)}  # unknown size is dropped
    vision = catalog.by_modality(cards, ["image"])
    assert {"phi-3.5-vision", "gemma-3-4b"} <= {c.id for c in vision}
    assert all("image" in c.modalities for c in vision)
    assert all(c.ollama_tag for c in catalog.on_ollama(cards))
    permissive = catalog.by_license_kind(cards, ["permissive"])
    assert all(catalog.license_kind(c) == "permissive" for c in permissive)
    assert {c.id for c in catalog.by_technique(cards, ["distillation"])} >= {"gemma-2-2b", "llama-3.2-1b"}
    german = catalog.by_language(cards, "German")
    assert "llama-3.2-3b" in {c.id for c in german} and "smollm2-135m" not in {c.id for c in german}
    assert cards == before


def test_sort_puts_unknown_last(cards):
    ranked = catalog.sort_cards(cards, "mmlu", descending=True)
    scores = [c.mmlu.score for c in ranked if c.mmlu]
    assert scores == sorted(scores, reverse=True)
    assert ranked[-1].mmlu is None
    with pytest.raises(ValueError, match="unknown sort key"):
        catalog.sort_cards(cards, "size")


def test_bad_param_range_and_unknown_id_raise(cards):
    with pytest.raises(ValueError, match="empty or negative"):
        catalog.by_params(cards, 5, 1)
    with pytest.raises(ValueError, match="nope"):
        get_card(cards, "nope")
