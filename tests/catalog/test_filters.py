"""Filters and sorting: pure, correct, unknown values handled."""

import pytest

from slm_lib import catalog
from slm_lib.catalog.cards import get_card, load_models


@pytest.fixture(scope="module")
def cards():
    return load_models()


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
    assert {c.id for c in catalog.by_size_class(cards, ["borderline"])} == {"phi-3.5-moe", "gemma-2-27b"}
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
