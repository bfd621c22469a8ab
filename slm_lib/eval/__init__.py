"""Compare models on questions: question sets, prompts, similarity scoring, runs, the run store,
leaderboards and exports.

- :mod:`~slm_lib.eval.questions`: the built-in set and uploaded CSV/JSON files,
- :mod:`~slm_lib.eval.prompting`: the source article's template, messages and code snippets,
- :mod:`~slm_lib.eval.similarity`: cosine similarity of MiniLM embeddings to a reference answer,
- :mod:`~slm_lib.eval.config`: ``RunConfig`` and its cells,
- :mod:`~slm_lib.eval.store`: the SQLite file behind runs (owners; ``store_health``: damaged files, expiry),
- :mod:`~slm_lib.eval.runs`: ``execute_run`` (resume, per-model failures, batched scoring),
- :mod:`~slm_lib.eval.leaderboard` and :mod:`~slm_lib.eval.export`: what is read from finished runs.

Example:
    items = load_question_set("builtin")
    score("Paris is the capital.", "The capital of France is Paris.")   # ~0.9
"""

from __future__ import annotations

from slm_lib.eval.config import Cell, RunConfig, split_model_id
from slm_lib.eval.leaderboard import ModelScore, leaderboard
from slm_lib.eval.questions import QuestionItem, QuestionSetError, load_question_set, parse_question_file
from slm_lib.eval.runs import RunProgress, execute_run
from slm_lib.eval.similarity import score, score_batch
from slm_lib.eval.store import ResultRow, RunRecord, RunStore

__all__ = [
    "Cell",
    "ModelScore",
    "QuestionItem",
    "QuestionSetError",
    "ResultRow",
    "RunConfig",
    "RunProgress",
    "RunRecord",
    "RunStore",
    "execute_run",
    "leaderboard",
    "load_question_set",
    "parse_question_file",
    "score",
    "score_batch",
    "split_model_id",
]
