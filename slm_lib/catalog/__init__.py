"""Choose a model: sourced model cards, memory and speed estimates, recommendations, SLM-vs-LLM facts.

- :mod:`~slm_lib.catalog.cards`: ``ModelCard`` and ``load_models`` (``assets/models.json``), the SLM rule,
- :mod:`~slm_lib.catalog.filters`: filters and sorting over cards,
- :mod:`~slm_lib.catalog.hardware`: quantization levels, device presets, the memory reserve, measured speeds,
- :mod:`~slm_lib.catalog.memory`: weights + KV cache + allowance per quantization, what fits, speed,
- :mod:`~slm_lib.catalog.recommend`: ``recommend`` for a use case, device, context and license,
- :mod:`~slm_lib.catalog.slm_vs_llm`: the eight SLM-vs-LLM dimensions and the quiz,
- :mod:`~slm_lib.catalog.charts`: the Plotly figures built from the cards (import it directly).

Example:
    >>> from slm_lib.catalog import estimate_memory, get_card, load_models
    >>> card = get_card(load_models(), "llama-3.2-3b")
    >>> round(estimate_memory(card, "q4_K_M", 2048).weights_gb, 1)
    2.0
"""

from __future__ import annotations

from slm_lib.catalog.cards import (
    ARCH_FIELDS,
    ASSET,
    NOT_PUBLISHED,
    SIZE_CLASSES,
    SLM_MAX_PARAMS_B,
    Benchmark,
    CatalogError,
    ModelCard,
    get_card,
    load_models,
    size_class_for,
)
from slm_lib.catalog.filters import (
    by_language,
    by_license_kind,
    by_modality,
    by_params,
    by_size_class,
    by_technique,
    license_kind,
    on_ollama,
    options,
    sort_cards,
)
from slm_lib.catalog.hardware import default_reserve_gb
from slm_lib.catalog.memory import MemoryEstimate, Need, estimate_memory, estimate_need, estimate_speed, fits
from slm_lib.catalog.recommend import ChooserRequest, Recommendation, recommend

__all__ = [
    "ARCH_FIELDS",
    "ASSET",
    "NOT_PUBLISHED",
    "SIZE_CLASSES",
    "SLM_MAX_PARAMS_B",
    "Benchmark",
    "CatalogError",
    "ChooserRequest",
    "MemoryEstimate",
    "ModelCard",
    "Need",
    "Recommendation",
    "by_language",
    "by_license_kind",
    "by_modality",
    "by_params",
    "by_size_class",
    "by_technique",
    "default_reserve_gb",
    "estimate_memory",
    "estimate_need",
    "estimate_speed",
    "fits",
    "get_card",
    "license_kind",
    "load_models",
    "on_ollama",
    "options",
    "recommend",
    "size_class_for",
    "sort_cards",
]
