"""Which words of the reference does an answer cover? BERTScore-style alignment of token embeddings.

Each word piece of the answer is matched to its most similar word piece of the reference (cosine of
all-MiniLM-L6-v2's contextual token embeddings, the same forward pass as the similarity score) and
vice versa, as BERTScore does (Zhang et al., 2020):

    precision = mean over answer pieces of max cosine to the reference   # is what it says supported?
    recall    = mean over reference pieces of max cosine to the answer   # is the reference covered?
    f1        = 2 P R / (P + R)

Punctuation is left out. Scores are rescaled against ``BASELINE``, the mean score of unrelated
texts (``python -m bench.assess --baseline`` measures it), so 0 means "no better than unrelated"
and 1 "the same tokens". A word (its pieces averaged) is **covered** / **supported** when its best
match reaches ``MATCH`` and **missed** / **unsupported** otherwise; stopwords are neither. Names
(capitalised inside a sentence) and numbers are not paraphrased: they count only when the other
text has the same word, because in a shared context "Sydney" embeds close to "Canberra".

Example:
    a, r = embed_tokens(["The capital is Sydney.", "The capital is Canberra."])
    h = align(a, r, "The capital is Sydney.", "The capital is Canberra.")
    h.missed, h.unsupported      # ('Canberra',), ('Sydney',)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slm_lib.eval.similarity import TokenEmbedded
from slm_lib.eval.wording import STOPWORDS, stem, words

__all__ = ["BASELINE", "MATCH", "Highlights", "WordMatch", "align", "rescale"]

BASELINE = 0.13  # mean P/R of unrelated texts (similarity_cases references against each other); see bench.assess
MATCH = 0.65  # a word whose best match reaches this counts as covered; synonyms score ~0.75, unrelated words ~0.3


@dataclass(frozen=True)
class WordMatch:
    """One word with its best match on the other side: ``status`` is covered, missed, supported,
    unsupported or plain (stopwords and punctuation)."""

    text: str
    start: int
    end: int
    score: float
    match: str
    status: str


@dataclass(frozen=True)
class Highlights:
    """Word-level alignment of an answer and a reference, with rescaled precision, recall and F1."""

    precision: float
    recall: float
    f1: float
    answer_words: tuple[WordMatch, ...]
    reference_words: tuple[WordMatch, ...]

    @property
    def covered(self) -> tuple[str, ...]:
        """Reference words the answer covers."""
        return tuple(w.text for w in self.reference_words if w.status == "covered")

    @property
    def missed(self) -> tuple[str, ...]:
        """Reference words the answer does not cover."""
        return tuple(w.text for w in self.reference_words if w.status == "missed")

    @property
    def unsupported(self) -> tuple[str, ...]:
        """Answer words without support in the reference."""
        return tuple(w.text for w in self.answer_words if w.status == "unsupported")


EMPTY = Highlights(0.0, 0.0, 0.0, (), ())


def rescale(value: float) -> float:
    """Map a raw mean cosine to [0, 1] against the unrelated-text baseline."""
    return float(np.clip((value - BASELINE) / (1.0 - BASELINE), 0.0, 1.0))


def _words(
    emb: TokenEmbedded, text: str, best: np.ndarray, partner: np.ndarray, other: TokenEmbedded, other_text: str
) -> list[tuple[str, int, int, float, str]]:
    """Group word pieces into words: ``(text, start, end, mean best score, best partner word piece)``."""
    groups: list[list[int]] = []
    for i, piece in enumerate(emb.pieces):
        if piece.startswith("##") and groups:
            groups[-1].append(i)
        else:
            groups.append([i])
    out = []
    for g in groups:
        start, end = emb.spans[g[0]][0], emb.spans[g[-1]][1]
        j = int(partner[g[int(np.argmax(best[g]))]]) if len(other.spans) else -1
        match = other_text[other.spans[j][0] : other.spans[j][1]] if j >= 0 else ""
        out.append((text[start:end], start, end, float(np.mean(best[g])), match))
    return out


def align(answer: TokenEmbedded, reference: TokenEmbedded, answer_text: str, reference_text: str) -> Highlights:
    """Align an answer's word pieces with a reference's (see the module docstring). Empty texts give ``EMPTY``."""
    if not len(answer.tokens) or not len(reference.tokens):
        return EMPTY
    a_keep = np.array([any(c.isalnum() for c in p) for p in answer.pieces])
    r_keep = np.array([any(c.isalnum() for c in p) for p in reference.pieces])
    if not a_keep.any() or not r_keep.any():
        return EMPTY
    sims = answer.tokens @ reference.tokens.T  # (answer pieces, reference pieces); rows are unit vectors
    sims[~a_keep, :] = -1.0  # punctuation matches nothing and is matched by nothing
    sims[:, ~r_keep] = -1.0
    a_best, a_arg = sims.max(axis=1), sims.argmax(axis=1)
    r_best, r_arg = sims.max(axis=0), sims.argmax(axis=0)
    p = float(a_best[a_keep].mean())
    r = float(r_best[r_keep].mean())
    p_s, r_s = rescale(p), rescale(r)
    f1 = 2 * p_s * r_s / (p_s + r_s) if p_s + r_s > 0 else 0.0
    return Highlights(
        p_s,
        r_s,
        f1,
        _statuses(
            _words(answer, answer_text, a_best, a_arg, reference, reference_text),
            "supported",
            "unsupported",
            answer_text,
            _lower_words(reference_text),
        ),
        _statuses(
            _words(reference, reference_text, r_best, r_arg, answer, answer_text),
            "covered",
            "missed",
            reference_text,
            _lower_words(answer_text),
        ),
    )


def _lower_words(text: str) -> set[str]:
    return {w.stem for w in words(text)}


def _exact_only(text: str, start: int, word: str) -> bool:
    """Numbers and names inside a sentence must match as words, not as embeddings."""
    if any(c.isdigit() for c in word):
        return True
    before = text[:start].rstrip()
    return word[:1].isupper() and bool(before) and before[-1] not in ".!?:;\n\"'(“"


def _statuses(
    items: list[tuple[str, int, int, float, str]], good: str, bad: str, text: str, other: set[str]
) -> tuple[WordMatch, ...]:
    out = []
    for word, start, end, score, match in items:
        plain = not any(c.isalnum() for c in word) or word.lower() in STOPWORDS
        ok = score >= MATCH and (not _exact_only(text, start, word) or stem(word) in other)
        status = "plain" if plain else good if ok else bad
        out.append(WordMatch(word, start, end, round(score, 4), match, status))
    return tuple(out)
