"""Quizzes: the shipped file, seeded shuffles that keep the answer, grading, and questions from a run."""

from __future__ import annotations

import json

import pytest

from slm_lib.learn import quiz
from slm_lib.learn.quiz import PAGES, Question, QuizError, grade, load_quiz, shuffled
from slm_lib.smollm.compress import VariantResult


def test_every_learn_and_compress_page_has_three_to_five_questions():
    for page in PAGES:
        questions = load_quiz(page)
        assert 3 <= len(questions) <= 5, page
        assert len({q.question for q in questions}) == len(questions)


def test_shuffle_moves_options_but_keeps_the_answer_text():
    q = load_quiz("pruning")[0]
    right = q.options[q.answer]
    orders = set()
    for seed in range(20):
        s = shuffled(q, seed)
        assert s.options[s.answer] == right
        assert sorted(s.options) == sorted(q.options)
        assert grade(s, right) is True
        orders.add(s.options)
    assert len(orders) > 4  # different sessions see different orders
    assert shuffled(q, 3) == shuffled(q, 3)  # one session always sees the same order
    assert q.options[0] == right  # the input is unchanged


def test_grade_rejects_a_foreign_option():
    q = Question("2 + 2?", ("4", "5"), 0, "Arithmetic.")
    assert grade(q, None) is None
    assert grade(q, "5") is False
    with pytest.raises(ValueError, match="'6'"):
        grade(q, "6")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"question": "Q?", "options": ["a"], "answer": 0, "explanation": "E."}, "two different options"),
        ({"question": "Q?", "options": ["a", "a"], "answer": 0, "explanation": "E."}, "two different options"),
        ({"question": "Q?", "options": ["a", "b"], "answer": 2, "explanation": "E."}, "answer=2"),
        ({"question": "Q?", "options": ["a", "b"], "answer": "a", "explanation": "E."}, "field 'answer'"),
        ({"question": "Q?", "options": ["a", "b"], "answer": 0}, "field 'explanation'"),
    ],
)
def test_a_malformed_question_is_refused_naming_page_and_number(tmp_path, raw, message):
    good = {"question": "Fine?", "options": ["y", "n"], "answer": 0, "explanation": "E."}
    path = tmp_path / "quizzes.json"
    path.write_text(json.dumps({"pages": {"home": [good, raw]}}), encoding="utf-8")
    with pytest.raises(QuizError, match=f"page 'home' question #1.*{message}"):
        load_quiz("home", path)


def test_unknown_page_is_named():
    with pytest.raises(QuizError, match="no quiz for page 'nope'"):
        load_quiz("nope")


def test_run_questions_quote_the_measured_numbers():
    q = quiz.prune_question("magnitude", 836_199, 836_199)
    assert "836,199" in q.question and "zeros" in q.options[q.answer]
    q = quiz.prune_question("structured", 611_967, 836_199)
    assert "611,967" in q.question and "smaller" in q.options[q.answer]
    q = quiz.quant_question("int4 group-32 asym", 6.78, 4)
    assert "6.8x" in q.question and "8x" in q.question


def _variant(name: str, ppl: float) -> VariantResult:
    return VariantResult(
        name=name,
        label=name,
        perplexity=ppl,
        eval_tokens=2048,
        weight_bytes=1,
        bits_per_weight=4.0,
        tokens_per_second=10.0,
        ttft_seconds=0.1,
        build_seconds=1.0,
        answer="",
        sparsity=0.5 if "wanda" in name else 0.0,
        runtime="dense",
    )


def test_variant_question_needs_the_rows_it_talks_about():
    assert quiz.variant_question({}) is None
    assert quiz.variant_question({"int4-g32": _variant("int4-g32", 11.66)}) is None
    q = quiz.variant_question({"float": _variant("float", 8.842), "int4-g32": _variant("int4-g32", 11.662)})
    assert "+32%" in q.question  # 11.662 / 8.842 - 1 = 0.319
    q = quiz.variant_question({"pruned-50": _variant("pruned-50", 252.4), "wanda-50": _variant("wanda-50", 16.95)})
    assert "252.4" in q.question and "16.9" in q.question
