"""Several references, judges and stored assessments: questions, the store, runs, leaderboard and exports."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from slm_lib.chat import ChatResult, ChatStats
from slm_lib.eval.assess import Assessment
from slm_lib.eval.config import RunConfig
from slm_lib.eval.export import COLUMNS, results_csv, results_json
from slm_lib.eval.judge import RUBRIC, judge, judge_allowed, judge_messages, parse_verdict
from slm_lib.eval.leaderboard import leaderboard
from slm_lib.eval.questions import QuestionItem, QuestionSetError, load_question_set, parse_question_file
from slm_lib.eval.runs import execute_run
from slm_lib.eval.store import ResultRow, RunStore

QUESTIONS = (
    QuestionItem("Capital of Australia?", "The capital of Australia is Canberra.", "Facts"),
    QuestionItem(
        "Translate 'Where is the station?' into French.", "Où est la gare ?", "Lang", ("Où se trouve la gare ?",)
    ),
)


# ---- several references per question ---------------------------------------------------------------
def test_csv_extra_reference_columns_and_json_lists_become_alternatives():
    items = parse_question_file(b"question,reference,reference_2,Reference 3\nHi?,Hello.,Hi., \n", "x.csv")
    assert items[0].references == ("Hello.", "Hi.")
    items = parse_question_file(
        json.dumps(
            [
                {"question": "Hi?", "reference": ["Hello.", "Hi."]},
                {"question": "a", "answer": "b", "alternatives": ["c"]},
            ]
        ).encode(),
        "x.json",
    )
    assert [i.references for i in items] == [("Hello.", "Hi."), ("b", "c")]


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b'[{"question": "q", "reference": ["a", 3]}]', "x.json", "must be text"),
        (b'[{"question": "q", "reference": "a", "alternatives": "b"}]', "x.json", "must be a list"),
        (b'[{"question": "q", "reference": []}]', "x.json", "is empty"),
        (json.dumps([{"question": "q", "reference": ["a"] * 12}]).encode(), "x.json", "the limit is 8"),
    ],
)
def test_bad_alternatives_name_the_row_and_problem(data, name, message):
    with pytest.raises(QuestionSetError, match=message):
        parse_question_file(data, name)


def test_builtin_set_has_alternatives_where_one_reference_is_unfair():
    items = {i.question: i for i in load_question_set()}
    french = items["Translate into French: 'Where is the train station?'"]
    assert "Où se trouve la gare ?" in french.alternatives
    assert all(
        i.alternatives for i in items.values() if i.category in ("Translation", "Creative writing", "Recommendations")
    )
    hypotenuse = items["What is the length of hypotenuse in a right angled triangle"]
    assert any("no side lengths" in a for a in hypotenuse.alternatives)


def test_stored_configs_with_and_without_alternatives_load():
    old = {"models": ["ollama:m"], "questions": [{"question": "q", "reference": "r", "category": "c"}]}
    assert RunConfig.from_dict(old).questions[0].alternatives == ()
    config = RunConfig(models=("ollama:m",), questions=QUESTIONS)
    assert RunConfig.from_dict(json.loads(config.to_json())) == config
    with pytest.raises(ValueError, match="alternatives"):
        QuestionItem("q", "r", alternatives=("",))


# ---- the store: old databases, assessments ---------------------------------------------------------
def test_a_database_from_before_assessments_opens_and_reads_as_not_assessed(tmp_path):
    path = tmp_path / "runs.sqlite3"
    store = RunStore(path)
    run_id = store.create_run(RunConfig(models=("ollama:m",), questions=QUESTIONS))
    store.add_result(ResultRow(run_id, "ollama:m", 0, 0, 0.0, "Canberra.", True, None, ChatStats(), score=0.8))
    store.close()
    with sqlite3.connect(path) as conn:  # what an older version wrote: no overall/flags columns
        conn.execute("ALTER TABLE results DROP COLUMN overall")
        conn.execute("ALTER TABLE results DROP COLUMN flags")
    reopened = RunStore(path)
    (row,) = reopened.results(run_id)
    assert row.score == 0.8 and row.overall is None and row.flags is None
    assert reopened.unscored(run_id) == [] and reopened.unscored(run_id, assessed=True) == [row]
    reopened.set_assessments([(row.id, 0.81, 0.4, ("the answer says 5000 where the reference says 5050",))])
    (row,) = reopened.results(run_id)
    assert (row.score, row.overall, row.flags) == (0.81, 0.4, ("the answer says 5000 where the reference says 5050",))
    assert row.references == QUESTIONS[0].references
    reopened.close()


def test_a_run_assesses_answers_against_any_reference_and_resumes_old_scores(tmp_path):
    class Backend:
        kind = "ollama"

        def list_models(self):
            return ["m"]

        def chat(self, model, messages, options=None):
            question = messages[-1]["content"]
            text = "The capital of Australia is Sydney." if "Australia" in question else "Où se trouve la gare ?"
            return ChatResult(model, text, ChatStats(total_seconds=0.1, tokens_per_second=10.0))

        def stream_chat(self, model, messages, options=None):
            raise NotImplementedError

    store = RunStore(tmp_path / "runs.sqlite3")
    run_id = store.create_run(RunConfig(models=("ollama:m",), questions=QUESTIONS))
    execute_run(store, run_id, {"ollama": Backend()})
    wrong, right = store.results(run_id)
    assert wrong.flags == ("the answer names Sydney where the reference names Canberra",)
    assert right.flags == () and right.score == pytest.approx(1.0, abs=1e-5), "the alternative reference counts"
    assert right.overall > wrong.overall
    (board,) = leaderboard(store.results(run_id))
    assert board.flagged == 1 and board.assessed == 2
    store.close()


# ---- leaderboard and exports -----------------------------------------------------------------------
def _row(model, q, score, overall, flags):
    return ResultRow(1, model, q, 0, 0.0, "a", True, None, ChatStats(), score, q, "Q", "R", "C", overall, flags)


def test_leaderboard_ranks_by_overall_or_similarity_and_counts_flagged_answers():
    rows = [
        _row("fluent", 0, 0.95, 0.45, ("a flag",)),
        _row("fluent", 1, 0.95, 0.45, ("a flag",)),
        _row("plain", 0, 0.80, 0.80, ()),
        _row("plain", 1, 0.70, 0.70, ()),
        _row("old", 0, 0.99, None, None),  # scored before assessments
    ]
    by_overall = leaderboard(rows)
    assert [s.model for s in by_overall] == ["plain", "fluent", "old"]
    assert [s.model for s in leaderboard(rows, rank_by="similarity")] == ["old", "fluent", "plain"]
    fluent = next(s for s in by_overall if s.model == "fluent")
    assert fluent.flagged == 2 and fluent.mean_overall == pytest.approx(0.45) and fluent.assessed == 2
    assert by_overall[-1].mean_overall is None and by_overall[-1].flagged == 0
    with pytest.raises(ValueError, match="rank_by"):
        leaderboard(rows, rank_by="vibes")


def test_exports_carry_overall_and_flags():
    rows = [_row("m", 0, 0.9, 0.45, ("=says 5000 where 5050", "names Sydney")), _row("m", 1, 0.9, None, None)]
    assert {"overall", "flags"} <= set(COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(results_csv(rows).decode("utf-8-sig"))))
    assert parsed[0]["overall"] == "0.45" and parsed[0]["flags"] == "'=says 5000 where 5050 | names Sydney"
    assert parsed[1]["overall"] == "" and parsed[1]["flags"] == ""
    record = type(
        "R", (), {"id": 1, "created": "", "status": "finished", "config": RunConfig(("ollama:m",), QUESTIONS)}
    )
    data = json.loads(results_json(record, rows))
    assert (
        data["results"][0]["flags"] == ["=says 5000 where 5050", "names Sydney"] and data["results"][1]["flags"] is None
    )


# ---- the judge ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reply, verdict",
    [
        ("VERDICT: wrong\nREASON: It says 5000, not 5050.", "wrong"),
        ("verdict - **Correct**\nreason: fine", "correct"),
        ("VERDICT: partially correct\nREASON: misses one", "partly correct"),
        ("VERDICT: incorrect", "wrong"),
        ("I think it is fine.", "unclear"),
    ],
)
def test_verdicts_are_parsed(reply, verdict):
    assert parse_verdict(reply).verdict == verdict


def test_judge_asks_with_the_rubric_and_never_raises(monkeypatch):
    class Echo:
        kind = "ollama"

        def __init__(self, reply=None, error=None):
            self.reply, self.error, self.seen = reply, error, []

        def list_models(self):
            return ["j"]

        def chat(self, model, messages, options=None):
            self.seen.append(messages)
            if self.error:
                raise self.error
            return ChatResult(model, self.reply, ChatStats())

        def stream_chat(self, model, messages, options=None):
            raise NotImplementedError

    monkeypatch.delenv("SLM_EXPLORER_HOSTED", raising=False)
    monkeypatch.delenv("SLM_EXPLORER_JUDGES", raising=False)
    backend = Echo("VERDICT: wrong\nREASON: Sydney is not the capital.")
    v = judge(backend, "j", "Capital?", ("Canberra.",), "Sydney.")
    assert (v.judge, v.verdict, v.reason) == ("ollama:j", "wrong", "Sydney is not the capital.")
    assert backend.seen[0][0] == {"role": "system", "content": RUBRIC} and "Sydney." in backend.seen[0][1]["content"]
    assert judge_messages("q", ("a", "b"), "c")[1]["content"].count("Reference") == 2
    from slm_lib.chat import BackendUnavailable

    failed = judge(Echo(error=BackendUnavailable("down")), "j", "q", ("r",), "a")
    assert failed.verdict == "unclear" and "down" in failed.error


def test_only_allowed_models_judge_when_hosted(monkeypatch):
    monkeypatch.delenv("SLM_EXPLORER_JUDGES", raising=False)
    monkeypatch.delenv("SLM_EXPLORER_HOSTED", raising=False)
    assert judge_allowed("ollama:anything")
    monkeypatch.setenv("SLM_EXPLORER_HOSTED", "1")
    assert not judge_allowed("ollama:anything")
    monkeypatch.setenv("SLM_EXPLORER_JUDGES", "ollama:llama3.2:1b")
    assert judge_allowed("ollama:llama3.2:1b") and not judge_allowed("ollama:other")


def test_assessment_is_a_frozen_value():
    a = Assessment(0.5, 0.9, ("f",), ("number",), None, "r")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        a.overall = 1.0  # type: ignore[misc]
    assert a.flagged
