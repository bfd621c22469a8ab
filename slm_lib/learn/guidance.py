"""One sentence per lab result: what it means and what to try next, plus explanations for surprising output.

Each function reads a finished result (a dataclass from :mod:`slm_lib.compress` or :mod:`slm_lib.smollm`, or
the few numbers a page measured) and returns plain text; nothing is measured or invented here. Thresholds are
stated in the code so a reader can check why a sentence was chosen.

Example:
    >>> print(structured_rounding(0.3, n_embd=128, n_head=4, mlp_hidden=512))  # doctest: +NORMALIZE_WHITESPACE
    30% of 4 attention heads rounds to 1 head (25%), and 30% of 512 MLP neurons to 154 (30%);
    weighted by the weights they hold, that is 28% of the pruned layers.
    >>> answer_problem("*  1. 1.\\n*  2. 2.\\n*  3. 3.\\n*  4. 4.\\n*  5. 5.\\n*  6. 6.")
    'loops: the same short pattern repeats'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: this module stays light (no torch import)
    from slm_lib.compress.distill import DistillResult
    from slm_lib.smollm.compress import VariantResult

__all__ = [
    "answer_note",
    "answer_problem",
    "distill_verdict",
    "latency_note",
    "prune_advice",
    "quant_advice",
    "samples_note",
    "structured_rounding",
    "variant_advice",
]

TIE_POINTS = 0.5  # accuracy gaps below this many points read as a tie (seeded runs still wobble this much)
NOISE_SHARE = 0.15  # same-size models whose timings differ by more than this are called out as noise


def _pts(delta: float) -> str:
    return f"{100 * delta:+.1f} points"


# ------------------------------------------------------------------------------------------ distillation
def distill_verdict(result: DistillResult) -> str:
    """What the distilled-vs-hard-label gap means in this run, and which knob to turn next."""
    if result.distilled_diverged or result.baseline_diverged:
        return "A student's loss diverged, so this comparison says nothing: lower the temperature or the steps."
    chars = f"{result.config.transfer_chars / 1000:.0f} K characters"
    gap = result.distilled.accuracy - result.baseline.accuracy
    kept = f"the distilled student keeps {result.distilled.retained:.0%} of the teacher's accuracy"
    if result.stopped:
        return (
            f"Stopped after {result.steps_done} steps, so both students are undertrained: train to the end to compare."
        )
    if gap * 100 >= TIE_POINTS:
        return (
            f"Soft targets were worth {_pts(gap)} with {chars} of student data and {kept}; next, give the "
            "student all the training text and see whether hard labels catch up."
        )
    if gap * 100 <= -TIE_POINTS:
        return (
            f"Hard labels won by {-100 * gap:.1f} points with {chars}: the student had enough data of its own; shrink "
            "the transfer set (20 K characters or fewer) where soft targets usually help most."
        )
    return (
        f"A tie (within {TIE_POINTS} points) with {chars}, and {kept}; try less student data or a higher "
        "temperature to see soft targets pull ahead."
    )


def latency_note(result: DistillResult) -> str | None:
    """Explain a timing gap between two students of the same size (it is noise, not distillation)."""
    d, b = result.distilled, result.baseline
    if d.params != b.params or min(d.ms_per_token, b.ms_per_token) <= 0:
        return None
    if abs(d.ms_per_token - b.ms_per_token) / min(d.ms_per_token, b.ms_per_token) <= NOISE_SHARE:
        return None
    return (
        f"Both students have the same {d.params:,} parameters and do the same work per character, so the "
        f"{d.ms_per_token:.2f} vs {b.ms_per_token:.2f} ms gap is timing noise on a shared CPU, not an effect "
        "of how they were trained."
    )


def samples_note(params: int, accuracy: float) -> str:
    """Why the tiny character model writes near-gibberish, and what its samples still show."""
    return (
        f"These models are tiny ({params / 1e6:.1f}M parameters), read one character at a time and guess the "
        f"next one right about {accuracy:.0%} of the time, so expect real words, Python keywords and the "
        "documentation's punctuation but not sentences that make sense: compare how many words each one "
        "spells right, not what they say."
    )


# ----------------------------------------------------------------------------------------------- pruning
def structured_rounding(sparsity: float, n_embd: int, n_head: int, mlp_hidden: int) -> str | None:
    """Why structured pruning removes a different share than the slider asks for (whole units round).

    Mirrors ``slm_lib.compress.prune``: ``round(sparsity * count)`` heads and neurons go from every block.
    A block's attention holds 4·C² weights (q, k, v and the output projection), its MLP 2·C·H.
    """
    heads = round(sparsity * n_head)
    neurons = round(sparsity * mlp_hidden)
    attn, mlp = 4 * n_embd * n_embd, 2 * n_embd * mlp_hidden
    achieved = (heads / n_head * attn + neurons / mlp_hidden * mlp) / (attn + mlp)
    if round(100 * achieved) == round(100 * sparsity):
        return None
    return (
        f"{sparsity:.0%} of {n_head} attention heads rounds to {heads} head{'s' * (heads != 1)} "
        f"({heads / n_head:.0%}), and {sparsity:.0%} of {mlp_hidden} MLP neurons to {neurons} "
        f"({neurons / mlp_hidden:.0%}); weighted by the weights they hold, that is {achieved:.0%} of the "
        "pruned layers."
    )


def prune_advice(*, method: str, sparsity: float, accuracy: float, teacher_accuracy: float, recover_steps: int) -> str:
    """What removing ``sparsity`` of the weights cost, and what to try next."""
    drop = teacher_accuracy - accuracy
    cost = f"Removing {sparsity:.0%} of the pruned weights cost {100 * drop:.1f} accuracy points"
    if drop * 100 < 1 and sparsity < 0.85:
        return f"{cost}, nearly free: raise the sparsity to find where accuracy starts to fall."
    if recover_steps == 0:
        return f"{cost}: turn on the recovery fine-tune to win much of it back."
    if method == "structured":
        return (
            f"{cost} even after {recover_steps} recovery steps: cutting whole units costs more than zeroing "
            "single weights, so try more recovery steps or a lower sparsity."
        )
    return f"{cost} after {recover_steps} recovery steps: try more steps, or the same sparsity with another method."


# ------------------------------------------------------------------------------------------ quantization
def quant_advice(*, label: str, compression: float, accuracy: float, fp32_accuracy: float) -> str:
    """What a quantization setting bought and cost, and what to try next."""
    drop = fp32_accuracy - accuracy
    if drop * 100 < 0.5:
        return (
            f"{label} is {compression:.1f}x smaller at practically the same accuracy ({_pts(-drop)}): try one "
            "bit fewer, or one scale per tensor, to find where the grid gets too coarse."
        )
    if drop * 100 < 3:
        return (
            f"{label} is {compression:.1f}x smaller for {100 * drop:.1f} accuracy points, a fair trade: smaller "
            "groups or an asymmetric grid usually win some of it back."
        )
    return (
        f"{label} lost {100 * drop:.1f} accuracy points: the grid is too coarse for these weights; try smaller "
        "groups, an asymmetric grid or one more bit."
    )


# ------------------------------------------------------------------------------------ the real SLM's variants
def variant_advice(result: VariantResult, base: VariantResult | None) -> str:
    """One line for a measured SmolLM2 variant: how much worse than float, and what that means."""
    if result.name == "float":
        return "The baseline every ΔPPL is measured against."
    if base is None:
        return "Measure float too: ΔPPL needs its perplexity as the baseline."
    rise = result.perplexity / base.perplexity - 1
    if rise < 0.02:
        return f"Practically lossless ({rise:+.1%}) at {result.bits_per_weight:.1f} bits per weight."
    if rise < 0.5:
        return f"Noticeably worse ({rise:+.0%}) but still answers sensibly; read its answer next to float's."
    fix = "Wanda keeps far more at the same sparsity" if result.sparsity > 0 else "int8 keeps almost all of it"
    return f"Badly damaged ({result.perplexity / base.perplexity:.1f}x float's perplexity): {fix}."


_NUMBER = re.compile(r"\d+")


def answer_problem(text: str) -> str | None:
    """Name what is broken in a generated answer: empty, mostly blank, or looping; None if it looks normal.

    Looping is measured on word trigrams with digits masked (so '1. 1. 2. 2.' counts as a repeat): fewer than
    half of them distinct means the text keeps going round the same short pattern.
    """
    stripped = "".join(text.split())
    if not stripped:
        return "is empty"
    if len(stripped) < 0.3 * len(text):
        return "is mostly blank characters"
    words = _NUMBER.sub("#", text.lower()).split()
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    if len(trigrams) >= 10 and len(set(trigrams)) < 0.5 * len(trigrams):
        return "loops: the same short pattern repeats"
    return None


def answer_note(result: VariantResult, base: VariantResult | None) -> str | None:
    """Explain a broken answer to the fixed prompt (greedy decoding on a damaged model); None if it looks fine."""
    problem = answer_problem(result.answer)
    if problem is None:
        return None
    if result.name == "float":
        return (
            f"float's answer {problem}: greedy decoding takes the likeliest token at every step, and a model "
            "this small can fall into such a path even uncompressed."
        )
    rise = "" if base is None else f" (perplexity {result.perplexity / base.perplexity - 1:+.0%})"
    return (
        f"{result.name}'s answer {problem}. Answers here are greedy (always the likeliest next token), and "
        f"compression moved the weights enough{rise} that a repeating or empty path became the likeliest one: "
        "perplexity averages over thousands of tokens, while an answer breaks after a few wrong steps."
    )
