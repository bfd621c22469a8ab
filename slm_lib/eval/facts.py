"""All fact checks in one call: numbers, names and key terms, negation, relations and code.

Each check compares the answer with one reference (and the question, whose own numbers and names
the answer may repeat) and returns ``Flag`` hints; ``check_facts`` runs them all, in that order,
without repeating a message.

Example:
    >>> [f.kind for f in check_facts("The capital is Sydney.", "The capital is Canberra.")]
    ['entity']
"""

from __future__ import annotations

from slm_lib.eval.code_tokens import check_code
from slm_lib.eval.entities import check_entities
from slm_lib.eval.negation import check_negation
from slm_lib.eval.numbers import check_numbers
from slm_lib.eval.relations import check_relations
from slm_lib.eval.wording import Flag

__all__ = ["CHECKS", "check_facts"]

CHECKS = (check_numbers, check_entities, check_negation, check_relations, check_code)


def check_facts(answer: str, reference: str, question: str = "") -> tuple[Flag, ...]:
    """Every check's flags for ``answer`` against ``reference``; empty when nothing looks contradicted."""
    if not answer.strip() or not reference.strip():
        return ()
    seen: dict[str, Flag] = {}
    for check in CHECKS:
        for flag in check(answer, reference, question or ""):
            seen.setdefault(flag.message, flag)
    return tuple(seen.values())
