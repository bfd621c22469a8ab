"""Evaluation-run throughput: questions per minute, scoring time per answer, DB write cost per result.

Runs the built-in question set through the embedded model (and any installed Ollama models) with
``execute_run``, exactly as the Evaluation page does, then times the pieces on their own:

- questions per minute per model (wall time of the model's cells / answers),
- scoring time per answer, batched (what runs use) against one-by-one, after a warm-up,
- SQLite write overhead per result (autocommit INSERT in WAL mode, as during a run).

Usage: ``python -m bench.eval`` (one question per category, 64 new tokens) or
``python -m bench.eval --full`` (all questions, 256 new tokens). Writes ``bench/results/eval.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from slm_lib.backends import get_backend
from slm_lib.chat import BackendError, ChatOptions, ChatStats
from slm_lib.eval.config import RunConfig
from slm_lib.eval.questions import load_question_set
from slm_lib.eval.runs import ReferenceCachingScorer, execute_run
from slm_lib.eval.similarity import score_batch
from slm_lib.eval.store import ResultRow, RunStore

RESULTS = Path(__file__).resolve().parent / "results" / "eval.json"


def pick_questions(full: bool):
    items = load_question_set("builtin")
    if full:
        return items
    first = {}
    for item in items:
        first.setdefault(item.category, item)
    return list(first.values())


def available_models() -> tuple[dict, list[str]]:
    backends, models = {}, []
    try:
        embedded = get_backend("embedded")
        backends["embedded"] = embedded
        models.append(f"embedded:{embedded.list_models()[0]}")
    except (ImportError, BackendError) as exc:
        print(f"Embedded model: not used ({type(exc).__name__}: {exc})")
    try:
        ollama = get_backend("ollama")
        names = ollama.list_models()
    except (BackendError, ValueError) as exc:
        print(f"Ollama: not used ({exc})")
        names = []
    if names:
        backends["ollama"] = ollama
        models += [f"ollama:{n}" for n in names[:3]]
    return backends, models


def time_scoring(answers: list[str], references: list[str]) -> dict:
    """ms per answer: the run's scorer on the whole batch vs ``score_batch`` one answer at a time."""
    score_batch(answers[:2], references[:2])  # warm-up: loads the embedding model once
    start, cpu = time.perf_counter(), time.process_time()
    ReferenceCachingScorer()(answers, references)  # fresh: every reference is embedded once, as in a run
    batched = (time.perf_counter() - start) / len(answers)
    # CPU seconds over all cores: on a shared machine wall time overstates the cost; cpu / cores estimates
    # the wall time of an otherwise idle machine.
    cpu_per = (time.process_time() - cpu) / len(answers)
    start = time.perf_counter()
    score_batch(answers, references)
    plain = (time.perf_counter() - start) / len(answers)
    subset = answers[: min(10, len(answers))]
    start = time.perf_counter()
    for a, r in zip(subset, references, strict=False):
        score_batch([a], [r])
    single = (time.perf_counter() - start) / len(subset)
    return {
        "batched_ms_per_answer": batched * 1e3,
        "batched_cpu_ms_per_answer": cpu_per * 1e3,
        "idle_machine_estimate_ms_per_answer": cpu_per * 1e3 / (os.cpu_count() or 1),
        "score_batch_ms_per_answer": plain * 1e3,
        "one_by_one_ms_per_answer": single * 1e3,
        "answers": len(answers),
    }


def time_db_writes(folder: Path, n: int = 500) -> float:
    store = RunStore(folder / "writes.sqlite3")
    items = load_question_set("builtin")
    run_id = store.create_run(RunConfig(models=("ollama:x",), questions=tuple(items), repeats=20))
    stats = ChatStats(prompt_tokens=20, completion_tokens=64, total_seconds=3.2, tokens_per_second=20.0)
    start = time.perf_counter()
    for i in range(n):
        store.add_result(
            ResultRow(run_id, "ollama:x", i % len(items), i // len(items), 0.0, "an answer " * 40, True, None, stats)
        )
    per = (time.perf_counter() - start) / n
    store.close()
    return per * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="all questions and 256 new tokens")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    args = parser.parse_args()
    max_tokens = args.max_new_tokens or (256 if args.full else 64)
    questions = pick_questions(args.full)
    backends, models = available_models()
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "bench.sqlite3")
        config = RunConfig(
            models=tuple(models) or ("embedded:none",),  # placeholder when no model is available
            questions=tuple(questions),
            options=ChatOptions(max_new_tokens=max_tokens, seed=0),
        )
        run_id = store.create_run(config)
        start = time.perf_counter()
        if models:
            execute_run(store, run_id, backends)
        total = time.perf_counter() - start
        rows = store.results(run_id) if models else []
        per_model = {}
        for model in models:
            mine = [r for r in rows if r.model == model]
            ok = [r for r in mine if r.error is None]
            gen = sum(r.stats.total_seconds for r in ok)
            per_model[model] = {
                "answers": len(mine),
                "errors": len(mine) - len(ok),
                "questions_per_minute": 60 * len(ok) / gen if gen else None,
                "mean_tokens_per_second": sum(r.stats.tokens_per_second for r in ok) / len(ok) if ok else None,
                "mean_similarity": sum(r.score for r in ok if r.score is not None) / len(ok) if ok else None,
            }
        answers = [r.answer for r in rows if r.error is None] * 4  # ~4x the run to time a realistic batch
        references = [r.reference for r in rows if r.error is None] * 4
        texts = "model answers of this run"
        if not answers:  # no model ran: time the scorer on the set's reference answers instead (said so)
            items = load_question_set("builtin")
            answers, references = [i.reference for i in items], [i.question for i in items]
            texts = "reference answers vs questions of the built-in set (no model was available)"
        scoring = time_scoring(answers, references) | {"texts": texts}
        db_ms = time_db_writes(Path(tmp))
        store.close()
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "settings": {"questions": len(questions), "max_new_tokens": max_tokens, "full": args.full},
        "run_wall_seconds": total,
        "models": per_model,
        "scoring": scoring,
        "db_write_ms_per_result": db_ms,
        "load_average": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(f"{'model':34} {'answers':>7} {'errors':>6} {'q/min':>7} {'tok/s':>7} {'similarity':>10}")
    for model, m in per_model.items():
        fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
        print(
            f"{model:34} {m['answers']:>7} {m['errors']:>6} {fmt(m['questions_per_minute'], '7.1f')} "
            f"{fmt(m['mean_tokens_per_second'], '7.1f')} {fmt(m['mean_similarity'], '10.3f')}"
        )
    print(f"run wall time: {total:.1f} s for {len(rows)} answers")
    print(
        f"scoring ({scoring['answers']} answers): {scoring['batched_ms_per_answer']:.1f} ms/answer as runs score "
        f"(batched, references once; target < 20), {scoring['score_batch_ms_per_answer']:.1f} with score_batch, "
        f"{scoring['one_by_one_ms_per_answer']:.1f} one by one"
    )
    print(
        f"scoring CPU time: {scoring['batched_cpu_ms_per_answer']:.1f} ms/answer over all cores "
        f"(≈ {scoring['idle_machine_estimate_ms_per_answer']:.1f} ms wall on an idle {os.cpu_count()}-core machine)"
    )
    print(f"SQLite write overhead: {db_ms:.3f} ms per result")
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS.name}")


if __name__ == "__main__":
    main()
