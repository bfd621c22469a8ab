"""Scoring as jobs: the same assessments and similarities as in-process scoring, through a pool."""

from __future__ import annotations

import pytest

from slm_lib.eval.assess import Assessor, assess_batch
from slm_lib.eval.similarity import pairwise
from slm_lib.eval.tasks import PoolAssessor
from slm_lib.jobs import SCORE, JobPool, Lane


@pytest.fixture
def pool():
    pool = JobPool([Lane(SCORE, per_process=2)])
    yield pool
    pool.shutdown()


def test_a_pool_assessor_gives_what_assess_batch_gives_and_is_an_assessor(pool):
    answers = ["The capital of France is Paris.", "It is Lyon.", ""]
    refs = [("Paris is the capital of France.",), ("Paris.", "The capital is Paris."), ("Paris.",)]
    questions = ["Capital of France?", "Capital of France?", None]
    scorer = PoolAssessor(pool)
    assert isinstance(scorer, Assessor)  # runs then record overall scores and flags too
    assert scorer(answers, refs, questions) == assess_batch(answers, refs, questions)


def test_pairwise_as_a_job_matches_pairwise(pool):
    answers = ["A cat sat.", "A cat was sitting.", "Stocks fell."]
    job = pool.submit(SCORE, "slm_lib.eval.tasks:pairwise_task", {"answers": answers})
    assert job.result(120) == pairwise(answers)
