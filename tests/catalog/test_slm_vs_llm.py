from __future__ import annotations

import json

import pytest

from slm_lib.catalog.slm_vs_llm import ASSET, ComparisonError, grade, load_comparison, select_dimensions

DIMENSIONS = {"size", "training", "compute", "proficiency", "inference", "latency", "control", "cost"}


def test_all_eight_dimensions_with_sourced_numbers():
    data = load_comparison()
    assert {d.id for d in data.dimensions} == DIMENSIONS
    for dim in data.dimensions:
        assert dim.numbers
        assert all(f.source.startswith(("http", "Analytics")) for f in dim.numbers), dim.id


def test_quiz_has_five_or_more_questions_with_valid_answers():
    quiz = load_comparison().quiz
    assert len(quiz) >= 5
    for q in quiz:
        assert grade(q, q.options[q.answer]) is True
        wrong = next(o for i, o in enumerate(q.options) if i != q.answer)
        assert grade(q, wrong) is False
        assert grade(q, None) is None


def test_grade_rejects_an_unknown_option():
    q = load_comparison().quiz[0]
    with pytest.raises(ValueError, match="not one of the options"):
        grade(q, "something else")


def test_select_dimensions_keeps_file_order_and_rejects_unknown():
    data = load_comparison()
    assert [d.id for d in select_dimensions(data, ["cost", "size"])] == ["size", "cost"]
    with pytest.raises(ValueError, match="bogus"):
        select_dimensions(data, ["bogus"])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["dimensions"][0]["numbers"][0].update(source="nowhere"), "source 'nowhere'"),
        (lambda r: r["dimensions"][1].update(slm=""), "field 'slm'"),
        (lambda r: r["quiz"][0].update(answer=9), "field 'answer'"),
        (lambda r: r["dimensions"][2].update(numbers=[]), "field 'numbers'"),
    ],
)
def test_malformed_file_names_entry_and_field(tmp_path, mutate, message):
    raw = json.loads(ASSET.read_text(encoding="utf-8"))
    mutate(raw)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ComparisonError, match=message):
        load_comparison(bad)
