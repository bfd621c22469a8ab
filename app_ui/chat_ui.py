"""Playground widgets: Ollama host and models, pulls, streaming answer columns, scores and charts.

Model names, answers and server messages come from outside: they reach the page only through
``slm_lib.safe_text`` (``neutralize`` for Markdown, ``plain`` for titles, ``one_line`` for table cells).
Listing a server's models runs in the background, so a silent server never holds the page.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

import pandas as pd
import plotly.express as px
import streamlit as st

from app_ui import assess_ui
from app_ui.jobs_ui import run_job
from app_ui.learn_ui import term_help
from slm_lib import settings
from slm_lib.chart_labels import label_positions
from slm_lib.chat import Backend, BackendError, ChatOptions, ChatStats, Message, ask
from slm_lib.eval import prompting
from slm_lib.eval.assess import Assessment
from slm_lib.eval.judge import Verdict, judge, judge_allowed
from slm_lib.jobs import SCORE
from slm_lib.safe_text import neutralize, one_line, plain

__all__ = [
    "SOURCE_ARTICLE_MODELS",
    "Answer",
    "charts",
    "example_picker",
    "host_field",
    "init_state",
    "installed_panel",
    "judge_answers",
    "model_choices",
    "pull_panel",
    "render_answers",
    "run_comparison",
    "stale_host_note",
    "take_partial",
]

# The source article's models (catalog ids); their cards carry the Ollama tag to pull.
SOURCE_ARTICLE_MODELS = ("llama-3.2-1b", "llama-3.2-3b", "phi-3.5-mini", "qwen2-1.5b", "gemma-2-2b", "mistral-7b")
_REDRAW_S = 0.08  # re-render a streaming column at most this often (each redraw re-sanitises the text)


@dataclass(frozen=True)
class Answer:
    """One model's answer as shown: ``complete`` False when the stream broke; never scored then."""

    model_id: str
    text: str
    stats: ChatStats | None
    complete: bool
    error: str | None = None
    truncated: bool = False

    @property
    def scorable(self) -> bool:
        return self.complete and self.error is None and bool(self.text.strip())


def host_field() -> str | None:
    """The Ollama host: a sidebar field, or the environment's only (hosted). None when invalid."""
    from slm_lib.backends.ollama_host import normalize_host

    if settings.is_hosted():
        st.sidebar.caption("Ollama: this app's own server (hosted mode: no custom host, no pulls).")
        return normalize_host(settings.ollama_host())
    if "playground.host" not in st.session_state:
        st.session_state["playground.host"] = st.session_state.get("ollama.host") or settings.ollama_host()
    raw = st.sidebar.text_input("Ollama host", key="playground.host", help="e.g. 127.0.0.1:11434 or http://host:port")
    try:
        host = normalize_host(raw)
    except ValueError as exc:
        st.sidebar.error(f"{neutralize(exc).text}. Fix: use host:port, e.g. 127.0.0.1:11434.")
        return None
    st.session_state["ollama.host"] = host  # shared with Home's status panel and the evaluation page
    return host


def _installed_rows(host: str) -> list[dict[str, object]]:
    """Installed models as table rows (runs in the background: the listing has a short timeout)."""
    from app_ui.loaders import get_ollama_backend

    return [
        {
            "model": m.name,
            "size (GB)": round(m.size_bytes / 1e9, 2),
            "quantization": one_line(m.quantization, 40),
            "family": one_line(m.family, 40),
            "parameters": one_line(m.params, 40),
        }
        for m in get_ollama_backend(host).installed()
    ]


def installed_panel(host: str | None) -> list[str]:
    """Sidebar list of installed Ollama models with size and quantization; returns their names.

    While a slow server is still being asked, the sidebar says so and the page reruns when it answers.
    """
    if host is None:
        return []
    from app_ui.loaders import get_checks
    from app_ui.status_ui import still_checking

    key = f"installed:{host}"
    probe = get_checks().get(key, lambda: _installed_rows(host), wait_s=0.5)
    rows: list[dict[str, object]] = probe.value or []
    if probe.done and probe.error:  # in plain sight, not inside a collapsed box
        st.sidebar.warning(f"{neutralize(probe.error).text}\n\nModels picked from this server stay selected.")
    with st.sidebar.expander(f"Installed on Ollama ({len(rows)})", expanded=bool(rows) or not probe.done):
        if not probe.done:
            still_checking(probe, f"Ollama at {host}")
        elif probe.error:
            st.caption("Nothing listed: the server did not answer.")
        elif not rows:
            st.info("No models installed yet: pull one below.")
        else:
            shown = [{**r, "model": one_line(r["model"], 80)} for r in rows]
            st.dataframe(pd.DataFrame(shown), hide_index=True, width="stretch")
        st.button("Refresh", key="playground.refresh", on_click=get_checks().forget, args=(key,))
    return [str(r["model"]) for r in rows]


def pull_panel(host: str | None, installed: list[str]) -> None:
    """One-click pulls of the source article's models with a streaming progress bar (not when hosted)."""
    if host is None or settings.is_hosted():
        return
    from app_ui.loaders import get_ollama_backend
    from slm_lib import catalog

    try:
        cards = {c.id: c for c in catalog.load_models()}
    except (OSError, ValueError) as exc:
        st.sidebar.warning(f"Model catalog unavailable: {exc}")
        return
    with st.sidebar.expander("Pull the source article's models"):
        for model_id in SOURCE_ARTICLE_MODELS:
            card = cards.get(model_id)
            if card is None or not card.ollama_tag:
                continue
            tag = card.ollama_tag
            size = f" ({card.ollama_size_gb:g} GB)" if card.ollama_size_gb else ""
            if tag in installed or f"{tag}:latest" in installed:
                st.caption(f":material/check: {card.name}: `{tag}` installed")
            elif st.button(f"Pull {tag}{size}", key=f"playground.pull.{tag}"):
                _pull(get_ollama_backend(host), tag)


def _pull(backend: Backend, tag: str) -> None:
    from app_ui.loaders import get_checks

    bar = st.progress(0.0, text=f"Pulling {tag}…")
    try:
        for line in backend.pull(tag):  # type: ignore[attr-defined]
            status = plain(line.status, 80)  # the server's words
            if line.fraction is not None:
                done = f"{line.completed / 1e9:.2f} / {line.total / 1e9:.2f} GB"
                bar.progress(line.fraction, text=f"{status}: {done}")
            else:
                bar.progress(1.0 if line.status == "success" else 0.0, text=status)
    except (BackendError, ValueError) as exc:
        st.error(neutralize(exc).text)
        return
    get_checks().forget()
    st.success(f"{tag} is installed.")


def model_choices(host: str | None, installed: list[str]) -> dict[str, str]:
    """Model ids (``backend:name``) to labels: embedded models, installed Ollama models, then the models of
    the OpenAI-compatible endpoints (``openai:<endpoint>/<model>``).

    Models already selected that no server lists now stay, labelled "not available now", so a server that
    stops answering never clears the selection silently.
    """
    choices: dict[str, str] = {}
    try:
        from app_ui.loaders import get_embedded_backend

        for name in get_embedded_backend().list_models():
            choices[f"embedded:{name}"] = f"{name} (on board)"
    except (ImportError, BackendError, OSError) as exc:
        st.caption(f"Embedded models unavailable: {neutralize(exc).text}")
    for name in installed:
        choices[f"ollama:{name}"] = f"{one_line(name, 80)} (Ollama)"  # a label: shown as plain text
    from app_ui import endpoints_ui

    ids, notes = endpoints_ui.endpoint_models(endpoints_ui.current_endpoints())
    choices.update({model_id: endpoints_ui.label(model_id) for model_id in ids})
    for note in notes:
        st.caption(f"OpenAI-compatible server unavailable: {neutralize(note).text}")
    for model_id in st.session_state.get("playground.models", []):
        if model_id not in choices:
            name = model_id.partition(":")[2]
            choices[model_id] = f"{one_line(name, 80)} (not available now)"
    return choices


def _backend_for(model_id: str, host: str | None) -> tuple[Backend, str]:
    kind, _, name = model_id.partition(":")
    if kind == "embedded":
        from app_ui.loaders import get_embedded_backend  # the embedded backend's loader (its own module)

        return get_embedded_backend(), name
    if kind == "openai":
        from app_ui import endpoints_ui

        return endpoints_ui.router(), name
    from app_ui.loaders import get_ollama_backend

    if host is None:
        raise BackendError("The Ollama host is invalid: fix it in the sidebar.")
    return get_ollama_backend(host), name


def _stream_into(
    slot: st.delta_generator.DeltaGenerator,
    model_id: str,
    host: str | None,
    messages: list[Message],
    options: ChatOptions,
) -> Answer:
    """Stream one answer into ``slot``, re-rendering sanitised Markdown; stops at the length cap."""
    try:
        backend, name = _backend_for(model_id, host)
    except (BackendError, ImportError, OSError) as exc:
        return Answer(model_id, "", None, False, str(exc))
    next_at = 0.0

    def redraw(text: str) -> None:
        nonlocal next_at
        if time.monotonic() >= next_at:
            started = time.monotonic()
            slot.markdown(neutralize(text).text + " ▌")
            # A long answer costs more to re-sanitise: redraw less often, so drawing never dominates.
            next_at = time.monotonic() + max(_REDRAW_S, 4 * (time.monotonic() - started))

    from app_ui import jobs_ui

    slot.caption("Waiting for the first token…")
    on_place = jobs_ui.place_writer(slot, started="Waiting for the first token…")  # over the cap: place in line
    stop = jobs_ui.session_gone()  # a closed tab frees its place or its running answer
    result = ask(backend, name, messages, options, on_text=redraw, on_place=on_place, should_stop=stop)
    stats = result.stats if result.complete else None
    return Answer(model_id, result.text, stats, result.complete, result.error, result.truncated)


def run_comparison(
    models: list[str],
    host: str | None,
    messages: list[Message],
    options: ChatOptions,
    labels: dict[str, str],
    keep: dict[str, object] | None = None,
) -> tuple[Answer, ...]:
    """Ask every model in turn (one at a time, so timings do not fight for the CPU), streaming side by side.

    With ``keep`` (the result being built), each finished answer is also saved as ``playground.partial``, so
    Stop (or any interruption) keeps the answers that were done; see :func:`take_partial`.
    """
    columns = st.columns(len(models))
    answers: list[Answer] = []
    for col, model_id in zip(columns, models, strict=True):
        with col:
            st.markdown(f"**{plain(labels.get(model_id, model_id))}**")
            answer = _stream_into(st.empty(), model_id, host, messages, options)
        answers.append(answer)
        if keep is not None:
            st.session_state["playground.partial"] = {**keep, "answers": tuple(answers), "asked": len(models)}
    return tuple(answers)


def stale_host_note(then: object, now: str | None) -> str:
    """Say that the answers on screen came from another Ollama server (hosted: without naming addresses)."""
    if settings.is_hosted():
        return "These answers came from an earlier server setting. Press **Compare** to ask again."
    old, new = neutralize(str(then)).text, neutralize(now or "an invalid host").text
    return (
        f"These answers came from the Ollama server at `{old}`; the host is now `{new}`. Press **Compare** to ask it."
    )


def take_partial() -> dict[str, object] | None:
    """The answers an interrupted comparison finished (once), marked with how many of how many were done."""
    partial = st.session_state.pop("playground.partial", None)
    if partial is None:
        return None
    st.session_state["playground.verdicts"] = {}  # verdicts belong to the answers they judged
    done, asked = len(partial["answers"]), partial.pop("asked")
    if done < asked:
        partial["stopped"] = f"Stopped after {done} of {asked} answers: the finished ones are kept below."
    return partial


@st.cache_data(show_spinner="Comparing answers with each other…", max_entries=64)
def _pairwise(answers: tuple[str, ...]) -> list[list[float]]:
    return run_job(SCORE, "slm_lib.eval.tasks:pairwise_task", {"answers": list(answers)})


_SOURCES = {  # ChatStats.source: where an OpenAI-compatible server's numbers come from
    "usage": "token counts from the server's usage report, times measured by the app",
    "timings": "counts and speed from the server's own timings, TTFT measured by the app",
    "estimated": "the server sent no usage: tokens counted from streamed chunks (≈1 each), times measured by the app",
}


def _stats_line(stats: ChatStats) -> str:  # the terms are explained by the caption's hover help
    def v(name: str, fmt: str) -> str:  # a value the server sent unusable reads "?"
        return format(getattr(stats, name), fmt) if stats.known(name) else "?"

    line = (
        f"**{v('tokens_per_second', '.1f')} tokens/s** · TTFT {v('ttft_seconds', '.2f')} s · "
        f"total {v('total_seconds', '.2f')} s · load {v('load_seconds', '.2f')} s · "
        f"{v('prompt_tokens', 'd')} prompt → {v('completion_tokens', 'd')} answer tokens"
    )
    return f"{line}  \n({_SOURCES[stats.source]})" if stats.source in _SOURCES else line


def _chart_label(label: str) -> str:
    """A model label for Plotly, which reads ``<a>``, ``<b>`` and ``<br>`` in text: entities show them literally."""
    return html.escape(one_line(label, 60), quote=False)


def render_answers(
    answers: tuple[Answer, ...],
    reference: str,
    labels: dict[str, str],
    question: str = "",
    verdicts: dict[str, Verdict] | None = None,
) -> dict[str, float]:
    """Side-by-side columns with text, stats and (with a reference) both scores, flags and highlights;
    a judge's verdict, if any, beside them. Returns the similarity scores."""
    scored = [a for a in answers if a.scorable]
    found: dict[str, Assessment] = {}
    if reference.strip() and scored:
        values = assess_ui.assessments(tuple(a.text for a in scored), (reference,), question)
        found = {a.model_id: s for a, s in zip(scored, values, strict=True)}
    for col, answer in zip(st.columns(len(answers)), answers, strict=True):
        with col:
            st.markdown(f"**{plain(labels.get(answer.model_id, answer.model_id))}**")
            _answer_body(answer, found.get(answer.model_id), bool(reference.strip()))
            if verdicts and answer.model_id in verdicts:
                assess_ui.render_verdict(verdicts[answer.model_id])
    for answer in answers:
        with st.expander(f"Full width: {plain(labels.get(answer.model_id, answer.model_id))}"):
            st.markdown(neutralize(answer.text).text or "*(no text)*")
    return {k: a.similarity for k, a in found.items()}


def _answer_body(answer: Answer, assessment: Assessment | None, has_reference: bool) -> None:
    if answer.error:
        st.error(neutralize(answer.error).text)  # server error text is untrusted too
    safe = neutralize(answer.text)
    st.markdown(safe.text or "*(no text)*")
    if safe.truncated or answer.truncated:
        st.caption("Answer truncated at the length cap.")
    if safe.links_removed or safe.images_converted:
        changed = f"{safe.links_removed} unsafe link(s) removed, {safe.images_converted} image(s) not loaded"
        st.caption(f"Made safe: {changed}.")
    if not answer.complete:
        st.warning("Incomplete answer: not scored.")
    elif answer.stats is not None:
        st.caption(_stats_line(answer.stats), help=term_help("tokens/s", "TTFT", "token"))
    if assessment is not None:
        assess_ui.render_assessment(assessment, answer.text, key=answer.model_id)
    elif has_reference and answer.complete:
        st.caption("Empty answer: not scored.")


def judge_answers(
    judge_id: str, answers: tuple[Answer, ...], question: str, reference: str, host: str | None
) -> dict[str, Verdict]:
    """The chosen judge's verdict on every complete answer (one at a time; greedy, short replies)."""
    if not judge_allowed(judge_id):
        return {}
    backend, name = _backend_for(judge_id, host)
    return {
        a.model_id: judge(backend, name, question, (reference,), a.text)
        for a in answers
        if a.scorable and reference.strip()
    }


def charts(answers: tuple[Answer, ...], scores: dict[str, float], labels: dict[str, str]) -> None:
    """Pairwise answer similarity heatmap and the quality-vs-speed scatter."""
    done = [a for a in answers if a.scorable]
    if len(done) >= 2:
        names = [_chart_label(labels.get(a.model_id, a.model_id)) for a in done]
        matrix = _pairwise(tuple(a.text for a in done))
        fig = px.imshow(matrix, x=names, y=names, zmin=-1, zmax=1, text_auto=".2f", color_continuous_scale="RdBu")
        fig.update_layout(title="How similar are the answers to each other? (cosine)", height=380)
        st.plotly_chart(fig, key="playground.heatmap")
    points = [a for a in done if a.model_id in scores and a.stats is not None and a.stats.known("tokens_per_second")]
    if points:
        frame = pd.DataFrame(
            {
                "model": [_chart_label(labels.get(a.model_id, a.model_id)) for a in points],
                "tokens per second": [a.stats.tokens_per_second for a in points if a.stats],
                "similarity to reference": [scores[a.model_id] for a in points],
            }
        )
        fig = px.scatter(
            frame,
            x="tokens per second",
            y="similarity to reference",
            text="model",
            title="Quality vs speed: up and to the right is better",
        )
        spots = label_positions(
            list(frame["tokens per second"]), list(frame["similarity to reference"]), frame["model"]
        )
        fig.update_traces(textposition=spots, marker={"size": 12})
        st.plotly_chart(fig, key="playground.scatter")


def _apply_example() -> None:
    title = st.session_state["playground.example"]
    for example in prompting.EXAMPLES:
        if example.title == title:
            st.session_state["playground.question"] = example.question
            st.session_state["playground.reference"] = example.reference


def init_state() -> None:
    """Defaults once per session: the source article's template and its hypotenuse question."""
    first = prompting.EXAMPLES[0]
    defaults = {
        "playground.example": first.title,
        "playground.question": first.question,
        "playground.reference": first.reference,
        "playground.template": prompting.DEFAULT_TEMPLATE,
        "playground.system": "",
    }
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


def example_picker() -> None:
    """Built-in example questions (with references); picking one fills the question and reference."""
    titles = ["(your own question)"] + [e.title for e in prompting.EXAMPLES]
    st.selectbox("Example question", titles, key="playground.example", on_change=_apply_example)
