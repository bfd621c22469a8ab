"""Widgets for the Evaluation page (Streamlit-aware; runs, scoring and the store are in ``slm_lib.eval``)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app_ui.learn_ui import column_help
from app_ui.loaders import get_embedded_backend, get_ollama_backend
from slm_lib import settings
from slm_lib.chart_labels import label_positions
from slm_lib.chat import Backend, BackendError
from slm_lib.eval.config import model_label, split_model_id
from slm_lib.eval.export import notebook_bytes, results_csv, results_json
from slm_lib.eval.leaderboard import ModelScore, category_matrix, compare_runs, leaderboard, sweep
from slm_lib.eval.manager import RunManager
from slm_lib.eval.questions import QuestionItem, QuestionSetError, load_question_set, parse_question_file
from slm_lib.eval.similarity import NEGATION_NOTE
from slm_lib.eval.store import RunStore
from slm_lib.safe_text import neutralize

__all__ = [
    "backends_for",
    "history_view",
    "live_panel",
    "manager",
    "model_choices",
    "question_picker",
    "results_view",
    "run_store",
]


@st.cache_resource(show_spinner=False)
def manager() -> RunManager:
    """The process-wide run manager (survives reruns, page switches and new sessions)."""
    return RunManager()


@st.cache_resource(show_spinner=False)
def _store(path: str) -> RunStore:
    return RunStore(path)


def run_store() -> RunStore:
    """The run database in the per-user data folder (``SLM_EXPLORER_DATA``)."""
    return _store(str(settings.data_dir() / "runs.sqlite3"))


def _backend(kind: str, host: str) -> Backend:
    """The process's shared backend of ``kind``: the same cached objects the playground uses."""
    if kind == "embedded":
        return get_embedded_backend()
    if kind == "ollama":
        return get_ollama_backend(host)
    raise ValueError(f"unknown backend kind {kind!r}")


def backends_for(models: tuple[str, ...] | list[str], host: str) -> dict[str, Backend]:
    """One shared backend per kind used by ``models``; a kind that cannot be built is left out
    (its cells then become errors with a clear message instead of stopping the run)."""
    out: dict[str, Backend] = {}
    for kind in dict.fromkeys(split_model_id(m)[0] for m in models):
        try:
            out[kind] = _backend(kind, host)
        except (ImportError, ValueError, BackendError):
            continue
    return out


@st.cache_data(ttl=15, show_spinner=False)
def model_choices(host: str) -> tuple[list[str], list[str]]:
    """``("backend:model" ids, notes about unavailable backends)``."""
    ids: list[str] = []
    notes: list[str] = []
    for kind in ("embedded", "ollama"):
        try:
            ids += [f"{kind}:{name}" for name in _backend(kind, host).list_models()]
        except (ImportError, ValueError, BackendError) as exc:
            notes.append(f"**{kind}**: {exc}")
    return ids, notes


def question_picker() -> tuple[list[QuestionItem], str] | None:
    """Built-in set or an uploaded CSV/JSON file; a bad file shows its row and problem."""
    source = st.radio(
        "Question set", ["Built-in (45 questions)", "Upload CSV or JSON"], key="eval.source", horizontal=True
    )
    if source.startswith("Built-in"):
        return load_question_set("builtin"), "builtin"
    upload = st.file_uploader(
        "Question file (columns: question, reference, optional category)",
        type=["csv", "json"],
        key="eval.upload",
    )
    if upload is None:
        st.info("Upload a file to continue, or pick the built-in set.")
        return None
    try:
        return parse_question_file(upload.getvalue(), upload.name), f"upload:{upload.name}"
    except QuestionSetError as exc:
        st.error(f"**{upload.name}** cannot be used. {exc}")
        return None


def _progress_line(store: RunStore, run_id: int) -> tuple[int, int]:
    record = store.get_run(run_id)
    return store.count(run_id), record.config.total_cells


def _live_body(store: RunStore) -> None:
    live = manager().live()
    seen = st.session_state.setdefault("eval.live_seen", set())
    if seen - set(live):  # a run this session watched has ended: refresh the whole page for its results
        st.session_state["eval.live_seen"] = set(live)
        st.rerun(scope="app")
    st.session_state["eval.live_seen"] = set(live)
    for run_id, run in live.items():
        done, total = _progress_line(store, run_id)
        with st.container(border=True):
            st.markdown(f"**Run #{run_id}** is running: {done} of {total} answers")
            st.progress(done / total if total else 1.0)
            if run.progress is not None:
                for model, status in run.progress.model_status.items():
                    st.caption(f"`{model}`: {status}")
            st.button("Stop", key=f"eval.stop.{run_id}", on_click=manager().stop, args=(run_id,))
    for record in store.list_runs():
        if record.status == "finished" or record.id in live:
            continue
        done, total = store.count(record.id), record.config.total_cells
        run = manager().get(record.id)
        with st.container(border=True):
            st.markdown(
                f"**Run #{record.id}** is {record.status} at {done} of {total} answers "
                f"({', '.join(map(model_label, record.config.models))})."
            )
            if run is not None and run.error:
                st.error(f"The run stopped: {neutralize(run.error).text}")
            st.button("Resume", key=f"eval.resume.{record.id}", on_click=_resume, args=(store, record.id))


def _resume(store: RunStore, run_id: int) -> None:
    host = st.session_state.get("ollama.host") or settings.ollama_host()
    try:
        manager().start(store, run_id, backends_for(store.get_run(run_id).config.models, host))
    except ValueError as exc:
        st.session_state["eval.notice"] = str(exc)
    st.session_state["eval.open"] = run_id


def live_panel(store: RunStore) -> None:
    """Running runs (progress, per-model status, Stop) and unfinished ones (Resume); polls while busy."""
    run_every = 1.0 if manager().live() else None
    st.fragment(_live_body, run_every=run_every)(store)


def _fmt(value: float | None, spec: str, missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def _board_frame(board: list[ModelScore], repeats: int) -> pd.DataFrame:
    """Display-ready leaderboard rows: labels instead of ids, rounded numbers, words instead of None."""
    no_spread = "needs 2+ repeats" if repeats < 2 else "–"
    return pd.DataFrame(
        [
            {
                "model": model_label(s.model),
                "mean similarity": _fmt(s.mean_similarity, ".3f"),
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


def results_view(store: RunStore, run_id: int) -> None:
    """Leaderboard, heatmap, quality-vs-speed scatter, sweep charts, every answer, and downloads."""
    record = store.get_run(run_id)
    rows = store.results(run_id)
    cfg = record.config
    st.caption(
        f"Run #{run_id} · {record.status} · created {record.created} · {len(cfg.questions)} questions · "
        f"{cfg.repeats} repeat(s) · temperature(s) {', '.join(map(str, cfg.sweep))}"
    )
    if not rows:
        st.info("No answers yet.")
        return
    board = leaderboard(rows)
    frame = _board_frame(board, cfg.repeats)
    st.dataframe(frame, hide_index=True, key=f"eval.board.{run_id}", column_config=column_help(frame.columns))
    st.caption(
        "Mean cosine similarity of complete answers to the references (all-MiniLM-L6-v2); stability is "
        "the spread (std) of similarity across repeats: lower is steadier. It barely sees negation."
    )
    matrix = category_matrix(board)
    left, right = st.columns(2)
    heat = px.imshow(
        pd.DataFrame(
            matrix.values, index=[model_label(m) for m in matrix.models], columns=matrix.categories, dtype=float
        ),
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
    names = [model_label(s.model) for s in speed]
    scatter = go.Figure(
        go.Scatter(
            x=xs, y=ys, text=names, mode="markers+text", textposition=label_positions(xs, ys, names, size=(560, 380))
        )
    )
    scatter.update_layout(title="Quality vs speed", xaxis_title="tokens/s", yaxis_title="mean similarity")
    right.plotly_chart(scatter, key=f"eval.scatter.{run_id}")
    if len(cfg.sweep) > 1:
        frame = pd.DataFrame([p.__dict__ for p in sweep(rows)])
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
                        "score": r.score,
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
    with st.expander("Read the answers to one question"):
        question = st.selectbox("Question", list(dict.fromkeys(r.question for r in rows)), key="eval.read")
        shown = [r for r in rows if r.question == question and r.repeat == 0 and r.temperature == cfg.sweep[0]]
        for col, r in zip(st.columns(max(1, min(len(shown), 3))) * len(shown), shown, strict=False):
            score = "–" if r.score is None else f"{r.score:.2f}"
            col.markdown(f"**{model_label(r.model)}** · similarity {score}")
            col.markdown(neutralize(r.answer).text)  # model output is untrusted: no HTML, links or images
            if r.error:
                col.error(neutralize(r.error).text)
        st.caption(f"Reference: {neutralize(shown[0].reference).text if shown else ''}  \n{NEGATION_NOTE}")
    c1, c2, c3 = st.columns(3)
    c1.download_button("Answers (CSV)", results_csv(rows), f"run-{run_id}.csv", "text/csv", key="eval.dl.csv")
    c2.download_button(
        "Answers (JSON)",
        results_json(record, rows),
        f"run-{run_id}.json",
        "application/json",
        key="eval.dl.json",
    )
    c3.download_button(
        "Colab notebook (.ipynb)",
        notebook_bytes(record, rows),
        f"run-{run_id}.ipynb",
        "application/x-ipynb+json",
        key="eval.dl.ipynb",
    )


def _label(store: RunStore, run_id: int) -> str:
    r = store.get_run(run_id)
    cfg = r.config
    # Stable text (no status): a selectbox keeps its choice by label across reruns.
    models = ", ".join(map(model_label, cfg.models))
    return f"#{r.id} · {r.created[:16].replace('T', ' ')} · {models} · {len(cfg.questions)} questions"


def history_view(store: RunStore) -> None:
    """Past runs with their settings; open one; compare two per question."""
    runs = store.list_runs()
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
    st.selectbox("Open run", ids, key="eval.open", format_func=lambda i: _label(store, i))
    if len(ids) < 2:
        return
    a_col, b_col = st.columns(2)
    a = a_col.selectbox("Compare run A", ids, index=1, key="eval.cmp_a", format_func=lambda i: _label(store, i))
    b = b_col.selectbox("with run B", ids, index=0, key="eval.cmp_b", format_func=lambda i: _label(store, i))
    diffs = compare_runs(store.results(a), store.results(b))
    if not diffs:
        st.info("These runs share no scored (model, question) pair.")
        return
    st.dataframe(pd.DataFrame([d.__dict__ for d in diffs]), hide_index=True, key="eval.diffs")
    st.caption(
        f"delta = score in run #{b} − score in run #{a}; mean delta "
        f"{sum(d.delta for d in diffs) / len(diffs):+.3f} over {len(diffs)} (model, question) pairs."
    )
