"""Turn a run's answers into a leaderboard: quality, speed, stability and errors per model.

Quality is the mean ``overall`` score of the assessed answers (``slm_lib.eval.assess``: similarity
and coverage of the reference, halved for each fact flag) and the mean cosine similarity between
answers and references; ``rank_by`` picks which one orders the board. ``flagged`` counts answers
with at least one fact flag. Only complete, error-free answers are scored; failures are counted in
``errors`` instead. Runs from before assessments have no overall score (None) until resumed. Stability is the
spread of similarity across repeats of the same question: the population standard deviation
of each (question, temperature) group, averaged; lower means more consistent answers.
Latencies are the 50th and 95th percentiles (linear interpolation) of whole-answer seconds.

Example:
    board = leaderboard(store.results(run_id))
    board[0].model, board[0].mean_similarity, board[0].latency_p95
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from slm_lib.eval.store import ResultRow

__all__ = [
    "RANKINGS",
    "CategoryMatrix",
    "ModelScore",
    "QuestionDiff",
    "SweepPoint",
    "category_matrix",
    "compare_runs",
    "leaderboard",
    "stability",
    "sweep",
]


@dataclass(frozen=True)
class ModelScore:
    """One leaderboard row. ``None`` where there is nothing to measure (no scored answer, no repeats)."""

    model: str
    answers: int  # cells with a row, errors included
    scored: int
    errors: int
    mean_similarity: float | None
    per_category: dict[str, float]
    tokens_per_second: float | None  # mean of the per-answer generation rates
    latency_p50: float | None
    latency_p95: float | None
    stability: float | None  # mean std of similarity across repeats (lower = steadier)
    mean_overall: float | None = None  # mean assessment score of the assessed answers
    flagged: int = 0  # answers with at least one fact flag
    assessed: int = 0  # answers with an assessment (overall and flags)


@dataclass(frozen=True)
class CategoryMatrix:
    """Heatmap data: ``values[i][j]`` is model ``i``'s mean similarity in category ``j`` (None: no answer)."""

    models: list[str]
    categories: list[str]
    values: list[list[float | None]]


@dataclass(frozen=True)
class SweepPoint:
    """Quality and stability of one model at one temperature."""

    model: str
    temperature: float
    mean_similarity: float | None
    stability: float | None
    scored: int


@dataclass(frozen=True)
class QuestionDiff:
    """One question answered by the same model in two runs; ``delta = score_b - score_a``."""

    model: str
    question: str
    category: str
    score_a: float
    score_b: float
    delta: float


def _scored(rows: Iterable[ResultRow]) -> list[ResultRow]:
    return [r for r in rows if r.score is not None and r.complete and r.error is None]


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def stability(rows: Iterable[ResultRow]) -> float | None:
    """Mean over (question, temperature) groups with >= 2 scored repeats of the std of their scores."""
    groups: dict[tuple[int, float], list[float]] = defaultdict(list)
    for r in _scored(rows):
        groups[(r.question_idx, r.temperature)].append(float(r.score))  # type: ignore[arg-type]
    spreads = [float(np.std(scores)) for scores in groups.values() if len(scores) >= 2]
    return _mean(spreads)


RANKINGS = ("overall", "similarity")


def leaderboard(rows: Iterable[ResultRow], rank_by: str = "overall") -> list[ModelScore]:
    """One ``ModelScore`` per model, best first by mean ``overall`` or mean ``similarity``.

    Models without that score come last (ordered by the other score). ``rank_by`` must be in ``RANKINGS``.
    """
    if rank_by not in RANKINGS:
        raise ValueError(f"rank_by must be one of {RANKINGS}, got {rank_by!r}")
    by_model: dict[str, list[ResultRow]] = defaultdict(list)
    for r in rows:
        by_model[r.model].append(r)
    board = []
    for model, model_rows in by_model.items():
        scored = _scored(model_rows)
        assessed = [r for r in scored if r.overall is not None and r.flags is not None]
        per_cat: dict[str, list[float]] = defaultdict(list)
        for r in scored:
            per_cat[r.category].append(float(r.score))  # type: ignore[arg-type]
        ok = [r for r in model_rows if r.complete and r.error is None]
        rates = [r.stats.tokens_per_second for r in ok if r.stats.tokens_per_second > 0]
        seconds = [r.stats.total_seconds for r in ok if r.stats.total_seconds > 0]
        board.append(
            ModelScore(
                model=model,
                answers=len(model_rows),
                scored=len(scored),
                errors=sum(r.error is not None for r in model_rows),
                mean_similarity=_mean([float(r.score) for r in scored]),  # type: ignore[arg-type]
                per_category={c: float(np.mean(v)) for c, v in per_cat.items()},
                tokens_per_second=_mean(rates),
                latency_p50=float(np.percentile(seconds, 50)) if seconds else None,
                latency_p95=float(np.percentile(seconds, 95)) if seconds else None,
                stability=stability(model_rows),
                mean_overall=_mean([float(r.overall) for r in assessed]),  # type: ignore[arg-type]
                flagged=sum(bool(r.flags) for r in assessed),
                assessed=len(assessed),
            )
        )

    def key(s: ModelScore) -> tuple:
        first, second = (s.mean_overall, s.mean_similarity) if rank_by == "overall" else (s.mean_similarity, None)
        return (first is None, -(first or 0.0), second is None, -(second or 0.0), s.model)

    return sorted(board, key=key)


def category_matrix(board: list[ModelScore], categories: list[str] | None = None) -> CategoryMatrix:
    """Heatmap data from a leaderboard, categories in first-seen order unless given."""
    if categories is None:
        categories = list(dict.fromkeys(c for s in board for c in s.per_category))
    values = [[s.per_category.get(c) for c in categories] for s in board]
    return CategoryMatrix([s.model for s in board], categories, values)


def sweep(rows: Iterable[ResultRow]) -> list[SweepPoint]:
    """Quality and stability per (model, temperature), sorted by model then temperature."""
    groups: dict[tuple[str, float], list[ResultRow]] = defaultdict(list)
    for r in rows:
        groups[(r.model, r.temperature)].append(r)
    points = []
    for (model, temperature), group in sorted(groups.items()):
        scored = _scored(group)
        points.append(
            SweepPoint(
                model,
                temperature,
                _mean([float(r.score) for r in scored]),
                stability(group),
                len(scored),  # type: ignore[arg-type]
            )
        )
    return points


def compare_runs(rows_a: Iterable[ResultRow], rows_b: Iterable[ResultRow]) -> list[QuestionDiff]:
    """Per-question score differences between two runs, for every (model, question) scored in both.

    Questions are matched by their text, so two runs over different sets compare what they share;
    repeats and temperatures are averaged within each run. Sorted by ``delta``, biggest drop first.
    """

    def means(rows: Iterable[ResultRow]) -> dict[tuple[str, str], tuple[float, str]]:
        groups: dict[tuple[str, str], list[float]] = defaultdict(list)
        cats: dict[tuple[str, str], str] = {}
        for r in _scored(rows):
            groups[(r.model, r.question)].append(float(r.score))  # type: ignore[arg-type]
            cats[(r.model, r.question)] = r.category
        return {k: (float(np.mean(v)), cats[k]) for k, v in groups.items()}

    a, b = means(rows_a), means(rows_b)
    diffs = [
        QuestionDiff(
            model,
            question,
            a[(model, question)][1],
            a[(model, question)][0],
            b[(model, question)][0],
            b[(model, question)][0] - a[(model, question)][0],
        )
        for (model, question) in a
        if (model, question) in b
    ]
    return sorted(diffs, key=lambda d: (d.delta, d.model, d.question))
