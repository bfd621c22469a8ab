"""The chooser: which SLMs fit a use case, a device, a context length and a license, ranked with reasons.

Hard filters first (modality, license, language, context, size class), then memory: a model is a
pick only when its whole need (weights + KV cache + allowance) is known and fits the memory left
after the **reserve** kept free for the operating system and other apps. A model whose card lacks
a number is not dropped: if what *is* published already fits, it is listed as "may fit" with what
is missing; only models known not to fit are excluded.

Ranking never puts two benchmarks on one scale. Picks are grouped by the use case's benchmarks, in
order: first every pick with the main benchmark, highest score first; then, in a separate labelled
group, picks without it but with the next benchmark; last, the picks with none of them, ordered by
a published fact (smallest memory need, longest context or most languages).

Example:
    >>> from slm_lib.catalog.cards import load_models
    >>> rec = recommend(load_models(), ChooserRequest(use_case="code", memory_gb=16))
    >>> [g.benchmark for g in rec.groups]
    ['HumanEval', 'MMLU', None]
    >>> rec.reserve_gb, rec.budget_gb
    (3.2, 12.8)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from slm_lib.catalog.cards import SLM_MAX_PARAMS_B, ModelCard
from slm_lib.catalog.filters import license_kind
from slm_lib.catalog.hardware import custom_device
from slm_lib.catalog.memory import (
    CANNOT_TELL,
    FITS,
    MAY_FIT,
    TOO_BIG,
    MemoryEstimate,
    Need,
    SpeedEstimate,
    estimate_memory,
    estimate_need,
    estimate_speed,
)
from slm_lib.catalog.request import LICENSE_OK, LICENSES, USE_CASES, ChooserRequest, UseCase

__all__ = [
    "LICENSES",
    "MIN_RANKED",
    "USE_CASES",
    "ChooserRequest",
    "Exclusion",
    "Pick",
    "PickGroup",
    "Recommendation",
    "UseCase",
    "recommend",
]

MIN_RANKED = 3  # fewer scored picks than this (or under half of them) and the page says the ranking says little


_BENCH_LABEL = {"MMLU": "MMLU (5-shot)"}
_FALLBACK_ORDER = {
    "need": "ordered by smallest memory need",
    "context": "ordered by longest maximum context (a published fact, not a score)",
    "languages": "ordered by how many languages the vendor lists (a published fact, not a score)",
}


@dataclass(frozen=True)
class Pick:
    card: ModelCard
    estimate: MemoryEstimate
    need: Need
    spare_gb: float  # budget minus the need: memory still free after the reserve and the model
    score_name: str | None
    score: float | None
    speed: SpeedEstimate | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PickGroup:
    """Picks ranked on one benchmark (``benchmark``), or the unscored rest (``benchmark`` None)."""

    benchmark: str | None
    title: str
    picks: tuple[Pick, ...]


@dataclass(frozen=True)
class Exclusion:
    card: ModelCard
    reason: str
    need: Need | None = None  # set when memory was checked
    for_memory: bool = False  # True: known not to fit the memory budget


@dataclass(frozen=True)
class Recommendation:
    request: ChooserRequest
    groups: tuple[PickGroup, ...]
    possible: tuple[Exclusion, ...]  # may fit, but a number the check needs is not published
    excluded: tuple[Exclusion, ...]

    @property
    def picks(self) -> tuple[Pick, ...]:
        """Every pick, group by group, in ranking order."""
        return tuple(p for g in self.groups for p in g.picks)

    @property
    def nothing_fits(self) -> bool:
        return not self.picks

    @property
    def reserve_gb(self) -> float:
        return self.request.reserve

    @property
    def budget_gb(self) -> float:
        return self.request.budget

    @property
    def closest(self) -> Exclusion | None:
        """The excluded model with the smallest memory need (what to aim for when nothing fits)."""
        memory = [e for e in self.excluded if e.for_memory and e.need is not None and e.need.gb is not None]
        return min(memory, key=lambda e: e.need.gb or 0.0, default=None)  # type: ignore[union-attr]

    def thin_evidence(self) -> str | None:
        """A plain warning when too few picks publish the use case's main score to rank them."""
        use = USE_CASES[self.request.use_case]
        if not use.benchmarks or not self.picks:
            return None
        main = use.benchmarks[0]
        scored = sum(len(g.picks) for g in self.groups if g.benchmark == main)
        if scored == len(self.picks) or (scored >= MIN_RANKED and 2 * scored >= len(self.picks)):
            return None
        return (
            f"Only {scored} of the {len(self.picks)} models that fit {'has' if scored == 1 else 'have'} a published "
            f"{_BENCH_LABEL.get(main, main)} score, "
            f"so this ranking says little about {use.label.lower()}. Try the candidates on your own prompts in "
            "the Playground."
        )

    def message(self) -> str:
        """One plain paragraph summarising the outcome, the reserve rule included."""
        req = self.request
        setting = f"at {req.quant} with a context of {req.context_tokens:,} tokens"
        room = (
            f"{self.budget_gb:.1f} GB (the {req.memory_gb:g} GB device minus {self.reserve_gb:.1f} GB kept free for "
            f"the system: {req.reserve_rule()})"
        )
        if self.picks:
            text = f"{len(self.picks)} model(s) fit {room} {setting}."
        else:
            text = f"Nothing in the catalog is known to fit {room} {setting} and your other constraints."
            if self.closest is not None:
                need = self.closest.need
                assert need is not None and need.gb is not None  # closest only returns checked needs
                amount = f"about {need.total_gb:.1f}" if need.total_gb is not None else f"at least {need.gb:.1f}"
                text += f" The closest: {self.closest.card.name}, which needs {amount} GB."
            text += (
                " Try a smaller quantization (q2_K), a shorter context, more memory, a smaller reserve if the "
                "device runs nothing else, or a looser license/language choice."
            )
        if self.possible:
            names = ", ".join(
                f"{e.card.name} ({', '.join(e.need.missing) if e.need else e.reason})" for e in self.possible
            )
            text += f" {len(self.possible)} more may fit, but a number the check needs is not published: {names}."
        return text


def _score(card: ModelCard, name: str) -> float | None:
    bench = card.benchmarks.get(name)
    if bench is None or (name == "MMLU" and bench.shots != 5):  # only 5-shot MMLU is comparable
        return None
    return bench.score


def _filter(card: ModelCard, req: ChooserRequest, use: UseCase) -> str | None:
    """Why this card is out before memory is checked, or None."""
    if use.needs_image and "image" not in card.modalities:
        return "does not accept images"
    if license_kind(card) not in LICENSE_OK[req.license]:
        return f"license is {card.license} ({license_kind(card)})"
    if license_kind(card) == "proprietary":
        return "weights not released (API only), so it cannot run on your device"
    if req.language is not None and req.language not in card.languages:
        return f"{req.language} is not among its listed languages"
    if card.context_tokens is not None and req.context_tokens > card.context_tokens:
        return f"maximum context is {card.context_tokens:,} tokens, below your {req.context_tokens:,}"
    if not card.is_slm and not req.include_large:
        what = f"{card.size_label}, above the {SLM_MAX_PARAMS_B:g}B SLM line"
        if card.size_note:
            what = f"above the {SLM_MAX_PARAMS_B:g}B SLM line ({card.size_note.rstrip('.')})"
        return f"{what}; tick 'also consider larger models' to include it"
    return None


def _pick(card: ModelCard, need: Need, req: ChooserRequest, use: UseCase) -> Pick:
    est = estimate_memory(card, req.quant, req.context_tokens, req.kv_bits)
    assert need.total_gb is not None  # a pick's whole need is known
    spare = req.budget - need.total_gb
    name = next((b for b in use.benchmarks if _score(card, b) is not None), None)
    score = None if name is None else _score(card, name)
    reasons = [
        f"fits with {spare:.1f} GB to spare at {req.quant} (needs {need.total_gb:.1f} of the {req.budget:.1f} GB "
        f"left after the {req.reserve:.1f} GB reserve, KV cache included)"
    ]
    if name is not None:
        reasons.append(f"{name}: {card.benchmarks[name].label()}")
    elif use.benchmarks:
        reasons.append(f"no published {' / '.join(_BENCH_LABEL.get(b, b) for b in use.benchmarks)} score")
    reasons.append(f"context up to {card.context_tokens:,} tokens")
    reasons.append(f"license: {card.license} ({license_kind(card)})")
    if use.id == "translation":
        reasons.append(f"languages: {card.languages_note or f'{len(card.languages)} listed'}")
    if not card.is_slm:
        reasons.append(f"{card.size_label}: {card.size_note or f'{card.params_b:g}B parameters'}")
    device = custom_device(req.memory_gb, req.bandwidth_gb_s)
    speed = estimate_speed(card, device, req.quant, req.context_tokens, req.kv_bits)
    if speed is not None:
        reasons.append(f"at most ~{speed.tokens_per_s:.0f} tokens/s at a full context ({speed.label})")
    return Pick(card, est, need, spare, name, score, speed, tuple(reasons))


def _groups(picks: list[Pick], use: UseCase) -> tuple[PickGroup, ...]:
    groups: list[PickGroup] = []
    done: list[str] = []
    for name in use.benchmarks:
        members = sorted(
            (p for p in picks if p.score_name == name), key=lambda p: (-(p.score or 0.0), p.need.total_gb or 0.0)
        )
        label = _BENCH_LABEL.get(name, name)
        title = f"Ranked by {label}, highest published score first"
        if done:
            title = f"No {' or '.join(done)} score published; ranked by {label} instead"
        if members:
            groups.append(PickGroup(name, title, tuple(members)))
        done.append(label)
    order: dict[str, Callable[[Pick], float]] = {
        "need": lambda p: p.need.total_gb or 0.0,
        "context": lambda p: -float(p.card.context_tokens or 0),
        "languages": lambda p: -float(len(p.card.languages)),
    }
    rest = sorted((p for p in picks if p.score_name is None), key=order[use.fallback])
    if rest:
        lead = f"No {' or '.join(done)} score published; " if done else ""
        title = lead + _FALLBACK_ORDER[use.fallback]
        groups.append(PickGroup(None, title[0].upper() + title[1:], tuple(rest)))
    return tuple(groups)


def recommend(cards: Iterable[ModelCard], req: ChooserRequest) -> Recommendation:
    """Group and rank the cards that fit the request; list what may fit and why the rest are out."""
    use = USE_CASES[req.use_case]
    picks: list[Pick] = []
    possible: list[Exclusion] = []
    excluded: list[Exclusion] = []
    for card in cards:
        reason = _filter(card, req, use)
        if reason is not None:
            excluded.append(Exclusion(card, reason))
            continue
        need = estimate_need(card, req.quant, req.context_tokens, req.kv_bits)
        status = need.status(req.budget)
        if status == FITS:
            picks.append(_pick(card, need, req, use))
        elif status == TOO_BIG:
            amount = f"about {need.total_gb:.1f}" if need.total_gb is not None else f"at least {need.gb:.1f}"
            why = f"needs {amount} GB, more than the {req.budget:.1f} GB left after the reserve"
            excluded.append(Exclusion(card, why, need, for_memory=True))
        else:  # MAY_FIT or cannot tell: a number is missing, so it is neither a pick nor excluded
            assert status in (MAY_FIT, CANNOT_TELL)
            possible.append(Exclusion(card, need.sentence(), need))
    excluded.sort(key=lambda e: (not e.for_memory, e.need.gb if e.need and e.need.gb is not None else 0.0))
    return Recommendation(req, _groups(picks, use), tuple(possible), tuple(excluded))
