"""Widgets for the Evaluation page (Streamlit-aware; runs, scoring and the store are in ``slm_lib.eval``).

Whose runs a session sees (``owner``): locally, every run (one user); in the hosted app, only the
runs made under this visitor's private key, which lives in the session and in the page's address
(``?runs=<key>``) so a refresh or a bookmark finds them again. Everything read back from the
database is outside text: shown through ``slm_lib.safe_text``.
"""

from __future__ import annotations

import html
import sqlite3

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app_ui import endpoints_ui, run_detail
from app_ui.learn_ui import column_help
from app_ui.run_models import backends_for
from slm_lib import settings
from slm_lib.chart_labels import label_positions
from slm_lib.eval import store_health
from slm_lib.eval.config import RunConfig, model_label
from slm_lib.eval.export import results_csv, results_json
from slm_lib.eval.leaderboard import RANKINGS, ModelScore, category_matrix, compare_runs, leaderboard, sweep
from slm_lib.eval.manager import RunManager
from slm_lib.eval.notebook import notebook_bytes
from slm_lib.eval.questions import (
    MAX_FILE_BYTES,
    QuestionItem,
    QuestionSetError,
    load_question_set,
    parse_question_file,
)
from slm_lib.eval.store import LOCAL_OWNER, RunStore, is_owner_token, new_owner
from slm_lib.safe_text import neutralize, one_line, plain

__all__ = [
    "OWNER_PARAM",
    "history_view",
    "live_panel",
    "manager",
    "owner",
    "question_picker",
    "recover",
    "results_view",
    "run_store",
    "start_run",
]

OWNER_PARAM = "runs"  # the query parameter holding a hosted visitor's private key


@st.cache_resource(show_spinner=False)
def manager() -> RunManager:
    """The process-wide run manager (survives reruns, page switches and new sessions).

    With worker processes, runs are scored there too: the embedding model never loads where pages are served.
    """
    from app_ui.loaders import get_job_pool
    from slm_lib.eval.tasks import PoolAssessor

    pool = get_job_pool()
    return RunManager(scorer_factory=(lambda: PoolAssessor(pool)) if pool.mode == "process" else None)


@st.cache_resource(show_spinner=False)
def _store(path: str) -> RunStore:
    return RunStore(path)


def run_store() -> RunStore:
    """The run database in the per-user data folder (``SLM_EXPLORER_DATA``)."""
    return _store(str(settings.data_dir() / "runs.sqlite3"))


def owner() -> str | None:
    """Whose runs this session sees: None locally (one user: every run), else this visitor's private key."""
    if not settings.is_hosted():
        return None
    key = st.session_state.get("eval.owner")
    if key is None:
        from_url = st.query_params.get(OWNER_PARAM)
        key = from_url if is_owner_token(from_url) else new_owner()
        st.session_state["eval.owner"] = key
    if st.query_params.get(OWNER_PARAM) != key:
        st.query_params[OWNER_PARAM] = key  # the address bar is the private link
    return key


def recover(store: RunStore, exc: sqlite3.Error) -> None:
    """After a database error: set a damaged or read-only file aside, say so, rerun; re-raise anything else."""
    recovery = store.recover(exc)
    st.session_state["eval.notice"] = recovery.message
    st.rerun()


def start_run(store: RunStore, config: RunConfig, host: str, who: str | None) -> int | None:
    """Save and start a run for ``who``; hosted, old runs expire first and a full database refuses."""
    caps = settings.limits()
    if caps.run_ttl_s is not None or caps.max_db_bytes is not None:
        store_health.expire(store, caps.run_ttl_s, caps.max_db_bytes, keep=set(manager().live()))
        if caps.max_db_bytes is not None and store.used_bytes() > caps.max_db_bytes:
            st.session_state["eval.notice"] = "The app's run storage is full right now; try again later."
            return None
    try:
        run_id = store.create_run(config, owner=who or LOCAL_OWNER)
    except sqlite3.Error as exc:
        store.recover(exc)  # a file that turned read-only or damaged: set aside, then once more
        run_id = store.create_run(config, owner=who or LOCAL_OWNER)
        st.session_state["eval.notice"] = store.recovery.message if store.recovery else None
    try:
        manager().start(store, run_id, backends_for(config.models, host), owner=who)
    except (KeyError, ValueError) as exc:
        st.session_state["eval.notice"] = str(exc).strip("'\"")
    return run_id


def question_picker() -> tuple[list[QuestionItem], str] | None:
    """Built-in set or an uploaded CSV/JSON file; a bad file shows its row and problem."""
    source = st.radio(
        "Question set", ["Built-in (45 questions)", "Upload CSV or JSON"], key="eval.source", horizontal=True
    )
    if source.startswith("Built-in"):
        return load_question_set("builtin"), "builtin"
    upload = st.file_uploader(
        "Question file (columns: question, reference, optional category and reference_2, reference_3… "
        f"for other acceptable answers; in JSON, reference may be a list; up to {MAX_FILE_BYTES // 1024} KB)",
        type=["csv", "json"],
        key="eval.upload",
    )
    if upload is None:
        st.info("Upload a file to continue, or pick the built-in set.")
        return None
    name = one_line(upload.name, 80)
    if upload.size > MAX_FILE_BYTES:  # refused before reading it whole
        st.error(f"**{plain(name)}** is {upload.size:,} bytes; the limit is {MAX_FILE_BYTES:,}. Split it up.")
        return None
    try:
        return parse_question_file(upload.getvalue(), upload.name), f"upload:{name}"
    except QuestionSetError as exc:
        st.error(f"**{plain(name)}** cannot be used. {neutralize(exc).text}")
        return None


def _live_body(store: RunStore, who: str | None) -> None:
    try:
        _live_runs(store, who)
    except sqlite3.Error as exc:
        recover(store, exc)


def _live_runs(store: RunStore, who: str | None) -> None:
    live = manager().live(who)
    seen = st.session_state.setdefault("eval.live_seen", set())
    if seen - set(live):  # a run this session watched has ended: refresh the whole page for its results
        st.session_state["eval.live_seen"] = set(live)
        st.rerun(scope="app")
    st.session_state["eval.live_seen"] = set(live)
    for run_id, run in live.items():
        done, total = store.count(run_id), store.get_run(run_id, who).config.total_cells
        with st.container(border=True):
            st.markdown(f"**Run #{run_id}** is running: {done} of {total} answers")
            st.progress(done / total if total else 1.0)
            if run.progress is not None:
                for model, status in run.progress.model_status.items():
                    st.caption(f"{plain(model, 80)}: {neutralize(status).text}")
                if len(run.progress.lanes) > 1 or any(p.limit > 1 for p in run.progress.lanes.values()):
                    for lane in run.progress.lanes.values():  # names are kinds or validated endpoint names
                        st.progress(lane.done / lane.total if lane.total else 1.0, text=f"**{lane.name}**: {lane.line}")
            st.button("Stop", key=f"eval.stop.{run_id}", on_click=manager().stop, args=(run_id, who))
    for record in store.list_runs(who):
        if record.status == "finished" or record.id in live:
            continue
        done, total = store.count(record.id), record.config.total_cells
        run = manager().get(record.id, who)
        with st.container(border=True):
            st.markdown(
                f"**Run #{record.id}** is {plain(record.status)} at {done} of {total} answers "
                f"({plain(', '.join(map(model_label, record.config.models)), 300)})."
            )
            if run is not None and run.error:
                st.error(f"The run stopped: {neutralize(run.error).text}")
            st.button("Resume", key=f"eval.resume.{record.id}", on_click=_resume, args=(store, record.id, who))


def _resume(store: RunStore, run_id: int, who: str | None) -> None:
    host = st.session_state.get("ollama.host") or settings.ollama_host()
    try:
        config = store.get_run(run_id, who).config
        manager().start(store, run_id, backends_for(config.models, host), owner=who)
    except (KeyError, ValueError) as exc:
        st.session_state["eval.notice"] = str(exc).strip("'\"")
    st.session_state["eval.open"] = run_id


def live_panel(store: RunStore, who: str | None) -> None:
    """Running runs (progress, per-model status, Stop) and unfinished ones (Resume); polls while busy."""
    run_every = 1.0 if manager().live(who) else None
    st.fragment(_live_body, run_every=run_every)(store, who)


def _chart(label: str) -> str:
    """Outside text for Plotly, which reads ``<a>``, ``<b>`` and ``<br>``: entities show them literally."""
    return html.escape(one_line(label, 60), quote=False)


def _fmt(value: float | None, spec: str, missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def _board_frame(board: list[ModelScore], repeats: int) -> pd.DataFrame:
    """Display-ready leaderboard rows: labels instead of ids, rounded numbers, words instead of None."""
    no_spread = "needs 2+ repeats" if repeats < 2 else "–"
    return pd.DataFrame(
        [
            {
                "model": model_label(s.model),
                "mean overall": _fmt(s.mean_overall, ".3f"),
                "mean similarity": _fmt(s.mean_similarity, ".3f"),
                "facts flagged": f"{s.flagged} of {s.assessed}" if s.assessed else "–",
                "tokens/s": _fmt(s.tokens_per_second, ".1f"),
                "latency p50 (s)": _fmt(s.latency_p50, ".2f"),
                "latency p95 (s)": _fmt(s.latency_p95, ".2f"),
                "stability (spread)": _fmt(s.stability, ".3f", no_spread),
                "errors": s.errors,
                "answers": s.answers,
            }
            for s in board
        ]
    )


def results_view(store: RunStore, run_id: int, who: str | None) -> None:
    """Leaderboard, heatmap, quality-vs-speed scatter, sweep charts, every answer, and downloads."""
    record = store.get_run(run_id, who)
    rows = store.results(run_id, who)
    cfg = record.config
    st.caption(
        f"Run #{run_id} · {plain(record.status)} · created {plain(record.created)} · {len(cfg.questions)} questions · "
        f"{cfg.repeats} repeat(s) · temperature(s) {', '.join(map(str, cfg.sweep))}"
    )
    if not rows:
        st.info("No answers yet.")
        return
    run_detail.backfill_panel(store, run_id, rows)
    rank_by = st.radio("Rank by", RANKINGS, horizontal=True, key="eval.rank_by", format_func=str.capitalize)
    board = leaderboard(rows, rank_by=rank_by)
    frame = _board_frame(board, cfg.repeats)
    st.dataframe(frame, hide_index=True, key=f"eval.board.{run_id}", column_config=column_help(frame.columns))
    st.caption(
        "Overall: similarity and coverage of the reference, halved for each fact flag (numbers, names, "
        "negation, relations, code); facts flagged: answers with at least one flag, a hint to read them. "
        "Similarity: mean cosine of complete answers to the references (all-MiniLM-L6-v2); it barely sees "
        "negation. Stability is the spread (std) of similarity across repeats: lower is steadier."
    )
    matrix = category_matrix(board)
    left, right = st.columns(2)
    heat = px.imshow(
        pd.DataFrame(
            matrix.values,
            index=[_chart(model_label(m)) for m in matrix.models],
            columns=[_chart(c) for c in matrix.categories],
        ).astype(float),
        zmin=0,
        zmax=1,
        color_continuous_scale="Viridis",
        aspect="auto",
        text_auto=".2f",
        title="Mean similarity by category",
    )
    left.plotly_chart(heat, key=f"eval.heat.{run_id}")
    speed = [s for s in board if s.tokens_per_second and s.mean_similarity is not None]
    xs, ys = [s.tokens_per_second for s in speed], [s.mean_similarity for s in speed]
    names = [_chart(model_label(s.model)) for s in speed]
    scatter = go.Figure(
        go.Scatter(
            x=xs, y=ys, text=names, mode="markers+text", textposition=label_positions(xs, ys, names, size=(560, 380))
        )
    )
    scatter.update_layout(title="Quality vs speed", xaxis_title="tokens/s", yaxis_title="mean similarity")
    right.plotly_chart(scatter, key=f"eval.scatter.{run_id}")
    if len(cfg.sweep) > 1:
        frame = pd.DataFrame([p.__dict__ for p in sweep(rows)])
        frame["model"] = frame["model"].map(_chart)
        a, b = st.columns(2)
        a.plotly_chart(
            px.line(
                frame,
                x="temperature",
                y="mean_similarity",
                color="model",
                markers=True,
                title="Quality vs temperature",
            ),
            key=f"eval.sweepq.{run_id}",
        )
        b.plotly_chart(
            px.line(
                frame,
                x="temperature",
                y="stability",
                color="model",
                markers=True,
                title="Spread across repeats vs temperature",
            ),
            key=f"eval.sweeps.{run_id}",
        )
    with st.expander(f"All {len(rows)} answers"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "model": model_label(r.model),
                        "category": r.category,
                        "question": r.question,
                        "T": r.temperature,
                        "repeat": r.repeat,
                        "overall": r.overall,
                        "similarity": r.score,
                        "flags": " | ".join(r.flags) if r.flags else None,
                        "tokens/s": r.stats.tokens_per_second,
                        "seconds": r.stats.total_seconds,
                        "error": r.error,
                        "answer": r.answer,
                    }
                    for r in rows
                ]
            ),
            hide_index=True,
            key=f"eval.answers.{run_id}",
        )
    with st.expander("Read the answers to one question: why each scored as it did"):
        run_detail.answer_detail(store, run_id, rows, cfg.sweep[0])
    c1, c2, c3 = st.columns(3)
    c1.download_button("Answers (CSV)", results_csv(rows), f"run-{run_id}.csv", "text/csv", key="eval.dl.csv")
    c2.download_button(
        "Answers (JSON)",
        results_json(record, rows),
        f"run-{run_id}.json",
        "application/json",
        key="eval.dl.json",
    )
    # Endpoint addresses go into the notebook outside the hosted app only (never a key).
    endpoints = () if settings.is_hosted() else endpoints_ui.current_endpoints()
    c3.download_button(
        "Colab notebook (.ipynb)",
        notebook_bytes(record, rows, endpoints),
        f"run-{run_id}.ipynb",
        "application/x-ipynb+json",
        key="eval.dl.ipynb",
    )


def _label(store: RunStore, run_id: int, who: str | None) -> str:
    r = store.get_run(run_id, who)
    cfg = r.config
    # Stable text (no status): a selectbox keeps its choice by label across reruns.
    models = one_line(", ".join(map(model_label, cfg.models)), 120)
    return f"#{r.id} · {one_line(r.created[:16].replace('T', ' '))} · {models} · {len(cfg.questions)} questions"


def history_view(store: RunStore, who: str | None) -> None:
    """Past runs with their settings (this owner's); open one; compare two per question."""
    runs = store.list_runs(who)
    if not runs:
        st.info("No runs yet: start one above.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "run": r.id,
                    "created": r.created,
                    "status": r.status,
                    "models": ", ".join(map(model_label, r.config.models)),
                    "question set": r.config.question_set,
                    "questions": len(r.config.questions),
                    "repeats": r.config.repeats,
                    "temperatures": ", ".join(map(str, r.config.sweep)),
                    "max new tokens": r.config.options.max_new_tokens,
                    "template": r.config.template,
                }
                for r in runs
            ]
        ),
        hide_index=True,
        key="eval.history",
    )
    ids = [r.id for r in runs]
    st.selectbox("Open run", ids, key="eval.open", format_func=lambda i: _label(store, i, who))
    if len(ids) < 2:
        return
    a_col, b_col = st.columns(2)
    label = lambda i: _label(store, i, who)  # noqa: E731
    a = a_col.selectbox("Compare run A", ids, index=1, key="eval.cmp_a", format_func=label)
    b = b_col.selectbox("with run B", ids, index=0, key="eval.cmp_b", format_func=label)
    diffs = compare_runs(store.results(a, who), store.results(b, who))
    if not diffs:
        st.info("These runs share no scored (model, question) pair.")
        return
    st.dataframe(pd.DataFrame([d.__dict__ for d in diffs]), hide_index=True, key="eval.diffs")
    st.caption(
        f"delta = score in run #{b} − score in run #{a}; mean delta "
        f"{sum(d.delta for d in diffs) / len(diffs):+.3f} over {len(diffs)} (model, question) pairs."
    )
