"""Evaluation runs: many questions through several models, saved to SQLite as answers arrive.

A run is a ``RunConfig`` (models as ``"backend:model"`` ids, questions, template, options,
repeats, temperatures) stored as JSON in ``runs``; every answer is one row of ``results``,
written the moment it arrives. Because finished cells are in the database, a run that was
interrupted (page closed, process killed, Stop pressed) resumes where it stopped, and a
model that fails (server down, 404, timeouts) only turns its own cells into errors.

Example:
    store = RunStore(tmp_path / "runs.sqlite3")
    run_id = store.create_run(RunConfig(models=("embedded:smollm2-135m",), questions=tuple(items)))
    execute_run(store, run_id, {"embedded": get_backend("embedded")})
    store.results(run_id)[0].score
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from slm_lib import settings
from slm_lib.chat import Backend, ChatOptions, ChatStats, ask
from slm_lib.eval.assess import Assessor
from slm_lib.eval.config import Cell, RunConfig, split_model_id
from slm_lib.eval.prompting import build_messages
from slm_lib.eval.questions import QuestionItem
from slm_lib.eval.store import ResultRow, RunStore

__all__ = ["MAX_CONSECUTIVE_ERRORS", "ReferenceCachingScorer", "RunProgress", "Scorer", "execute_run"]

Scorer = Callable[[list[str], list[str]], list[float]]
MAX_CONSECUTIVE_ERRORS = 3  # after this many failures in a row a model is given up (timeouts cost minutes each)


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands: counts plus one status line per model."""

    run_id: int
    total: int
    done: int
    errors: int
    model_status: dict[str, str]
    status: str = "running"

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def execute_run(
    store: RunStore,
    run_id: int,
    backends: Mapping[str, Backend],
    on_progress: Callable[[RunProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    scorer: Scorer | Assessor | None = None,
    score_every: int = 16,
    retry_errors: bool = False,
) -> RunProgress:
    """Run (or resume) a stored run, writing each answer as it arrives.

    Cells already in the database are skipped (resume); ``retry_errors`` re-asks failed ones.
    A model whose backend is missing, unreachable or lacks the model gets its remaining cells
    marked as errors and the run goes on. Answers are scored with ``scorer(answers, references)``
    in batches of ``score_every`` (default: ``ReferenceCachingScorer``, equal to ``similarity.score_batch``).
    ``should_stop`` is polled between answers; the run is then marked ``cancelled`` and can be resumed.

    Returns:
        The final ``RunProgress`` (status ``finished`` or ``cancelled``).
    """
    config = store.get_run(run_id).config
    if retry_errors:
        store.delete_errors(run_id)
    done_keys = store.finished_keys(run_id)
    scorer = scorer or _default_scorer()
    caps = settings.limits()
    status = {m: "waiting" for m in config.models}
    counts = {"done": len(done_keys), "errors": store.error_count(run_id)}
    pending: list[tuple[int, str, QuestionItem]] = []  # (result id, answer, question) awaiting a batched score

    def report(run_status: str = "running") -> RunProgress:
        progress = RunProgress(run_id, config.total_cells, counts["done"], counts["errors"], dict(status), run_status)
        if on_progress is not None:
            on_progress(progress)
        return progress

    def flush() -> None:
        if not pending:
            return
        answers, items = [p[1] for p in pending], [p[2] for p in pending]
        if isinstance(scorer, Assessor):
            found = scorer(answers, [i.references for i in items], [i.question for i in items])
            store.set_assessments(
                [(p[0], a.similarity, a.overall, a.flags) for p, a in zip(pending, found, strict=True)]
            )
        else:
            scores = scorer(answers, [i.reference for i in items])
            store.set_scores([(p[0], float(s)) for p, s in zip(pending, scores, strict=True)])
        pending.clear()

    store.set_status(run_id, "running")
    try:
        # answers saved before an interruption but not yet scored (or scored before assessments existed)
        for row in store.unscored(run_id, assessed=isinstance(scorer, Assessor)):
            pending.append((row.id, row.answer, config.questions[row.question_idx]))
        flush()
        report()
        for model_id in config.models:
            cells = [c for c in config.cells(model_id) if c.key not in done_keys]
            kind, name = split_model_id(model_id)
            backend = backends.get(kind)
            failure = None if backend is not None else f"No '{kind}' backend is available in this run."
            in_a_row = 0
            for index, cell in enumerate(cells, start=1):
                if should_stop is not None and should_stop():
                    flush()
                    status[model_id] = "stopped"
                    store.set_status(run_id, "cancelled")
                    return report("cancelled")
                status[model_id] = f"answering {index}/{len(cells)}" if failure is None else f"failed: {failure}"
                if failure is not None:
                    row = _error_row(run_id, cell, failure)
                else:
                    row, fatal = _ask(backend, name, config, cell, caps.max_new_tokens, caps.max_answer_chars)
                    row = replace(row, run_id=run_id)
                    in_a_row = in_a_row + 1 if row.error else 0
                    if fatal or in_a_row >= MAX_CONSECUTIVE_ERRORS:
                        failure = row.error if fatal else f"gave up after {in_a_row} errors in a row: {row.error}"
                result_id = store.add_result(row)
                counts["done"] += 1
                counts["errors"] += row.error is not None
                if row.complete and row.error is None:
                    pending.append((result_id, row.answer, config.questions[cell.question_idx]))
                if len(pending) >= score_every:
                    flush()
                report()
            flush()  # a finished model's leaderboard row is complete at once
            status[model_id] = "done" if failure is None else f"failed: {failure}"
            report()
        store.set_status(run_id, "finished")
        return report("finished")
    except BaseException:
        store.set_status(run_id, "interrupted")  # resumable: finished cells are already saved
        raise


def _ask(
    backend: Backend, name: str, config: RunConfig, cell: Cell, max_tokens: int, max_chars: int
) -> tuple[ResultRow, bool]:
    """One model call turned into a result row; ``True`` when the model should not be asked again."""
    seed = config.options.seed
    options = ChatOptions(
        temperature=cell.temperature,
        max_new_tokens=min(config.options.max_new_tokens, max_tokens),
        seed=None if seed is None else seed + cell.repeat,  # repeats differ when sampling, as in real use
    )
    question = config.questions[cell.question_idx].question
    try:
        messages = build_messages(config.template, question, config.system_prompt)
    except ValueError as exc:
        return _error_row(0, cell, str(exc)), False
    result = ask(backend, name, messages, options, max_chars=max_chars)
    if result.truncated:  # a run keeps an answer cut at the length cap, and scores it
        return _row(cell, result.text, result.stats, True, None), False
    if not result.complete and not result.text:
        return _error_row(0, cell, result.error or "no answer"), result.fatal
    error = None if result.complete else result.error or "the answer stopped before it was complete"
    return _row(cell, result.text, result.stats, result.complete, error), result.fatal


def _row(cell: Cell, answer: str, stats: ChatStats, complete: bool, error: str | None) -> ResultRow:
    return ResultRow(
        run_id=0,
        model=cell.model,
        question_idx=cell.question_idx,
        repeat=cell.repeat,
        temperature=cell.temperature,
        answer=answer,
        complete=complete,
        error=error,
        stats=stats,
    )


def _error_row(run_id: int, cell: Cell, message: str) -> ResultRow:
    return replace(_row(cell, "", ChatStats(), False, message), run_id=run_id)


def _default_scorer() -> Scorer | Assessor:
    return Assessor()


class ReferenceCachingScorer:
    """``score_batch`` semantics, cheaper for runs: each batch embeds every distinct text once, and a
    reference's vector is kept for the rest of the run (it recurs for every model, repeat and temperature).

    Example:
        scorer = ReferenceCachingScorer()
        scorer(["Paris.", "Lyon."], ["The capital is Paris."] * 2)   # the reference is embedded once
    """

    def __init__(self) -> None:
        self._refs: dict[str, np.ndarray] = {}

    def __call__(self, answers: list[str], references: list[str]) -> list[float]:
        from slm_lib.eval.similarity import cosine, embed  # sentence-transformers loads only when a run scores

        if len(answers) != len(references):
            raise ValueError(f"got {len(answers)} answers but {len(references)} references")
        new_refs = [r for r in dict.fromkeys(references) if r not in self._refs]
        texts = list(dict.fromkeys([*answers, *new_refs]))  # one embedding batch, no duplicates
        vectors = dict(zip(texts, embed(texts).vectors, strict=True)) if texts else {}
        self._refs.update({r: vectors[r] for r in new_refs})
        return [cosine(vectors[a], self._refs[r]) for a, r in zip(answers, references, strict=True)]
