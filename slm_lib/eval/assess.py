"""Scores you can trust: ``assess`` an answer against its reference(s) and say why it scored so.

An ``Assessment`` holds

- ``similarity``: today's cosine of sentence embeddings (``similarity.score``), unchanged;
- ``highlights``: which reference words the answer covers or misses and which answer words have no
  support, with BERTScore-style precision, recall and F1 (``alignment.align``);
- ``flags``: hints that the answer contradicts the reference: a different number, name or key
  term, a dropped or added negation, a reversed relation, a changed code token (``facts``);
- ``overall``: the 0-1 score to read first. It starts from how well the answer matches the
  reference, the mean of the similarity (clipped at 0) and the recall of the reference's words,
  so a long answer that covers a short reference is not punished for its extra sentences, and
  is halved for each flag, so a fluent answer with a wrong fact ranks below a plain right one.

Several references (any-of): each is assessed and the best ``overall`` wins; ``similarity`` is the
best cosine over them. Everything runs locally on all-MiniLM-L6-v2 and is deterministic.

Example:
    a = assess("The sum is 5000.", "The sum of 1 to 100 is 5050.", "What is 1 + 2 + ... + 100?")
    a.similarity, a.overall, a.flags     # ~0.9, ~0.4, ('the answer says 5000 where the reference says 5050',)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from slm_lib.eval.alignment import EMPTY, Highlights, align
from slm_lib.eval.facts import check_facts
from slm_lib.eval.similarity import TokenEmbedded, cosine, embed_tokens

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["FLAG_FACTOR", "Assessment", "Assessor", "assess", "assess_batch", "overall_score"]

FLAG_FACTOR = 0.5  # each flag halves ``overall``: a hint of a wrong fact outweighs any wording


@dataclass(frozen=True)
class Assessment:
    """Why an answer scored as it did. ``reference`` is the reference it was scored against (the best
    fitting one when there are several, ``reference_index`` in the list given)."""

    overall: float
    similarity: float
    flags: tuple[str, ...]
    flag_kinds: tuple[str, ...]
    highlights: Highlights
    reference: str
    reference_index: int = 0

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def overall_score(similarity: float, recall: float, n_flags: int) -> float:
    """The overall score from its parts (see the module docstring), in [0, 1].

    Example:
        >>> overall_score(0.9, 0.8, 0), overall_score(0.9, 0.8, 1)
        (0.85, 0.425)
    """
    content = 0.5 * max(0.0, min(1.0, similarity)) + 0.5 * max(0.0, min(1.0, recall))
    return round(content * FLAG_FACTOR**n_flags, 6)


def _references(reference: str | Sequence[str]) -> tuple[str, ...]:
    refs = (reference,) if isinstance(reference, str) else tuple(reference)
    if not refs:
        raise ValueError("give at least one reference answer")
    return refs


def _one(
    answer: str, emb: TokenEmbedded, refs: tuple[str, ...], ref_embs: list[TokenEmbedded], question: str
) -> Assessment:
    best: Assessment | None = None
    top_similarity = 0.0
    for index, (ref, ref_emb) in enumerate(zip(refs, ref_embs, strict=True)):
        sim = cosine(emb.vector, ref_emb.vector)
        top_similarity = max(top_similarity, sim) if index else sim
        highlights = align(emb, ref_emb, answer, ref) if answer.strip() and ref.strip() else EMPTY
        flags = check_facts(answer, ref, question)
        score = overall_score(sim, highlights.recall, len(flags)) if answer.strip() else 0.0
        candidate = Assessment(
            score, sim, tuple(f.message for f in flags), tuple(f.kind for f in flags), highlights, ref, index
        )
        if best is None or (candidate.overall, candidate.similarity) > (best.overall, best.similarity):
            best = candidate
    assert best is not None
    return replace(best, similarity=top_similarity)


class Assessor:
    """``assess_batch`` for evaluation runs: each batch embeds its texts in one forward pass, and a
    reference's token embeddings are kept for the rest of the run (it recurs for every model and repeat).

    Example:
        assessor = Assessor()
        assessor(["Paris.", "Lyon."], [("The capital is Paris.",)] * 2, ["Capital of France?"] * 2)
    """

    def __init__(self, model: SentenceTransformer | None = None) -> None:
        self._model = model
        self._refs: dict[str, TokenEmbedded] = {}

    def __call__(
        self,
        answers: Sequence[str],
        references: Sequence[str | Sequence[str]],
        questions: Sequence[str | None] | None = None,
    ) -> list[Assessment]:
        if len(answers) != len(references) or (questions is not None and len(questions) != len(answers)):
            raise ValueError(f"got {len(answers)} answers but {len(references)} references (and questions)")
        refs = [_references(r) for r in references]
        new = [r for r in dict.fromkeys(x for group in refs for x in group) if r not in self._refs]
        texts = list(dict.fromkeys([*answers, *new]))
        embedded = dict(zip(texts, embed_tokens(texts, self._model), strict=True)) if texts else {}
        self._refs.update({r: embedded[r] for r in new})
        qs = list(questions) if questions is not None else [None] * len(answers)
        return [
            _one(a, embedded[a], group, [self._refs[r] for r in group], q or "")
            for a, group, q in zip(answers, refs, qs, strict=True)
        ]


def assess_batch(
    answers: Sequence[str],
    references: Sequence[str | Sequence[str]],
    questions: Sequence[str | None] | None = None,
    model: SentenceTransformer | None = None,
) -> list[Assessment]:
    """Assess many answers in one embedding batch (what runs and the benchmark use)."""
    return Assessor(model)(answers, references, questions)


def assess(
    answer: str,
    reference: str | Sequence[str],
    question: str | None = None,
    model: SentenceTransformer | None = None,
) -> Assessment:
    """Assess one answer against a reference, or several (any-of), optionally knowing the question.

    The question lets the checks tell the answer's own numbers and names from those it repeats.
    Inputs are not changed; the result is deterministic.

    Returns:
        An ``Assessment``: ``overall`` and ``similarity`` in [0, 1] and [-1, 1], ``flags`` as plain
        sentences, ``highlights`` with covered, missed and unsupported words.
    """
    return assess_batch([answer], [reference], [question], model)[0]
