"""The live backend status panel shown on Home, and the "still checking" note every page uses.

Slow checks (anything that waits on a server) run in the background (``loaders.get_checks``):
a page renders at once, says what it is still checking, and reruns itself when the answer is in.
"""

from __future__ import annotations

import streamlit as st

from app_ui import endpoints_ui
from app_ui.loaders import get_checks
from slm_lib import settings
from slm_lib.backends.status import BackendStatus, Probe, embedded_status, ollama_status, openai_status
from slm_lib.safe_text import neutralize, plain

__all__ = ["backend_status_panel", "ollama_status_probe", "still_checking"]

_POLL_S = 1.0


def _poll(key: str) -> None:
    """Reruns the page once the background check ``key`` has its answer."""
    probe = get_checks().peek(key)
    if probe is None or probe.done:
        st.rerun(scope="app")


def still_checking(probe: Probe, what: str, where: st.delta_generator.DeltaGenerator | None = None) -> None:
    """Say that ``what`` is still being checked, and rerun the page when the answer arrives."""
    (where or st).info(f"Still checking {plain(what)}… this updates by itself when it answers.", icon="⏳")
    st.fragment(_poll, run_every=_POLL_S)(probe.key)


def ollama_status_probe(host: str) -> Probe:
    """Ollama's status at ``host``, checked in the background (its listing is bounded by a short timeout)."""
    return get_checks().get(f"status:{host}", lambda: ollama_status(host), wait_s=0.3)


def _show(status: BackendStatus) -> None:
    if status.available:
        st.success(f"**{plain(status.name)}**: {neutralize(status.detail).text}", icon="✅")
        if status.models:
            st.caption("Models: " + ", ".join(plain(m, 80) for m in status.models[:12]))
    else:
        st.warning(f"**{plain(status.name)}** is unavailable: {neutralize(status.detail).text}", icon="⚠️")
        if status.fix:
            st.caption(f"Fix: {status.fix}")


def backend_status_panel() -> None:
    """One line per backend: available or not, with a one-line fix; "Check again" asks afresh."""
    host = st.session_state.get("ollama.host") or settings.ollama_host()
    try:
        _show(embedded_status())
    except OSError as exc:  # e.g. an unreadable cache folder: report it, never break Home
        _show(BackendStatus("Embedded SmolLM2-135M-Instruct", False, f"the check failed ({exc})"))
    keys = [f"status:{host}"]
    probes = [(f"Ollama at {host}", "Ollama", ollama_status_probe(host))]
    if problem := endpoints_ui.env_problem():
        st.warning(f"OpenAI-compatible servers: {neutralize(problem).text}", icon="⚠️")
    for endpoint in endpoints_ui.current_endpoints():
        key = f"status:openai:{endpoint.name}:{endpoint.base_url}:{hash(endpoint.api_key)}"
        keys.append(key)
        probe = get_checks().get(key, lambda e=endpoint: openai_status(e), wait_s=0.3)
        probes.append((f"the server '{endpoint.name}'", f"OpenAI-compatible '{endpoint.name}'", probe))
    for what, name, probe in probes:
        if not probe.done:
            still_checking(probe, what)
        elif probe.error is not None:
            _show(BackendStatus(name, False, probe.error))
        else:
            _show(probe.value)
    st.button("Check again", key="home.recheck", on_click=_forget, args=(tuple(keys),))


def _forget(keys: tuple[str, ...]) -> None:
    for key in keys:
        get_checks().forget(key)
