"""SLM Explorer: entrypoint and router. Run with ``streamlit run Home.py``."""

from __future__ import annotations

import streamlit as st

from app_ui import PAGES

st.set_page_config(page_title="SLM Explorer", page_icon=":material/biotech:", layout="wide")

pages = {spec.path: st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default) for spec in PAGES}
current = st.navigation(list(pages.values()), position="hidden")

# Our own sectioned menu: Streamlit's automatic one would list the pages/ files while a long run is under way.
with st.sidebar:
    section = None
    for spec in PAGES:
        if spec.section != section:
            section = spec.section
            st.caption(section.upper())
        st.page_link(pages[spec.path], label=spec.title, icon=spec.icon)

current.run()
