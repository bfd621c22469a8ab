"""The live backend status panel shown on Home."""

from __future__ import annotations

import streamlit as st

from slm_lib import settings
from slm_lib.backends.status import check_backends


@st.fragment
def backend_status_panel() -> None:
    """One line per backend: available or not, with a one-line fix; re-checkable without a full rerun."""
    host = st.session_state.get("ollama.host") or settings.ollama_host()
    with st.spinner("Checking backends…"):
        statuses = check_backends(host)
    for status in statuses:
        if status.available:
            st.success(f"**{status.name}**: {status.detail}", icon=":material/check_circle:")
            if status.models:
                st.caption("Models: " + ", ".join(status.models[:12]))
        else:
            st.warning(f"**{status.name}** is unavailable: {status.detail}", icon=":material/warning:")
            if status.fix:
                st.caption(f"Fix: {status.fix}")
    st.button("Check again", key="home.recheck")
