"""Leaderboard numbers on a small run checked by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest

from slm_lib.chat import ChatStats
from slm_lib.eval.leaderboard import category_matrix, compare_runs, leaderboard, stability, sweep
from slm_lib.eval.store import ResultRow

CATS = {0: "X", 1: "Y"}


def row(model, q, rep, score, tps=0.0, secs=0.0, temp=0.0, error=None, complete=True, run_id=1):
    return ResultRow(
        run_id=run_id,
        model=model,
        question_idx=q,
        repeat=rep,
        temperature=temp,
        answer="...",
        complete=complete,
        error=error,
        stats=ChatStats(completion_tokens=10, total_seconds=secs, tokens_per_second=tps),
        score=score,
        question=f"question {q}",
        reference="ref",
        category=CATS[q],
    )


RUN = [
    # model A: q0 scores 0.8, 0.6 (std 0.1); q1 0.5, 0.5 (std 0)
    row("A", 0, 0, 0.8, tps=10, secs=1),
    row("A", 0, 1, 0.6, tps=20, secs=2),
    row("A", 1, 0, 0.5, tps=30, secs=3),
    row("A", 1, 1, 0.5, tps=40, secs=4),
    # model B: two good answers, one error, one broken stream (stats and partial text ignored)
    row("B", 0, 0, 0.9, tps=50, secs=1),
    row("B", 0, 1, None, error="read timeout", complete=False),
    row("B", 1, 0, 0.4, tps=50, secs=3),
    row("B", 1, 1, None, tps=99, secs=9, error="stream broke", complete=False),
    # model C: nothing but errors
    row("C", 0, 0, None, error="not reachable", complete=False),
]


def test_leaderboard_numbers_match_the_hand_computation():
    a, b, c = (next(s for s in leaderboard(RUN) if s.model == m) for m in "ABC")
    # A: mean (0.8+0.6+0.5+0.5)/4 = 0.6; X = 0.7, Y = 0.5; stability mean(0.1, 0) = 0.05
    assert a.mean_similarity == pytest.approx(0.6)
    assert a.per_category == pytest.approx({"X": 0.7, "Y": 0.5})
    assert a.stability == pytest.approx(0.05)
    # tokens/s mean(10, 20, 30, 40) = 25; latencies 1..4 s: p50 = 2.5, p95 = 3 + 0.85 * (4 - 3) = 3.85
    assert a.tokens_per_second == pytest.approx(25.0)
    assert (a.latency_p50, a.latency_p95) == pytest.approx((2.5, 3.85))
    assert (a.answers, a.scored, a.errors) == (4, 4, 0)
    # B: mean (0.9+0.4)/2 = 0.65; no question has two scored repeats -> no stability
    assert b.mean_similarity == pytest.approx(0.65)
    assert b.per_category == pytest.approx({"X": 0.9, "Y": 0.4})
    assert b.stability is None
    assert b.tokens_per_second == pytest.approx(50.0)
    assert (b.latency_p50, b.latency_p95) == pytest.approx((2.0, 2.9))  # [1, 3]: 1 + 0.95 * 2
    assert (b.answers, b.scored, b.errors) == (4, 2, 2)
    # C: only errors
    assert (c.mean_similarity, c.tokens_per_second, c.latency_p50, c.errors) == (None, None, None, 1)


def test_leaderboard_is_sorted_best_first_with_unscored_models_last():
    assert [s.model for s in leaderboard(RUN)] == ["B", "A", "C"]


def test_category_matrix_is_heatmap_ready():
    matrix = category_matrix(leaderboard(RUN))
    assert matrix.models == ["B", "A", "C"]
    assert matrix.categories == ["X", "Y"]
    assert matrix.values[0] == pytest.approx([0.9, 0.4])
    assert matrix.values[1] == pytest.approx([0.7, 0.5])
    assert matrix.values[2] == [None, None]


def test_sweep_gives_quality_and_stability_per_temperature():
    rows = [
        row("A", 0, 0, 0.8, temp=0.0),
        row("A", 0, 1, 0.8, temp=0.0),  # greedy: identical, std 0
        row("A", 0, 0, 0.6, temp=1.0),
        row("A", 0, 1, 0.2, temp=1.0),  # sampled: std 0.2
        row("A", 1, 0, 0.5, temp=1.0),
        row("A", 1, 1, 0.3, temp=1.0),  # std 0.1
    ]
    cold, hot = sweep(rows)
    assert (cold.temperature, cold.mean_similarity, cold.stability, cold.scored) == pytest.approx((0.0, 0.8, 0.0, 2))
    # T=1: mean (0.6+0.2+0.5+0.3)/4 = 0.4; stability mean(0.2, 0.1) = 0.15
    assert (hot.temperature, hot.mean_similarity, hot.stability, hot.scored) == pytest.approx((1.0, 0.4, 0.15, 4))
    assert stability(rows) == pytest.approx((0.0 + 0.2 + 0.1) / 3)


def test_compare_runs_gives_per_question_differences_biggest_drop_first():
    run_b = [
        row("A", 0, 0, 0.9, run_id=2),  # A/q0: 0.7 -> 0.9 (+0.2)
        row("A", 1, 0, 0.2, run_id=2),  # A/q1: 0.5 -> 0.2 (-0.3)
        row("D", 0, 0, 0.5, run_id=2),  # only in run b: not compared
    ]
    diffs = compare_runs(RUN, run_b)
    assert [(d.model, d.question, d.category) for d in diffs] == [
        ("A", "question 1", "Y"),
        ("A", "question 0", "X"),
    ]
    by_key = {(d.model, d.question): d for d in diffs}
    assert set(by_key) == {("A", "question 0"), ("A", "question 1")}
    assert by_key[("A", "question 0")].delta == pytest.approx(0.2)
    assert by_key[("A", "question 1")].delta == pytest.approx(-0.3)
    assert diffs[0].question == "question 1", "biggest drop first"
    assert (diffs[0].score_a, diffs[0].score_b) == pytest.approx((0.5, 0.2))


def test_empty_run_gives_an_empty_board():
    assert leaderboard([]) == [] and sweep([]) == [] and compare_runs([], []) == []
