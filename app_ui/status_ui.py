"""The live backend status panel shown on Home."""

from __future__ import annotations

import streamlit as st

from app_ui import endpoints_ui
from slm_lib import settings
from slm_lib.backends.openai_endpoints import Endpoint
from slm_lib.backends.status import BackendStatus, check_backends
from slm_lib.safe_text import neutralize


@st.cache_data(ttl=10, show_spinner=False, max_entries=16)
def _statuses(host: str, endpoints: tuple[Endpoint, ...]) -> list[BackendStatus]:
    """Shared for 10 s by every visitor with the same servers: a crowd arriving at once costs one check."""
    return check_backends(host, endpoints=endpoints)


@st.fragment
def backend_status_panel() -> None:
    """One line per backend: available or not, with a one-line fix; re-checkable without a full rerun."""
    host = st.session_state.get("ollama.host") or settings.ollama_host()
    if problem := endpoints_ui.env_problem():
        st.warning(f"OpenAI-compatible servers: {neutralize(problem).text}", icon="⚠️")
    with st.spinner("Checking backends…"):
        statuses = _statuses(host, endpoints_ui.current_endpoints())
    for status in statuses:
        if status.available:
            st.success(f"**{status.name}**: {neutralize(status.detail).text}", icon="✅")
            if status.models:  # names come from the servers: untrusted
                st.caption("Models: " + neutralize(", ".join(status.models[:12])).text)
        else:
            st.warning(f"**{status.name}** is unavailable: {neutralize(status.detail).text}", icon="⚠️")
            if status.fix:
                st.caption(f"Fix: {status.fix}")
    st.button("Check again", key="home.recheck", on_click=_statuses.clear)
