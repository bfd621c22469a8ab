"""SLM-vs-LLM comparison rows and the self-check quiz, loaded from ``assets/slm_vs_llm.json``.

Every number in the "numbers" view names a source key that must resolve to a
citation in the same file; loading fails loudly (naming the entry) otherwise.

The quiz's options are stored with the answer's index; :func:`shuffle_quiz` reorders them per
seed (one seed per visitor) so the right answer is not always in the same place.

Example:
    >>> data = load_comparison()
    >>> [d.name for d in data.dimensions][:2]
    ['Size', 'Training data & time']
    >>> q = shuffle_quiz(data.quiz, seed=7)[0]
    >>> q.options[q.answer] == data.quiz[0].options[data.quiz[0].answer]
    True
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from slm_lib.settings import ASSETS_DIR

__all__ = [
    "ASSET",
    "Comparison",
    "ComparisonError",
    "Dimension",
    "Fact",
    "QuizQuestion",
    "grade",
    "load_comparison",
    "select_dimensions",
    "shuffle_quiz",
]

ASSET = ASSETS_DIR / "slm_vs_llm.json"


class ComparisonError(ValueError):
    """The comparison data file is malformed; the message names the entry and field."""


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    source: str  # a citation (URL or paper), resolved from the file's source keys


@dataclass(frozen=True)
class Dimension:
    id: str
    name: str
    slm: str
    llm: str
    detail: str
    example: str
    numbers: tuple[Fact, ...]


@dataclass(frozen=True)
class QuizQuestion:
    question: str
    options: tuple[str, ...]
    answer: int
    explanation: str


@dataclass(frozen=True)
class Comparison:
    dimensions: tuple[Dimension, ...]
    quiz: tuple[QuizQuestion, ...]


def _text(entry: dict[str, Any], field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ComparisonError(f"{where}: field {field!r} must be a non-empty string, got {value!r}")
    return value


def _dimension(raw: dict[str, Any], sources: dict[str, str], index: int) -> Dimension:
    where = f"dimension #{index} ({raw.get('id', '?')})"
    facts = []
    for j, num in enumerate(raw.get("numbers") or []):
        key = _text(num, "source", f"{where} number #{j}")
        if key not in sources:
            raise ComparisonError(f"{where} number #{j}: source {key!r} is not in the file's 'sources'")
        facts.append(Fact(_text(num, "label", where), _text(num, "value", where), sources[key]))
    if not facts:
        raise ComparisonError(f"{where}: field 'numbers' needs at least one sourced figure")
    fields = ("id", "name", "slm", "llm", "detail", "example")
    return Dimension(*(_text(raw, f, where) for f in fields), numbers=tuple(facts))


def _question(raw: dict[str, Any], index: int) -> QuizQuestion:
    where = f"quiz question #{index}"
    options = raw.get("options")
    if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) for o in options):
        raise ComparisonError(f"{where}: field 'options' must list at least two strings")
    answer = raw.get("answer")
    if not isinstance(answer, int) or not 0 <= answer < len(options):
        raise ComparisonError(f"{where}: field 'answer' must index into options, got {answer!r}")
    return QuizQuestion(_text(raw, "question", where), tuple(options), answer, _text(raw, "explanation", where))


def load_comparison(path: Path = ASSET) -> Comparison:
    """Load and validate the comparison rows and the quiz.

    Raises:
        ComparisonError: naming the malformed entry and field.
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    sources = raw.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise ComparisonError("field 'sources' must map source keys to citations")
    dims = tuple(_dimension(d, sources, i) for i, d in enumerate(raw.get("dimensions") or []))
    quiz = tuple(_question(q, i) for i, q in enumerate(raw.get("quiz") or []))
    if not dims or not quiz:
        raise ComparisonError("the file needs at least one dimension and one quiz question")
    return Comparison(dims, quiz)


def select_dimensions(data: Comparison, ids: list[str]) -> tuple[Dimension, ...]:
    """The dimensions with the given ids, in the file's order; unknown ids raise ValueError."""
    known = {d.id for d in data.dimensions}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"unknown dimension id(s) {unknown}; known: {sorted(known)}")
    return tuple(d for d in data.dimensions if d.id in ids)


def grade(question: QuizQuestion, choice: str | None) -> bool | None:
    """True/False for a chosen option text; None when nothing is chosen yet."""
    if choice is None:
        return None
    if choice not in question.options:
        raise ValueError(f"{choice!r} is not one of the options for {question.question!r}")
    return question.options.index(choice) == question.answer


def shuffle_quiz(quiz: Sequence[QuizQuestion], seed: int) -> tuple[QuizQuestion, ...]:
    """The same questions with their options in a seed-dependent order; ``answer`` follows its option.

    The questions keep their order; a given seed always gives the same arrangement, so a visitor's
    quiz stays put across reruns while different visitors see different ones.
    """
    rng = random.Random(seed)
    out = []
    for q in quiz:
        order = list(range(len(q.options)))
        rng.shuffle(order)
        out.append(replace(q, options=tuple(q.options[i] for i in order), answer=order.index(q.answer)))
    return tuple(out)
