"""Negation and polarity: flag an answer that says the opposite of the reference.

Three signals, each worded as a hint:

- the short answer flips: the reference opens with "No" and the answer with "Yes" (or "It is",
  "They do", "You can" against "No", "They don't", "You cannot"),
- a word the reference negates ("1 is **not** a prime") appears in an answer clause without any
  negation ("1 is a prime number"), or the answer negates a word the reference states plainly,
- opposite words: the answer says "safe", "true", "increase" where the reference says "unsafe",
  "false", "decrease" (and does not use the reference's word itself).

Example:
    >>> check_negation("All birds can fly.", "Not all birds can fly.")[0].message
    "the answer drops the reference's negation: 'Not all birds can fly' vs 'All birds can fly'"
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from slm_lib.eval.wording import STOPWORDS, Flag, Word, clauses, quote, split_code, words

__all__ = ["NEGATIONS", "OPPOSITES", "check_negation", "polar_answer"]

NEGATIONS = frozenset(
    "not n't no never none nobody nothing nowhere neither nor cannot lack lacks absent unable impossible".split()
)
_PAIRS = (
    "true false",
    "correct incorrect",
    "safe unsafe",
    "safe dangerous",
    "possible impossible",
    "visible invisible",
    "legal illegal",
    "always never",
    "increase decrease",
    "increases decreases",
    "increased decreased",
    "rise fall",
    "rises falls",
    "rose fell",
    "gain lose",
    "win lose",
    "won lost",
    "accept reject",
    "allowed forbidden",
    "include exclude",
    "present absent",
    "open closed",
    "on off",
    "same different",
    "agree disagree",
    "like dislike",
    "pass fail",
    "success failure",
    "benign malignant",
    "healthy unhealthy",
    "minimum maximum",
    "min max",
    "input output",
)
OPPOSITES: dict[str, frozenset[str]] = {}
for _pair in _PAIRS:
    _a, _b = _pair.split()
    OPPOSITES[_a] = OPPOSITES.get(_a, frozenset()) | {_b}
    OPPOSITES[_b] = OPPOSITES.get(_b, frozenset()) | {_a}
_POLAR = re.compile(
    r"^\W*(?:(?P<yes>yes|yeah|yep|correct|true|indeed)|(?P<no>no|nope|not really|false|incorrect|not)|"
    r"(?:it|they|you|we|i|he|she|that|this|there|one)\s+(?P<aux>is|are|do|does|did|can|could|will|would|has|have|"
    r"should|was|were|must)(?P<neg>\s*n't|\s+not)?)\s*(?:[,.:;!—-]|$)",
    re.I,
)
_SKIP = STOPWORDS - NEGATIONS - {"all", "every", "each", "some", "any", "only"}


def polar_answer(text: str) -> bool | None:
    """True for an answer that opens with yes (or "It is", "They do"), False for no, None otherwise."""
    m = _POLAR.match(split_code(text)[0].strip())
    if not m:
        return None
    if m.group("yes"):
        return True
    if m.group("no"):
        return False
    return not m.group("neg")


def _negated(ws: Sequence[Word]) -> list[tuple[Word, Word]]:
    """``(cue, scope word)`` pairs: the first content word within four words after each negation."""
    out = []
    for i, w in enumerate(ws):
        if w.text.lower() not in NEGATIONS:
            continue
        for nxt in ws[i + 1 : i + 5]:
            if nxt.text.lower() in NEGATIONS:
                break
            if nxt.text.lower() not in _SKIP and len(nxt.text) > 1:
                out.append((w, nxt))
                break
    return out


def _clause_words(text: str) -> list[tuple[str, Sequence[Word]]]:
    prose = split_code(text)[0]
    out = []
    for _offset, clause in clauses(prose):
        ws = words(clause)
        if ws and _POLAR.match(clause.strip()) and polar_answer(clause) is not None and len(ws) <= 4:
            continue  # the bare "No." is the short answer, not a negated statement
        out.append((clause, ws))
    return out


def check_negation(answer: str, reference: str, question: str = "") -> list[Flag]:
    """Flags where the answer's polarity differs from the reference's (see the module docstring)."""
    flags: list[Flag] = []
    said, expected = polar_answer(answer), polar_answer(reference)
    if said is not None and expected is not None and said != expected:
        a_word = re.match(r"\W*([\w' ]+?)\s*(?:[,.:;!—-]|$)", split_code(answer)[0].strip())
        r_word = re.match(r"\W*([\w' ]+?)\s*(?:[,.:;!—-]|$)", split_code(reference)[0].strip())
        flags.append(
            Flag(
                "negation",
                f"the answer says '{quote(a_word.group(1) if a_word else '', 30)}' where the reference says "
                f"'{quote(r_word.group(1) if r_word else '', 30)}'",
            )
        )
    ans, ref = _clause_words(answer), _clause_words(reference)
    flags += _dropped(ref, ans, "the answer drops the reference's negation: '{r}' vs '{a}'")
    flags += _dropped(ans, ref, "the answer negates the reference: '{a}' vs '{r}'", swap=True)
    flags += _opposites(answer, reference, question)
    return flags[:2]


def _dropped(
    negating: list[tuple[str, Sequence[Word]]],
    plain: list[tuple[str, Sequence[Word]]],
    template: str,
    swap: bool = False,
) -> list[Flag]:
    """A word negated in one text and stated in a clause of the other that has no negation at all."""
    for clause, ws in negating:
        for _cue, target in _negated(ws):
            for other, other_ws in plain:
                if any(w.text.lower() in NEGATIONS for w in other_ws):
                    continue
                shared = {w.stem for w in other_ws} & {w.stem for w in ws if w.text.lower() not in STOPWORDS}
                if target.stem in {w.stem for w in other_ws} and len(shared) >= 2:
                    neg, pos = quote(clause), quote(other)
                    text = template.format(r=pos if swap else neg, a=neg if swap else pos)
                    return [Flag("negation", text)]
    return []


def _opposites(answer: str, reference: str, question: str) -> list[Flag]:
    ans = {w.text.lower() for w in words(split_code(answer)[0])}
    ref = {w.text.lower() for w in words(split_code(reference)[0])}
    asked = {w.text.lower() for w in words(question)}
    for word in sorted(ref - ans - asked):
        for opposite in sorted(OPPOSITES.get(word, ())):
            if opposite in ans and opposite not in ref and opposite not in asked:
                return [Flag("negation", f"the answer says '{opposite}' where the reference says '{word}'")]
    return []
