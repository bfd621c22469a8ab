"""The chooser: which SLMs fit a use case, a device, a context length and a license, ranked with reasons.

Hard filters first (modality, license, language, context, memory), then a transparent ranking:
the use case's preferred published benchmark, highest first; models with no published score
for it come after those with one. Every pick carries short reasons a non-expert can read.

Example:
    req = ChooserRequest(use_case="chat", memory_gb=8, context_tokens=4096)
    rec = recommend(load_models(), req)
    rec.picks[0].card.name, rec.picks[0].reasons[0]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from slm_lib.catalog.cards import ModelCard, license_kind
from slm_lib.catalog.memory import (
    KV_BITS,
    MemoryEstimate,
    SpeedEstimate,
    custom_device,
    estimate_memory,
    estimate_speed,
    resolve_bits,
)

__all__ = [
    "LICENSES",
    "USE_CASES",
    "ChooserRequest",
    "Exclusion",
    "Pick",
    "Recommendation",
    "UseCase",
    "recommend",
]


@dataclass(frozen=True)
class UseCase:
    id: str
    label: str
    benchmarks: tuple[str, ...]  # preferred published scores, in order
    needs_image: bool = False
    why: str = ""


USE_CASES: dict[str, UseCase] = {
    u.id: u
    for u in (
        UseCase("chat", "Chat assistant", ("MMLU", "IFEval"), why="broad knowledge (MMLU) matters most"),
        UseCase("summarization", "Summarization", ("MMLU",), why="understanding (MMLU); inputs need context"),
        UseCase("classification", "Classification", ("MMLU",), why="small, fast models often suffice"),
        UseCase("translation", "Translation", ("MMLU",), why="the vendor must list your language"),
        UseCase("code", "Code", ("HumanEval", "MMLU"), why="HumanEval measures code generation"),
        UseCase("math", "Math", ("GSM8K", "MATH", "MMLU"), why="GSM8K measures grade-school math word problems"),
        UseCase(
            "edge",
            "On-device / edge",
            ("MMLU",),
            why="keeps at least half the device's memory free for the OS and apps",
        ),
        UseCase("long-docs", "Long documents", ("RULER-128K", "MMLU"), why="longest context first"),
        UseCase("vision", "Vision (images)", ("MMMU", "ChartQA"), needs_image=True, why="the model must accept images"),
    )
}
LICENSES = {
    "any": "Any license (including API-only models)",
    "open-weights": "Open weights (I can download and run it)",
    "permissive": "Permissive only (Apache-2.0 or MIT)",
}
_LICENSE_OK = {
    "any": {"permissive", "open weights, custom terms", "proprietary"},
    "open-weights": {"permissive", "open weights, custom terms"},
    "permissive": {"permissive"},
}


@dataclass(frozen=True)
class ChooserRequest:
    """What the user needs. Validated on creation: impossible values raise ValueError naming them."""

    use_case: str
    memory_gb: float
    context_tokens: int = 4096
    license: str = "any"
    language: str | None = None
    quant: str = "q4_K_M"
    bandwidth_gb_s: float | None = None
    kv_bits: int = 16
    include_llms: bool = False

    def __post_init__(self) -> None:
        if self.use_case not in USE_CASES:
            raise ValueError(f"unknown use case {self.use_case!r}; choose one of {', '.join(USE_CASES)}")
        custom_device(self.memory_gb, self.bandwidth_gb_s)  # raises for 0 GB RAM etc.
        if isinstance(self.context_tokens, bool) or not isinstance(self.context_tokens, int) or self.context_tokens < 1:
            raise ValueError(f"context length must be a whole number of tokens >= 1, got {self.context_tokens!r}")
        if self.license not in LICENSES:
            raise ValueError(f"unknown license constraint {self.license!r}; choose one of {', '.join(LICENSES)}")
        resolve_bits(self.quant)  # raises for an unknown quantization name
        if self.kv_bits not in KV_BITS:
            raise ValueError(f"KV-cache bits must be one of {KV_BITS}, got {self.kv_bits!r}")


@dataclass(frozen=True)
class Pick:
    card: ModelCard
    estimate: MemoryEstimate
    spare_gb: float
    score_name: str | None
    score: float | None
    speed: SpeedEstimate | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Exclusion:
    card: ModelCard
    reason: str


@dataclass(frozen=True)
class Recommendation:
    request: ChooserRequest
    picks: tuple[Pick, ...]
    excluded: tuple[Exclusion, ...]
    unchecked: tuple[Exclusion, ...]  # passed every filter but memory could not be computed

    @property
    def nothing_fits(self) -> bool:
        return not self.picks

    def message(self) -> str:
        """One plain sentence summarising the outcome."""
        req = self.request
        if self.picks:
            return (
                f"{len(self.picks)} model(s) fit {req.memory_gb:g} GB at {req.quant} with a "
                f"{req.context_tokens:,}-token context."
            )
        memory = [e for e in self.excluded if e.reason.startswith("needs")]
        closest = f" The closest: {memory[0].card.name} {memory[0].reason}." if memory else ""
        if self.unchecked:
            names = ", ".join(f"{u.card.name} ({u.reason})" for u in self.unchecked)
            closest += f" Not checked, because their architecture is not published: {names}."
        return (
            f"Nothing in the catalog fits {req.memory_gb:g} GB at {req.quant} with a "
            f"{req.context_tokens:,}-token context and your other constraints.{closest} Try a smaller "
            "quantization (q2_K), a shorter context, more memory, or a looser license/language choice."
        )


def _best_score(card: ModelCard, use: UseCase) -> tuple[str | None, float | None, str | None]:
    for name in use.benchmarks:
        bench = card.benchmarks.get(name)
        if bench is not None and (name != "MMLU" or bench.shots == 5):
            return name, bench.score, bench.label()
    return None, None, None


def _filter(card: ModelCard, req: ChooserRequest, use: UseCase) -> str | None:
    """Why this card is out, or None if it passes every hard filter except memory."""
    if use.needs_image and "image" not in card.modalities:
        return "does not accept images"
    if license_kind(card) not in _LICENSE_OK[req.license]:
        return f"license is {card.license} ({license_kind(card)})"
    if req.language is not None and req.language not in card.languages:
        return f"{req.language} is not among its listed languages"
    if card.context_tokens is None:
        return "maximum context length not published"
    if req.context_tokens > card.context_tokens:
        return f"maximum context is {card.context_tokens:,} tokens, below your {req.context_tokens:,}"
    if card.params_b is None:
        return "parameter count not published, so memory cannot be estimated"
    return None


def recommend(cards: Iterable[ModelCard], req: ChooserRequest) -> Recommendation:
    """Rank the cards that fit the request, best first, each with its reasons."""
    use = USE_CASES[req.use_case]
    device = custom_device(req.memory_gb, req.bandwidth_gb_s)
    budget = req.memory_gb / 2 if use.id == "edge" else req.memory_gb
    picks: list[Pick] = []
    excluded: list[Exclusion] = []
    unchecked: list[Exclusion] = []
    for card in cards:
        if card.is_llm and not req.include_llms:
            continue
        reason = _filter(card, req, use)
        if reason is not None:
            excluded.append(Exclusion(card, reason))
            continue
        est = estimate_memory(card, req.quant, req.context_tokens, req.kv_bits)
        if est.total_gb is None:
            why = f"KV-cache size not published (weights alone: {est.weights_gb:.1f} GB)"
            unchecked.append(Exclusion(card, why))
            continue
        if est.total_gb > budget:
            where = "half of " if use.id == "edge" else ""
            why = f"needs {est.total_gb:.1f} GB, more than {where}{req.memory_gb:g} GB"
            excluded.append(Exclusion(card, why))
            continue
        name, score, label = _best_score(card, use)
        spare = req.memory_gb - est.total_gb
        reasons = [
            f"fits with {spare:.1f} GB to spare at {req.quant} (needs {est.total_gb:.1f} of "
            f"{req.memory_gb:g} GB, KV cache included)"
        ]
        reasons.append(f"{name} {label}" if name else f"no published {' / '.join(use.benchmarks)} score")
        reasons.append(f"context up to {card.context_tokens:,} tokens")
        reasons.append(f"license: {card.license} ({license_kind(card)})")
        if use.id == "translation":
            listed = card.languages_note or f"{len(card.languages)} listed languages"
            reasons.append(f"languages: {listed}")
        speed = estimate_speed(card, device, req.quant, req.context_tokens, req.kv_bits)
        if speed is not None:
            reasons.append(f"at most ~{speed.tokens_per_s:.0f} tokens/s at a full context ({speed.label})")
        picks.append(Pick(card, est, spare, name, score, speed, tuple(reasons)))

    def rank(p: Pick) -> tuple[float, ...]:
        quality = (p.score is not None, p.score or 0.0)
        if use.id == "long-docs":
            return (float(p.card.context_tokens or 0), *quality)
        if use.id == "translation":
            return (float(len(p.card.languages)), *quality)
        return (*quality, p.spare_gb)

    picks.sort(key=rank, reverse=True)
    excluded.sort(key=lambda e: e.card.params_b or 0.0)
    return Recommendation(req, tuple(picks), tuple(excluded), tuple(unchecked))
