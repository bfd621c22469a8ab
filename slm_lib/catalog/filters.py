"""Filters and sorting over model cards: pure, order-preserving, never mutating their input.

Example:
    >>> from slm_lib.catalog.cards import load_models
    >>> [c.id for c in by_params(load_models(), 0.1, 0.5)][:2]
    ['qwen2-0.5b', 'qwen2.5-0.5b']
"""

from __future__ import annotations

from collections.abc import Iterable

from slm_lib.catalog.cards import ModelCard

__all__ = [
    "PERMISSIVE",
    "SORT_KEYS",
    "by_language",
    "by_license_kind",
    "by_modality",
    "by_params",
    "by_size_class",
    "by_technique",
    "license_kind",
    "on_ollama",
    "options",
    "sort_cards",
]

PERMISSIVE = frozenset({"Apache-2.0", "MIT"})
SORT_KEYS = ("params", "release", "mmlu", "context", "name")


def license_kind(card: ModelCard) -> str:
    """'permissive' (Apache-2.0, MIT), 'open weights, custom terms', or 'proprietary'."""
    if card.license in PERMISSIVE:
        return "permissive"
    return "proprietary" if card.license == "proprietary" else "open weights, custom terms"


def by_params(cards: Iterable[ModelCard], low_b: float, high_b: float) -> list[ModelCard]:
    """Cards whose total parameter count (billions) is in [low_b, high_b]; unknown sizes are dropped."""
    if low_b < 0 or high_b < low_b:
        raise ValueError(f"parameter range [{low_b}, {high_b}] is empty or negative")
    return [c for c in cards if c.params_b is not None and low_b <= c.params_b <= high_b]


def by_size_class(cards: Iterable[ModelCard], classes: Iterable[str]) -> list[ModelCard]:
    """Cards whose size class ('slm', 'borderline', 'llm') is among ``classes``."""
    wanted = set(classes)
    return [c for c in cards if c.size_class in wanted]


def by_license_kind(cards: Iterable[ModelCard], kinds: Iterable[str]) -> list[ModelCard]:
    wanted = set(kinds)
    return [c for c in cards if not wanted or license_kind(c) in wanted]


def by_modality(cards: Iterable[ModelCard], modalities: Iterable[str]) -> list[ModelCard]:
    """Cards that accept every requested modality (e.g. {'image'})."""
    wanted = set(modalities)
    return [c for c in cards if wanted <= set(c.modalities)]


def by_language(cards: Iterable[ModelCard], language: str | None) -> list[ModelCard]:
    """Cards whose vendor lists this language (None = no filter)."""
    return [c for c in cards if language is None or language in c.languages]


def by_technique(cards: Iterable[ModelCard], techniques: Iterable[str]) -> list[ModelCard]:
    """Cards that used every requested technique."""
    wanted = set(techniques)
    return [c for c in cards if wanted <= set(c.techniques)]


def on_ollama(cards: Iterable[ModelCard]) -> list[ModelCard]:
    return [c for c in cards if c.ollama_tag]


def sort_cards(cards: Iterable[ModelCard], key: str, descending: bool = False) -> list[ModelCard]:
    """Sort by 'params', 'release', 'mmlu', 'context' or 'name'; unknown values always go last."""
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r}; choose one of {SORT_KEYS}")
    getters = {
        "params": lambda c: c.params_b,
        "release": lambda c: c.release,
        "mmlu": lambda c: c.mmlu.score if c.mmlu else None,
        "context": lambda c: c.context_tokens,
        "name": lambda c: c.name.lower(),
    }
    get = getters[key]
    known = [c for c in cards if get(c) is not None]
    unknown = [c for c in cards if get(c) is None]
    return sorted(known, key=get, reverse=descending) + unknown


def options(cards: Iterable[ModelCard]) -> dict[str, list[str]]:
    """Distinct values for the filter widgets: licenses, modalities, languages, techniques."""
    cards = list(cards)
    return {
        "license_kinds": sorted({license_kind(c) for c in cards}),
        "modalities": sorted({m for c in cards for m in c.modalities}),
        "languages": sorted({lang for c in cards for lang in c.languages}),
        "techniques": sorted({t for c in cards for t in c.techniques}),
    }
