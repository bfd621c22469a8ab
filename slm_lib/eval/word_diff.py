"""Two answers word by word: what one says that the other does not.

``shared_words`` is the plain word overlap that token alignment improves on: a paraphrase can
share no word with the reference and still say the same thing.

Example:
    >>> shared_words("Automobiles need petrol.", "Cars run on gasoline.")
    0.0
    >>> [(op, text) for op, text in word_diff("Not all birds fly.", "All birds fly.") if op != "same"]
    [('removed', 'Not all'), ('added', 'All')]
"""

from __future__ import annotations

import difflib
import re

__all__ = ["shared_words", "word_diff"]

_TOKENS = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """``(op, text)`` runs turning ``a`` into ``b``: op is ``same``, ``removed`` (only in a) or ``added``.

    Words are compared case-sensitively, punctuation counts as a word, and spacing is normalised.
    """
    ta, tb = _TOKENS.findall(a), _TOKENS.findall(b)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ta, b=tb, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("same", " ".join(ta[i1:i2])))
            continue
        if i2 > i1:
            out.append(("removed", " ".join(ta[i1:i2])))
        if j2 > j1:
            out.append(("added", " ".join(tb[j1:j2])))
    return out


def shared_words(answer: str, reference: str) -> float:
    """The share of the reference's content words (no stopwords) that the answer uses verbatim (0-1)."""
    from slm_lib.eval.wording import content, words

    ref = {w.text.lower() for w in content(words(reference))}
    if not ref:
        return 0.0
    return len(ref & {w.text.lower() for w in words(answer)}) / len(ref)
