"""Compare models on questions: question sets, prompts, similarity scoring, runs, the run store,
leaderboards and exports.

- :mod:`~slm_lib.eval.questions`: the built-in set and uploaded CSV/JSON files,
- :mod:`~slm_lib.eval.prompting`: the source article's template, messages and code snippets,
- :mod:`~slm_lib.eval.similarity`: cosine similarity of MiniLM embeddings to a reference answer,
- :mod:`~slm_lib.eval.assess`: ``assess`` = similarity + fact flags (:mod:`~slm_lib.eval.facts`: numbers,
  entities, negation, relations, code tokens) + BERTScore-style highlights (:mod:`~slm_lib.eval.alignment`)
  into one overall score; :mod:`~slm_lib.eval.word_diff` and the optional :mod:`~slm_lib.eval.judge`,
- :mod:`~slm_lib.eval.config`: ``RunConfig`` and its cells,
- :mod:`~slm_lib.eval.store`: the SQLite file behind runs (owners; ``store_health``: damaged files, expiry),
- :mod:`~slm_lib.eval.runs`: ``execute_run`` (resume, per-model failures, batched scoring),
- :mod:`~slm_lib.eval.leaderboard` and :mod:`~slm_lib.eval.export`: what is read from finished runs.

Example:
    items = load_question_set("builtin")
    score("Paris is the capital.", "The capital of France is Paris.")   # ~0.9
    assess("The capital is Sydney.", "The capital is Canberra.").flags   # ('the answer names Sydney where ...',)
"""

from __future__ import annotations

from slm_lib.eval.assess import Assessment, Assessor, assess, assess_batch
from slm_lib.eval.config import Cell, RunConfig, split_model_id
from slm_lib.eval.facts import check_facts
from slm_lib.eval.judge import Verdict, judge
from slm_lib.eval.leaderboard import ModelScore, leaderboard
from slm_lib.eval.questions import QuestionItem, QuestionSetError, load_question_set, parse_question_file
from slm_lib.eval.runs import RunProgress, execute_run
from slm_lib.eval.similarity import score, score_batch
from slm_lib.eval.store import ResultRow, RunRecord, RunStore
from slm_lib.eval.word_diff import word_diff

__all__ = [
    "Assessment",
    "Assessor",
    "Cell",
    "ModelScore",
    "QuestionItem",
    "QuestionSetError",
    "ResultRow",
    "RunConfig",
    "RunProgress",
    "RunRecord",
    "RunStore",
    "Verdict",
    "assess",
    "assess_batch",
    "check_facts",
    "execute_run",
    "judge",
    "leaderboard",
    "load_question_set",
    "parse_question_file",
    "score",
    "score_batch",
    "split_model_id",
    "word_diff",
]
