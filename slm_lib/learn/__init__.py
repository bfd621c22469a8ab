"""Teaching aids the pages share: the glossary, check-your-understanding quizzes, and guidance sentences.

- :mod:`~slm_lib.learn.glossary`: plain definitions of every term (``help_for``, ``terms_in``, ``search``),
- :mod:`~slm_lib.learn.quiz`: fixed questions per page plus questions built from a lab's own result,
- :mod:`~slm_lib.learn.guidance`: one sentence per lab result (what it means, what to try next) and
  explanations for surprising output (looping answers, gibberish samples, timing noise, rounding).

Example:
    >>> from slm_lib.learn import help_for
    >>> help_for("TTFT").startswith("**TTFT**")
    True
"""

from __future__ import annotations

from slm_lib.learn.glossary import Glossary, GlossaryError, Term, get_term, help_for, load_glossary, search, terms_in
from slm_lib.learn.guidance import (
    answer_note,
    answer_problem,
    distill_verdict,
    latency_note,
    prune_advice,
    quant_advice,
    samples_note,
    structured_rounding,
    variant_advice,
)
from slm_lib.learn.quiz import Question, QuizError, grade, load_quiz, shuffled

__all__ = [
    "Glossary",
    "GlossaryError",
    "Question",
    "QuizError",
    "Term",
    "answer_note",
    "answer_problem",
    "distill_verdict",
    "get_term",
    "grade",
    "help_for",
    "latency_note",
    "load_glossary",
    "load_quiz",
    "prune_advice",
    "quant_advice",
    "samples_note",
    "search",
    "shuffled",
    "structured_rounding",
    "terms_in",
    "variant_advice",
]
