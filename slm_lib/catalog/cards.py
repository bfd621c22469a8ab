"""Sourced model cards, loaded and validated from ``assets/models.json``.

Every number on a card carries a source (``card.sources[field]`` is a URL or a
paper); a fact nobody published stays ``None`` and the pages show it as
"not published". Filters over a list of cards live in :mod:`slm_lib.catalog.filters`.

One rule decides what counts as a small language model: the **total** number of
parameters that must be held in memory is under :data:`SLM_MAX_PARAMS_B` (10 billion).
A mixture-of-experts model counts all its experts, not only the active ones. Each card
declares its ``size_class`` ("slm", "borderline" or "llm") and loading refuses a card
whose class contradicts its parameter count.

Example:
    >>> card = get_card(load_models(), "phi-3.5-moe")
    >>> card.size_class, card.params_b, card.active_params_b
    ('borderline', 41.9, 6.6)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slm_lib.settings import ASSETS_DIR

__all__ = [
    "ARCH_FIELDS",
    "ASSET",
    "Benchmark",
    "CatalogError",
    "ModelCard",
    "NOT_PUBLISHED",
    "SIZE_CLASSES",
    "SLM_MAX_PARAMS_B",
    "get_card",
    "load_models",
    "size_class_for",
]

ASSET = ASSETS_DIR / "models.json"
NOT_PUBLISHED = "not published"
ARCH_FIELDS = ("n_layers", "n_heads", "n_kv_heads", "head_dim", "vocab_size")
# The app's SLM definition (the source article's "fewer than 10 billion parameters"), applied to the
# total parameter count because every parameter has to sit in memory, MoE experts included.
SLM_MAX_PARAMS_B = 10.0
SIZE_CLASSES = {
    "slm": "SLM",
    "borderline": "above the SLM line",  # open model just past the line, kept for contrast
    "llm": "reference LLM",
}
# Numeric fields: (lower bound exclusive, upper bound inclusive). A value outside is a typo, not a model.
_RANGES: dict[str, tuple[float, float]] = {
    "params_b": (0.0, 10_000.0),
    "active_params_b": (0.0, 10_000.0),
    "context_tokens": (0, 10_000_000),
    "training_tokens_t": (0.0, 1_000.0),
    "ollama_size_gb": (0.0, 2_000.0),
    "n_layers": (0, 1_000),
    "n_heads": (0, 1_024),
    "n_kv_heads": (0, 1_024),
    "head_dim": (0, 4_096),
    "vocab_size": (0, 10_000_000),
}
_INT_FIELDS = {"context_tokens", *ARCH_FIELDS}


class CatalogError(ValueError):
    """The model data file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Benchmark:
    """One published score. ``shots`` is None where the source does not state it."""

    name: str
    score: float
    shots: int | None
    note: str
    source: str

    def label(self) -> str:
        """e.g. ``'63.4 (5-shot, instruct)'``."""
        bits = [f"{self.shots}-shot" if self.shots is not None else "shots not stated"]
        if self.note:
            bits.append(self.note)
        return f"{self.score:g} ({', '.join(bits)})"


@dataclass(frozen=True)
class ModelCard:
    """Facts about one model; ``None`` means not published. ``sources`` maps field -> citation."""

    id: str
    name: str
    family: str
    vendor: str
    size_class: str  # a key of SIZE_CLASSES, consistent with params_b (checked on load)
    params_b: float | None
    active_params_b: float | None  # MoE: parameters used per token; None for dense models
    context_tokens: int | None
    training_tokens_t: float | None
    license: str
    release: str | None
    ollama_tag: str | None
    ollama_size_gb: float | None
    modalities: tuple[str, ...]
    languages: tuple[str, ...]
    languages_note: str | None
    techniques: tuple[str, ...]
    benchmarks: Mapping[str, Benchmark]
    n_layers: int | None
    n_heads: int | None
    n_kv_heads: int | None
    head_dim: int | None
    vocab_size: int | None
    strengths: tuple[str, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    size_note: str | None = None  # why a borderline model sits where it does

    @property
    def is_slm(self) -> bool:
        return self.size_class == "slm"

    @property
    def is_llm(self) -> bool:
        """A reference LLM (large or undisclosed size); borderline models are neither SLM nor this."""
        return self.size_class == "llm"

    @property
    def size_label(self) -> str:
        return SIZE_CLASSES[self.size_class]

    @property
    def is_moe(self) -> bool:
        return self.active_params_b is not None

    @property
    def has_architecture(self) -> bool:
        """True when every number the KV-cache formula needs is published."""
        return all(getattr(self, f) is not None for f in ARCH_FIELDS if f != "vocab_size")

    @property
    def mmlu(self) -> Benchmark | None:
        """The 5-shot MMLU score where published (the one comparable headline number)."""
        bench = self.benchmarks.get("MMLU")
        return bench if bench is not None and bench.shots == 5 else None

    def source(self, name: str) -> str | None:
        """The citation for a field (architecture fields share their config.json)."""
        return self.sources.get(name)

    @property
    def ollama_pull(self) -> str | None:
        return f"ollama pull {self.ollama_tag}" if self.ollama_tag else None


def size_class_for(params_b: float | None) -> str:
    """'slm' when the total parameter count is known and under the line, 'llm' otherwise.

    A card may declare 'borderline' instead of 'llm' for an open model past the line.

    Example:
        >>> size_class_for(9.24), size_class_for(27.0), size_class_for(None)
        ('slm', 'llm', 'llm')
    """
    return "slm" if params_b is not None and params_b < SLM_MAX_PARAMS_B else "llm"


def _size_class(raw: Mapping[str, Any], params_b: float | None, where: str) -> str:
    declared = raw.get("size_class")
    if declared not in SIZE_CLASSES:
        raise CatalogError(f"{where}: field 'size_class' must be one of {', '.join(SIZE_CLASSES)}, got {declared!r}")
    rule = size_class_for(params_b)
    total = "unknown" if params_b is None else f"{params_b:g}B"
    if (declared == "slm") != (rule == "slm"):
        raise CatalogError(
            f"{where}: field 'size_class' is {declared!r} but its {total} total parameters make it "
            f"{'an SLM' if rule == 'slm' else 'not an SLM'} (the line is {SLM_MAX_PARAMS_B:g}B in memory)"
        )
    if declared == "borderline" and (params_b is None or not _text(raw, "size_note", where)):
        raise CatalogError(f"{where}: field 'size_note' must say why a borderline model is shown (with params_b)")
    return declared


def _where(raw: Mapping[str, Any], index: int) -> str:
    return f"model #{index} ({raw.get('id', '?')})"


def _text(raw: Mapping[str, Any], name: str, where: str, *, optional: bool = False) -> str | None:
    value = raw.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: field {name!r} must be a non-empty string, got {value!r}")
    return value


def _number(raw: Mapping[str, Any], name: str, where: str) -> float | int | None:
    value = raw.get(name)
    if value is None:
        return None
    integer = name in _INT_FIELDS
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        kind = "an integer" if integer else "a number"
        raise CatalogError(f"{where}: field {name!r} must be {kind} or null, got {value!r}")
    low, high = _RANGES[name]
    if not low < value <= high:
        raise CatalogError(f"{where}: field {name!r} = {value!r} is outside ({low:g}, {high:g}]")
    return value if integer else float(value)


def _strings(raw: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CatalogError(f"{where}: field {name!r} must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def _cite(key: object, sources: Mapping[str, str], where: str) -> str:
    if not isinstance(key, str) or key not in sources:
        raise CatalogError(f"{where}: source {key!r} is not in the file's 'sources'")
    return sources[key]


def _benchmarks(raw: Mapping[str, Any], sources: Mapping[str, str], where: str) -> dict[str, Benchmark]:
    out: dict[str, Benchmark] = {}
    items = raw.get("benchmarks", [])
    if not isinstance(items, list):
        raise CatalogError(f"{where}: field 'benchmarks' must be a list")
    for j, item in enumerate(items):
        at = f"{where} benchmark #{j}"
        name = _text(item, "name", at)
        score, shots = item.get("score"), item.get("shots")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100:
            raise CatalogError(f"{at}: field 'score' must be a number in [0, 100], got {score!r}")
        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 0):
            raise CatalogError(f"{at}: field 'shots' must be a non-negative integer or null, got {shots!r}")
        if name in out:
            raise CatalogError(f"{at}: benchmark {name!r} appears twice")
        note = item.get("note", "")
        out[name] = Benchmark(
            name, float(score), shots, note if isinstance(note, str) else "", _cite(item.get("source"), sources, at)
        )
    return out


def _card(raw: Mapping[str, Any], sources: Mapping[str, str], index: int) -> ModelCard:
    if not isinstance(raw, dict):
        raise CatalogError(f"model #{index}: each entry must be an object")
    where = _where(raw, index)
    cites = raw.get("sources")
    if not isinstance(cites, dict):
        raise CatalogError(f"{where}: field 'sources' must map field names to source keys")
    resolved = {f: _cite(k, sources, f"{where} sources[{f!r}]") for f, k in cites.items()}
    if "architecture" in resolved:  # one config.json backs all five architecture numbers
        url = resolved.pop("architecture")
        resolved.update({f: url for f in ARCH_FIELDS if raw.get(f) is not None})
    numbers = {n: _number(raw, n, where) for n in _RANGES}
    size_class = _size_class(raw, numbers["params_b"], where)
    strings = {n: _strings(raw, n, where) for n in ("modalities", "languages", "techniques", "strengths")}
    # Every published fact needs a citation; unknowns (None / empty) need none.
    facts = {
        **numbers,
        **strings,
        "license": raw.get("license"),
        "release": raw.get("release"),
        "ollama_tag": raw.get("ollama_tag"),
    }
    for name, value in facts.items():
        if value not in (None, ()) and name not in resolved:
            raise CatalogError(f"{where}: field {name!r} has a value but no entry in 'sources'")
    if raw.get("languages_note") is not None and "languages" not in resolved:
        raise CatalogError(f"{where}: field 'languages_note' has a value but 'languages' has no entry in 'sources'")
    active, total = numbers["active_params_b"], numbers["params_b"]
    if active is not None and total is not None and active > total:
        raise CatalogError(f"{where}: field 'active_params_b' ({active}) exceeds 'params_b' ({total})")
    heads, kv = numbers["n_heads"], numbers["n_kv_heads"]
    if heads is not None and kv is not None and heads % kv:
        raise CatalogError(f"{where}: field 'n_kv_heads' ({kv}) must divide 'n_heads' ({heads})")
    return ModelCard(
        id=_text(raw, "id", where),
        name=_text(raw, "name", where),
        family=_text(raw, "family", where),
        vendor=_text(raw, "vendor", where),
        size_class=size_class,
        size_note=_text(raw, "size_note", where, optional=True),
        license=_text(raw, "license", where),
        release=_text(raw, "release", where, optional=True),
        ollama_tag=_text(raw, "ollama_tag", where, optional=True),
        languages_note=_text(raw, "languages_note", where, optional=True),
        benchmarks=_benchmarks(raw, sources, where),
        sources=resolved,
        **numbers,  # type: ignore[arg-type]
        **strings,
    )


def load_models(path: Path = ASSET) -> list[ModelCard]:
    """Load and validate every model card.

    Raises:
        CatalogError: naming the malformed entry and field.

    Example:
        >>> len(load_models()) > 20
        True
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{Path(path).name} is not valid JSON: {exc}") from exc
    sources = raw.get("sources") if isinstance(raw, dict) else None
    if not isinstance(sources, dict) or not sources:
        raise CatalogError("field 'sources' must map source keys to citations")
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise CatalogError("field 'models' must be a non-empty list")
    cards = [_card(e, sources, i) for i, e in enumerate(entries)]
    seen: set[str] = set()
    for i, card in enumerate(cards):
        if card.id in seen:
            raise CatalogError(f"model #{i} ({card.id}): field 'id' is a duplicate")
        seen.add(card.id)
    return cards


def get_card(cards: Iterable[ModelCard], model_id: str) -> ModelCard:
    """The card with this id; ValueError naming the id otherwise."""
    for card in cards:
        if card.id == model_id:
            return card
    raise ValueError(f"unknown model id {model_id!r}")
