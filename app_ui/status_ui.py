"""The live backend status panel shown on Home."""

from __future__ import annotations

import streamlit as st

from slm_lib import settings
from slm_lib.backends.status import BackendStatus, check_backends


@st.cache_data(ttl=10, show_spinner=False, max_entries=16)
def _statuses(host: str) -> list[BackendStatus]:
    """Shared by every visitor for 10 s: a crowd arriving at once costs one check, not one each."""
    return check_backends(host)


@st.fragment
def backend_status_panel() -> None:
    """One line per backend: available or not, with a one-line fix; re-checkable without a full rerun."""
    host = st.session_state.get("ollama.host") or settings.ollama_host()
    with st.spinner("Checking backends…"):
        statuses = _statuses(host)
    for status in statuses:
        if status.available:
            st.success(f"**{status.name}**: {status.detail}", icon="✅")
            if status.models:
                st.caption("Models: " + ", ".join(status.models[:12]))
        else:
            st.warning(f"**{status.name}** is unavailable: {status.detail}", icon="⚠️")
            if status.fix:
                st.caption(f"Fix: {status.fix}")
    st.button("Check again", key="home.recheck", on_click=_statuses.clear)
