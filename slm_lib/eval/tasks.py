"""Scoring as job tasks: the embedding model works in a worker, never in the interpreter that serves pages.

all-MiniLM-L6-v2 and the libraries behind it take about 300 MB; loaded by a worker process, they are given
back when that worker idles out (``slm_lib.jobs``). ``PoolAssessor`` is an :class:`~slm_lib.eval.assess.Assessor`
for evaluation runs whose batches are such jobs.

Example:
    >>> from slm_lib.jobs import JobPool, Lane
    >>> pool = JobPool([Lane("score")])
    >>> found = PoolAssessor(pool)(["Paris."], [("The capital is Paris.",)], ["Capital of France?"])
    >>> found[0].similarity > 0.5
    True
    >>> pool.shutdown()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from slm_lib.eval.assess import Assessment, Assessor, assess_batch
from slm_lib.jobs import JobContext
from slm_lib.jobs.lanes import SCORE

if TYPE_CHECKING:
    from slm_lib.jobs import JobPool

__all__ = ["PoolAssessor", "assess_task", "pairwise_task"]


def assess_task(
    ctx: JobContext,
    answers: Sequence[str],
    references: Sequence[str | Sequence[str]],
    questions: Sequence[str | None] | None = None,
) -> list[Assessment]:
    """:func:`~slm_lib.eval.assess.assess_batch` as a job."""
    return assess_batch(answers, references, questions)


def pairwise_task(ctx: JobContext, answers: Sequence[str]) -> list[list[float]]:
    """:func:`~slm_lib.eval.similarity.pairwise` as a job: each answer's similarity to every other."""
    from slm_lib.eval.similarity import pairwise

    return pairwise(list(answers))


class PoolAssessor(Assessor):
    """An ``Assessor`` whose batches run as ``score`` jobs on ``pool`` (in a worker when the pool has them)."""

    def __init__(self, pool: JobPool) -> None:
        super().__init__()
        self._pool = pool

    def __call__(
        self,
        answers: Sequence[str],
        references: Sequence[str | Sequence[str]],
        questions: Sequence[str | None] | None = None,
    ) -> list[Assessment]:
        kwargs = {"answers": list(answers), "references": list(references), "questions": questions}
        return self._pool.submit(SCORE, "slm_lib.eval.tasks:assess_task", kwargs).result()  # type: ignore[return-value]
