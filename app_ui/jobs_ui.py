"""Waiting for model work on a page: the visitor's place in line, live progress, Stop, and closed tabs.

Model work runs as queued jobs (``slm_lib.jobs``, one pool per server from ``app_ui.loaders``). A visitor over
the cap sees their place at once and as the line moves; Stop (any rerun) or closing the tab cancels the job,
queued or running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from app_ui import fail
from slm_lib.jobs import GENERATE, MEASURE, SCORE, TRAIN, JobCancelled, JobError, Place, QueueFull, WorkerCrashed

__all__ = ["WHAT", "place_text", "place_writer", "run_job", "session_gone"]

WHAT = {
    GENERATE: "on-board answers",
    "ollama": "Ollama answers",
    TRAIN: "training runs",
    MEASURE: "measurements",
    SCORE: "scoring jobs",
}  # per kind of job


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def place_text(place: Place) -> str:
    """What a waiting visitor is told, e.g. "In line: you are 3rd (2 ahead of you) …"."""
    what = WHAT.get(place.kind, "jobs")
    ahead = place.position - 1
    who = "you are next" if ahead == 0 else f"{ahead} ahead of you"
    return (
        f"⏳ **In line: you are {_ordinal(place.position)}** ({who}). {place.running} of at most {place.cap} "
        f"{what} are running on this server now; waiting {place.waited_s:.0f} s. This updates as the line moves; "
        "**Stop** leaves the line."
    )


def place_writer(slot: Any, started: str | None = None) -> Callable[[Place | None], None]:  # noqa: ANN401
    """An ``on_place`` that shows the place in ``slot`` (an ``st.empty()``), then ``started`` (or clears it)."""

    def show(place: Place | None) -> None:
        if place is not None:
            slot.info(place_text(place))
        elif started:
            slot.caption(started)
        else:
            slot.empty()

    return show


def session_gone() -> Callable[[], bool]:
    """A check that turns True once this browser session has closed (its job is then cancelled)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return lambda: False  # bare or AppTest runs: no browser to lose
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: not runtime.is_active_session(session_id)


def run_job(
    kind: str,
    target: str,
    kwargs: Mapping[str, Any],
    on_event: Callable[[Any], None] | None = None,
) -> Any:  # noqa: ANN401
    """Run ``target`` as a job of ``kind`` and return its result, showing the place in line while it waits.

    ``on_event`` gets each payload the task emits (draw progress with it). A full line or a crashed worker
    ends the page with a clear message; Stop or a closed tab cancels the job and ends this run of the page.
    The task's own exceptions (bad settings, a missing file) propagate to the page.
    """
    from app_ui.loaders import get_job_pool

    try:
        job = get_job_pool().submit(kind, target, kwargs)
    except QueueFull as exc:
        fail(
            f"{exc.waiting} {WHAT.get(kind, 'jobs')} are already waiting on this server, the most it queues.",
            "Try again in a few minutes.",
        )
    slot = st.empty()
    events = job.events(on_place=place_writer(slot), should_stop=session_gone())
    try:
        for payload in events:
            if on_event is not None:
                on_event(payload)
        result = job.result()
    except JobCancelled:
        st.stop()
    except WorkerCrashed as exc:
        fail(str(exc), "Press the button again.")
    except JobError as exc:
        fail(f"The job failed: {exc}", "Press the button again.")
    finally:
        events.close()  # left early (Stop, an error on the page): the job is cancelled, its slot freed
    slot.empty()
    return result
