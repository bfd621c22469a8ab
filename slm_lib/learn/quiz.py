"""Check-your-understanding quizzes: fixed questions per page from ``assets/quizzes.json``, plus questions
built from what a lab page just measured (so the quiz asks about the student's own run).

Answer order is shuffled with a seed (one per session in the app), so the right answer is not always in the
same place; :func:`shuffled` keeps ``answer`` pointing at the same option text.

Example:
    >>> q = Question("2 + 2?", ("4", "5", "22"), 0, "Arithmetic.")
    >>> s = shuffled(q, seed=7)
    >>> s.options[s.answer]
    '4'
    >>> grade(s, "4")
    True
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slm_lib.settings import ASSETS_DIR

if TYPE_CHECKING:  # types only: this module stays light (no torch import)
    from slm_lib.compress.distill import DistillResult
    from slm_lib.smollm.compress import VariantResult

__all__ = [
    "ASSET",
    "PAGES",
    "Question",
    "QuizError",
    "distill_question",
    "grade",
    "load_quiz",
    "prune_question",
    "quant_question",
    "shuffled",
    "variant_question",
]

ASSET = ASSETS_DIR / "quizzes.json"
PAGES = ("home", "distillation", "pruning", "quantization", "real_slm")


class QuizError(ValueError):
    """The quiz file is malformed; the message names the page, question and field."""


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; ``answer`` indexes ``options``."""

    question: str
    options: tuple[str, ...]
    answer: int
    explanation: str  # shown after answering, right or wrong

    def __post_init__(self) -> None:
        if not self.question.strip() or not self.explanation.strip():
            raise QuizError(f"question {self.question!r}: question and explanation must not be empty")
        if len(self.options) < 2 or len(set(self.options)) != len(self.options):
            raise QuizError(f"question {self.question!r}: needs at least two different options")
        if not 0 <= self.answer < len(self.options):
            raise QuizError(f"question {self.question!r}: answer={self.answer} does not index its options")


def _question(raw: Any, where: str) -> Question:  # noqa: ANN401 - raw JSON
    if not isinstance(raw, dict):
        raise QuizError(f"{where} must be an object")
    options = raw.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise QuizError(f"{where}: field 'options' must be a list of strings")
    for name in ("question", "explanation"):
        if not isinstance(raw.get(name), str):
            raise QuizError(f"{where}: field {name!r} must be a string")
    if not isinstance(raw.get("answer"), int):
        raise QuizError(f"{where}: field 'answer' must be an option index")
    try:
        return Question(raw["question"], tuple(options), raw["answer"], raw["explanation"])
    except QuizError as exc:
        raise QuizError(f"{where}: {exc}") from None


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, tuple[Question, ...]]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    pages = raw.get("pages") if isinstance(raw, dict) else None
    if not isinstance(pages, dict):
        raise QuizError("the file needs a 'pages' object: page name -> list of questions")
    out = {}
    for page, items in pages.items():
        if not isinstance(items, list) or not 2 <= len(items) <= 5:
            raise QuizError(f"page {page!r}: needs a list of 2 to 5 questions")
        out[page] = tuple(_question(q, f"page {page!r} question #{i}") for i, q in enumerate(items))
    return out


def load_quiz(page: str, path: Path = ASSET) -> tuple[Question, ...]:
    """The fixed questions of one page (``home``, ``distillation``, ...).

    Raises:
        QuizError: the file is malformed (naming page, question and field), or has no quiz for ``page``.
    """
    quizzes = _load(Path(path))
    if page not in quizzes:
        raise QuizError(f"no quiz for page {page!r}; the file has {sorted(quizzes)}")
    return quizzes[page]


def shuffled(question: Question, seed: int) -> Question:
    """The same question with its options in a seeded random order; ``answer`` follows its option."""
    order = list(range(len(question.options)))
    random.Random(f"{seed}:{question.question}").shuffle(order)
    return replace(question, options=tuple(question.options[i] for i in order), answer=order.index(question.answer))


def grade(question: Question, choice: str | None) -> bool | None:
    """True/False for a chosen option text; None while nothing is chosen."""
    if choice is None:
        return None
    if choice not in question.options:
        raise ValueError(f"{choice!r} is not one of the options for {question.question!r}")
    return question.options.index(choice) == question.answer


# --------------------------------------------------------------------- questions about the student's own run
def distill_question(result: DistillResult) -> Question:
    """Ask how to read the run just shown: what the gap between the two students measures."""
    d, b = result.distilled.accuracy, result.baseline.accuracy
    return Question(
        f"In your run the distilled student reached {d:.1%} held-out accuracy and the hard-label student "
        f"{b:.1%}, both starting from {result.initial_accuracy:.1%}. What does the gap between them measure?",
        (
            "What soft targets added in this setting: same start, same batches, same steps",
            "How much better distillation always is, whatever the data and steps",
            "How much more data the distilled student was given",
            "The difference in size between the two students",
        ),
        0,
        "Both students start from the same weights and see the same batches for the same steps; only the loss "
        "differs. So the gap is what the teacher's soft targets were worth here. Change the transfer set or "
        "the steps and it can shrink or flip, which is why the page measures instead of claiming.",
    )


def prune_question(method: str, params: int, teacher_params: int) -> Question:
    """Ask why the parameter count did (structured) or did not (zeroing) change in the run just shown."""
    if params == teacher_params:
        return Question(
            f"After {method} pruning, your model still has {params:,} parameters physically present, the same as "
            "the teacher. Why?",
            (
                "The pruned weights are zeros inside the same dense matrices",
                "Pruning failed and nothing was removed",
                "The recovery fine-tune grew the weights back",
                "Parameters are counted before pruning on purpose",
            ),
            0,
            "Zeroing keeps every matrix's shape: the zeros are still stored (unless a sparse format like CSR is "
            "used) and still multiplied. Only structured pruning removes rows and columns.",
        )
    return Question(
        f"Structured pruning cut your model from {teacher_params:,} to {params:,} parameters. Why does this "
        "kind of pruning make it faster on a CPU when zeroing weights does not?",
        (
            "The matrices themselves are smaller, so every multiply does less work",
            "The CPU skips zero weights automatically",
            "Structured pruning also quantizes the weights",
            "It is not faster: only the file is smaller",
        ),
        0,
        "Removing whole neurons and heads shrinks the matrices. A dense matrix multiply does every "
        "multiply-add, zero or not, so zeros alone save nothing on a CPU.",
    )


def quant_question(label: str, compression: float, bits: int) -> Question:
    """Ask where the gap between the ideal and the measured compression of the user's setting comes from."""
    ideal = 32 / bits
    return Question(
        f"Your setting ({label}) stored the model {compression:.1f}x smaller than fp32. {bits} bits instead "
        f"of 32 would be {ideal:.3g}x. Where does the difference come from?",
        (
            "The scales and zero points stored with every group, row or tensor, and the few layers kept in fp16",
            "Rounding errors make the file bigger",
            "The codes are stored in 8 bits whatever the setting",
            "Quantized models keep an fp32 copy of every weight",
        ),
        0,
        "Each group of weights needs its own scale (and, if asymmetric, zero point), and biases and LayerNorms "
        "stay in fp16. Smaller groups fit the grid better but store more of these extras.",
    )


def variant_question(results: dict[str, VariantResult]) -> Question | None:
    """A question about the measured SmolLM2 table; None until the rows it needs are measured."""
    base = results.get("float")
    if base is not None and "int4-g32" in results:
        rise = results["int4-g32"].perplexity / base.perplexity - 1
        return Question(
            f"Re-quantizing the on-board SmolLM2 to int4 (groups of 32) raised its perplexity by {rise:+.0%}. "
            "Why is the loss bigger than 4-bit quantization usually costs?",
            (
                "The 'float' weights are already a dequantized 4-bit file, so a second, different 4-bit grid adds "
                "its error on top",
                "int4 always doubles the perplexity",
                "Perplexity is measured on different text for each variant",
                "The int4 model runs on a slower kernel",
            ),
            0,
            "The shipped model is a Q4_1 GGUF: every weight already sits on a 4-bit grid. Rounding it onto a "
            "differently placed 4-bit grid moves weights a second time, so the errors add up.",
        )
    if "pruned-50" in results and "wanda-50" in results:
        mag, wanda = results["pruned-50"].perplexity, results["wanda-50"].perplexity
        return Question(
            f"At the same 50% sparsity, magnitude pruning gave perplexity {mag:.1f} and Wanda {wanda:.1f}. "
            "What does Wanda use that magnitude pruning does not?",
            (
                "How large each weight's input is on a little calibration text",
                "A retraining run after pruning",
                "A higher sparsity in the first layers",
                "Nothing: the gap is noise",
            ),
            0,
            "Wanda scores each weight by |W| × the norm of its input activation, so a small weight on a large "
            "input survives. No retraining is involved.",
        )
    return None
