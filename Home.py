"""SLM Explorer: entrypoint and router. Run with ``streamlit run Home.py``."""

from __future__ import annotations

import streamlit as st

from app_ui import PAGES
from app_ui.url_state import keep_widget_state

st.set_page_config(page_title="SLM Explorer", page_icon=":material/biotech:", layout="wide")

sections: dict[str, list[st.Page]] = {}
for spec in PAGES:
    page = st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default)
    sections.setdefault(spec.section, []).append(page)

keep_widget_state()  # the evaluation form survives a switch to another page and back
st.navigation(sections).run()
