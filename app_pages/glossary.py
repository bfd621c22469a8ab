"""Glossary: every term the app uses in plain words, searchable, each linkable as ``glossary?term=<id>``."""

import streamlit as st

from app_ui import page_header
from app_ui.learn_ui import glossary_link
from app_ui.url_state import QuerySpec, init_from_query, sync_query, url_notes
from slm_lib.learn.glossary import GlossaryError, get_term, load_glossary, search

page_header(
    "Glossary",
    "Every term this app uses, in plain words: one sentence first, then a little more, with a source where "
    "one helps. Hover the **?** next to a label or a table header anywhere in the app for the same one-line "
    "definition. Each term has its own link, e.g. `glossary?term=kv-cache`.",
)
try:
    glossary = load_glossary()
except (GlossaryError, OSError) as exc:
    st.error(f"The glossary could not be loaded: {exc}\n\n**Fix:** restore `assets/glossary.json` from the repository.")
    st.stop()


def _known(raw: str) -> str:
    try:
        return get_term(raw).id
    except KeyError:
        raise ValueError("is not a term in this glossary") from None


SPECS = {
    "glossary.term": QuerySpec("term", "", _known),
    "glossary.q": QuerySpec("q", "", lambda raw: raw.strip()[:60]),
}
url_notes(init_from_query(SPECS))
query = st.text_input("Search the glossary", key="glossary.q", placeholder="e.g. cache, perplexity, 2:4", max_chars=60)
found = search(query)
selected = st.session_state["glossary.term"]
if selected and all(t.id != selected for t in found):
    found = (get_term(selected), *found)  # a linked term stays visible whatever the search says
st.caption(f"{len(found)} of {len(glossary.terms)} terms" + (f" match “{query}”." if query.strip() else "."))
if not found:
    st.info("No term matches. Try a shorter word, or clear the search.")

for term in sorted(found, key=lambda t: t.id != selected):  # the linked term first, open
    with st.expander(f"**{term.name}**: {term.short}", expanded=term.id == selected):
        st.markdown(term.note)
        if term.aliases:
            st.caption("Also written: " + ", ".join(f"`{a}`" for a in term.aliases))
        if term.source:
            st.markdown(f"Source: [{term.source.split('/')[2]}]({term.source})")
        if term.see_also:
            related = [get_term(i) for i in term.see_also]
            st.markdown("See also: " + " · ".join(f"[{t.name}]({glossary_link(t)})" for t in related))
        st.button(
            "Link to this term",
            key=f"glossary.link.{term.id}",
            on_click=lambda i=term.id: st.session_state.update({"glossary.term": i}),
            help="Puts this term in the address bar, ready to copy and share.",
        )
sync_query(SPECS)
