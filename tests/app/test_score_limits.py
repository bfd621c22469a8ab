"""The score-limits lesson: every example shows both scores; a flagged variant scores lower overall."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app import HOME


def _page() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=240)
    at.run()
    at.switch_page("pages/score_limits.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_each_example_shows_scores_and_the_flagged_variant_drops_overall():
    at = _page()
    tables = [d.value for d in at.dataframe]
    assert len(tables) == 4
    negation, number = tables[0], tables[1]
    for table in (negation, number):
        a, b = table.iloc[0], table.iloc[1]
        assert b["flags"] != "–" and a["flags"] == "–"
        assert a["overall"] - b["overall"] > 3 * abs(a["similarity"] - b["similarity"])
    paraphrase = tables[3].iloc[1]
    assert paraphrase["exact words shared"] == 0.0 and paraphrase["similarity"] > 0.3


def test_editing_an_answer_rescores_it():
    at = _page()
    at.text_area(key="limits.number.b").set_value("Adding the numbers from 1 to 100 gives 5050.").run()
    table = at.dataframe[1].value
    assert table.iloc[1]["flags"] == "–"
    assert "Adding" in " ".join(m.value for m in at.markdown)
