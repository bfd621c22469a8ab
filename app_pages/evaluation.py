"""Evaluation runs: a question set through several models, unattended, with a leaderboard ranked by an
overall score that checks facts (or by similarity), and each answer's scores explained."""

import sqlite3

import streamlit as st

from app_ui import endpoints_ui, eval_ui, fail, page_header, run_models, show_code
from slm_lib import settings
from slm_lib.chat import ChatOptions
from slm_lib.eval.config import RunConfig, model_label, parse_temperatures
from slm_lib.eval.leaderboard import leaderboard
from slm_lib.eval.prompting import DEFAULT_TEMPLATE
from slm_lib.eval.questions import categories, filter_categories
from slm_lib.eval.runs import execute_run
from slm_lib.safe_text import neutralize, plain

page_header(
    "Evaluation runs",
    "Pick models, a question set and a prompt template, and let every model answer every question — "
    "several times if you want to see how **stable** the answers are, or at several temperatures (a sweep). "
    "Each answer is saved the moment it arrives and scored against the reference answer(s): an **overall** "
    "score that checks facts (numbers, names, negation, relations, code) and word coverage, beside the plain "
    "cosine **similarity**. Because answers are saved at once, a run survives a page switch or a refresh and "
    "can be resumed. The leaderboard ranks models by "
    "quality, speed and stability; the notebook export reproduces the run on Google Colab with Ollama, "
    "as in the source article. Each server answers its share at the same time (one request at a time by "
    "default; more for an OpenAI-compatible server set to take several), so a run over two servers takes "
    "about as long as the slower one.",
)
try:
    store = eval_ui.run_store()
except (OSError, sqlite3.Error) as exc:
    fail(f"The run database could not be opened: {exc}", "Set SLM_EXPLORER_DATA to a writable folder.")
who = eval_ui.owner()  # None locally (every run); hosted: this visitor's private key
host = st.session_state.get("ollama.host") or settings.ollama_host()
caps = settings.limits()
if who is not None:
    st.caption(
        "Your runs are private to you: only this page's address (it holds your private key) shows them. "
        f"Bookmark it to come back; runs older than {caps.run_ttl_s / 3600:g} hours are deleted."
    )
if store.recovery is not None and not st.session_state.get("eval.recovery_seen"):
    st.session_state["eval.recovery_seen"] = True
    st.warning(neutralize(store.recovery.message).text)
if notice := st.session_state.pop("eval.notice", None):
    st.warning(neutralize(notice).text)

endpoints_ui.sidebar_editor(host)
try:
    eval_ui.live_panel(store, who)

    st.header("New run")
    choices, notes = run_models.model_choices(host)
    served, served_notes = endpoints_ui.endpoint_models(endpoints_ui.current_endpoints())
    choices = choices + served
    for note in notes + served_notes:
        st.caption(f"Unavailable: {neutralize(note).text}")
    kept = [m for m in st.session_state.get("eval.models", []) if m not in choices]
    if kept:  # a model picked before (e.g. from an Ollama server that is gone) stays, and says so
        st.caption(f"Not available now: {plain(', '.join(map(model_label, kept)))}. Its answers would be errors.")
    models = st.multiselect(
        "Models", [*choices, *kept], key="eval.models", format_func=model_label, placeholder="Choose one or more models"
    )
    picked = eval_ui.question_picker()
    with st.expander("Prompt and options"):
        template = st.text_area("Prompt template ({question} is replaced)", DEFAULT_TEMPLATE, key="eval.template")
        system = st.text_input("System prompt (optional)", "", key="eval.system")
        c1, c2, c3, c4 = st.columns(4)
        temperature = c1.slider("Temperature", 0.0, 2.0, 0.0, 0.1, key="eval.temperature")
        max_tokens = c2.number_input(
            "Max new tokens", 8, caps.max_new_tokens, min(128, caps.max_new_tokens), key="eval.max_tokens"
        )
        seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="eval.seed")
        repeats = c4.number_input(
            "Repeats per question", 1, 10, 1, key="eval.repeats", help="More than one shows how stable answers are."
        )
        sweep_text = st.text_input(
            "Temperature sweep (optional, e.g. 0, 0.7, 1.2)",
            "",
            key="eval.sweep",
            help="Overrides the single temperature: every question runs at each value.",
        )

    config = None
    if picked is not None:
        items, set_name = picked
        wanted = st.multiselect("Categories (empty = all)", categories(items), key="eval.categories")
        items = filter_categories(items, wanted)
        try:
            config = (
                RunConfig(
                    models=tuple(models),
                    questions=tuple(items),
                    question_set=set_name,
                    categories=tuple(wanted),
                    template=template,
                    system_prompt=system,
                    options=ChatOptions(temperature=temperature, max_new_tokens=int(max_tokens), seed=int(seed)),
                    repeats=int(repeats),
                    temperatures=parse_temperatures(sweep_text),
                )
                if models
                else None
            )
        except ValueError as exc:
            st.error(f"These settings cannot run: {neutralize(exc).text}")
        if not models:
            st.info("Choose at least one model to start a run.")
        if config is not None:
            st.caption(
                f"{config.total_cells} answers: {len(config.models)} model(s) × {len(config.sweep)} "
                f"temperature(s) × {len(items)} question(s) × {config.repeats} repeat(s)."
            )
            if config.total_cells > caps.max_run_cells:
                st.error(f"That is more than {caps.max_run_cells} answers: choose fewer questions or repeats.")
                config = None

    if st.button("Start run", key="eval.start", type="primary", disabled=config is None):
        if (run_id := eval_ui.start_run(store, config, host, who)) is not None:
            st.session_state["eval.open"] = run_id
        st.rerun()

    st.header("Results")
    runs = store.list_runs(who)
    if not runs:
        st.info("No runs yet. Start one above; the leaderboard appears here.")
    else:
        if st.session_state.get("eval.open") not in {r.id for r in runs}:
            st.session_state["eval.open"] = runs[0].id
        eval_ui.results_view(store, st.session_state["eval.open"], who)

    st.header("History")
    eval_ui.history_view(store, who)
except sqlite3.Error as exc:
    eval_ui.recover(store, exc)  # a damaged or read-only file is set aside and the page reruns; else re-raised

show_code(execute_run, leaderboard)
