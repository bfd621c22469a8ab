"""What the chooser is asked: a use case, a device's memory, a context length, a license, a reserve.

:class:`ChooserRequest` validates itself on creation and works out the **reserve**, the memory kept
free for the operating system and other apps (by default the larger of 1.5 GB and 20% of the
device's memory; more for use cases that need it), and so the budget a model may use.

Example:
    >>> req = ChooserRequest(use_case="chat", memory_gb=8)
    >>> req.reserve, req.budget, req.reserve_rule()
    (1.6, 6.4, "the larger of 1.5 GB and 20% of the device's memory")
"""

from __future__ import annotations

from dataclasses import dataclass

from slm_lib.catalog.hardware import RESERVE_RULE, custom_device, default_reserve_gb, resolve_bits
from slm_lib.catalog.memory import KV_BITS

__all__ = ["LICENSE_OK", "LICENSES", "USE_CASES", "ChooserRequest", "UseCase"]


@dataclass(frozen=True)
class UseCase:
    id: str
    label: str
    benchmarks: tuple[str, ...]  # ranking scores, in order; each forms its own group, never mixed
    fallback: str = "need"  # order of the unscored group: "need" (smallest first), "context" or "languages"
    needs_image: bool = False
    why: str = ""
    reserve_fraction: float = 0.0  # a use case that must leave more of the memory free


USE_CASES: dict[str, UseCase] = {
    u.id: u
    for u in (
        UseCase("chat", "Chat assistant", ("MMLU", "IFEval"), why="broad knowledge (MMLU, 5-shot) matters most"),
        UseCase("summarization", "Summarization", ("MMLU",), why="understanding (MMLU); inputs need context"),
        UseCase("classification", "Classification", ("MMLU",), why="small, fast models often suffice"),
        UseCase(
            "translation",
            "Translation",
            (),
            fallback="languages",
            why="no translation benchmark in the catalog, so models are ordered by how many languages their "
            "vendor lists; pick your language to keep only models that list it",
        ),
        UseCase("code", "Code", ("HumanEval", "MMLU"), why="HumanEval measures code generation"),
        UseCase("math", "Math", ("GSM8K", "MATH", "MMLU"), why="GSM8K measures grade-school math word problems"),
        UseCase(
            "edge",
            "On-device / edge",
            ("MMLU",),
            why="a phone or board runs other apps too, so at least half its memory stays free",
            reserve_fraction=0.5,
        ),
        UseCase(
            "long-docs",
            "Long documents",
            ("RULER-128K",),
            fallback="context",
            why="RULER measures long-context use; the rest are ordered by their maximum context",
        ),
        UseCase("vision", "Vision (images)", ("MMMU", "ChartQA"), needs_image=True, why="the model must accept images"),
    )
}
LICENSES = {
    "any": "Any license (including API-only models)",
    "open-weights": "Open weights (I can download and run it)",
    "permissive": "Permissive only (Apache-2.0 or MIT)",
}
LICENSE_OK = {
    "any": {"permissive", "open weights, custom terms", "proprietary"},
    "open-weights": {"permissive", "open weights, custom terms"},
    "permissive": {"permissive"},
}


@dataclass(frozen=True)
class ChooserRequest:
    """What the user needs. Validated on creation: impossible values raise ValueError naming them.

    ``reserve_gb`` is the memory kept free for the operating system and other apps; None means the
    default rule (the larger of 1.5 GB and 20% of ``memory_gb``).
    """

    use_case: str
    memory_gb: float
    context_tokens: int = 4096
    license: str = "any"
    language: str | None = None
    quant: str = "q4_K_M"
    bandwidth_gb_s: float | None = None
    kv_bits: int = 16
    include_large: bool = False  # also consider borderline models and reference LLMs
    reserve_gb: float | None = None

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
        reserve = self.reserve_gb
        if reserve is not None and (isinstance(reserve, bool) or not 0 <= reserve < self.memory_gb):
            raise ValueError(
                f"the memory kept free for the system must be at least 0 GB and below the device's "
                f"{self.memory_gb:g} GB, got {reserve!r}"
            )

    def _base_reserve(self) -> float:
        return default_reserve_gb(self.memory_gb) if self.reserve_gb is None else float(self.reserve_gb)

    @property
    def reserve(self) -> float:
        """GB kept free: the user's figure or the default rule, raised for use cases that need more."""
        return round(max(self._base_reserve(), USE_CASES[self.use_case].reserve_fraction * self.memory_gb), 2)

    @property
    def budget(self) -> float:
        """GB a model may use: device memory minus the reserve (never below 0)."""
        return round(max(0.0, self.memory_gb - self.reserve), 2)

    def reserve_rule(self) -> str:
        """How the reserve was set, in words."""
        use = USE_CASES[self.use_case]
        if use.reserve_fraction * self.memory_gb > self._base_reserve():
            return f"{use.reserve_fraction:.0%} of the memory for {use.label.lower()} use"
        return "your choice" if self.reserve_gb is not None else RESERVE_RULE
