"""Turn a run's answers into a leaderboard: quality, speed, stability and errors per model.

Quality is the mean cosine similarity between answers and references (only complete,
error-free answers are scored; failures are counted in ``errors`` instead). Stability is the
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


def leaderboard(rows: Iterable[ResultRow]) -> list[ModelScore]:
    """One ``ModelScore`` per model, best mean similarity first (models with no score last)."""
    by_model: dict[str, list[ResultRow]] = defaultdict(list)
    for r in rows:
        by_model[r.model].append(r)
    board = []
    for model, model_rows in by_model.items():
        scored = _scored(model_rows)
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
            )
        )
    return sorted(board, key=lambda s: (s.mean_similarity is None, -(s.mean_similarity or 0.0), s.model))


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
