"""Model gallery: sourced model cards, filtered by size, memory fit, license, modality, language and more."""

import streamlit as st

from app_ui import page_header, show_code
from app_ui.catalog_ui import (
    QuerySpec,
    cards_or_fail,
    choice,
    csv_list,
    init_from_query,
    model_card_view,
    number_in,
    quant_picker,
    short_facts,
    size_badge,
    sync_query,
)
from slm_lib import catalog
from slm_lib.catalog.cards import get_card
from slm_lib.catalog.memory import CANNOT_TELL, MAY_FIT, QUANTS, TOO_BIG, estimate_need
from slm_lib.safe_text import plain

STEPS = [0.1, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 50.0, 500.0]
SORTS = {"params": "Size", "mmlu": "MMLU (5-shot)", "context": "Context", "release": "Release", "name": "Name"}


def _step(raw: str) -> float:
    return choice(STEPS)(float(raw))


SPECS = {
    "gallery.pmin": QuerySpec("pmin", STEPS[0], _step, lambda v: f"{v:g}"),
    "gallery.pmax": QuerySpec("pmax", STEPS[-1], _step, lambda v: f"{v:g}"),
    "gallery.fit_gb": QuerySpec("fit", 0.0, number_in(0.0, 10_000.0), lambda v: f"{v:g}"),
    "gallery.quant": QuerySpec("quant", "q4_K_M", choice(QUANTS), str),
    "gallery.ctx": QuerySpec("ctx", 4096, number_in(1, 1_000_000, int), str),
    "gallery.license": QuerySpec("license", [], csv_list, ",".join),
    "gallery.modality": QuerySpec("modality", [], csv_list, ",".join),
    "gallery.language": QuerySpec("lang", "Any", str, str),
    "gallery.technique": QuerySpec("tech", [], csv_list, ",".join),
    "gallery.ollama": QuerySpec("ollama", False, lambda r: r == "1", lambda v: "1" if v else "0"),
    "gallery.large": QuerySpec("large", False, lambda r: r == "1", lambda v: "1" if v else "0"),
    "gallery.sort": QuerySpec("sort", "params", choice(SORTS), str),
}

cards = cards_or_fail()

if "model" in st.query_params:  # the full card of one model; the link can be shared too
    try:
        card = get_card(cards, st.query_params["model"])
    except ValueError:
        st.error(f"No model with id “{plain(st.query_params['model'], 80)}” in the catalog.")
        card = None
    if st.button("← Back to the gallery", key="gallery.back"):
        del st.query_params["model"]
        st.rerun()
    if card is not None:
        model_card_view(card, "gallery.detail")
    st.stop()

page_header(
    "Model gallery",
    "Every number on these cards comes from the model's own card, paper or config file, with a link; "
    "what nobody published says **not published**. Filter by what fits your device: memory includes the "
    "**KV cache**, which grows with the context length; a model whose card lacks a number is kept, with what "
    f"can be computed, unless it is known not to fit. SLMs here have under {catalog.SLM_MAX_PARAMS_B:g} billion "
    "parameters in memory (every expert of a mixture of experts counts). The URL keeps your filters, so you "
    "can share the view.",
)
init_from_query(SPECS)
opts = catalog.options(cards)
for key, name in (
    ("gallery.license", "license_kinds"),
    ("gallery.modality", "modalities"),
    ("gallery.technique", "techniques"),
):
    st.session_state[key] = [v for v in st.session_state[key] if v in opts[name]]
if st.session_state["gallery.language"] not in ["Any", *opts["languages"]]:
    st.session_state["gallery.language"] = "Any"

with st.sidebar:
    st.subheader("Filters")
    lo = st.select_slider("Smallest size (billion parameters)", STEPS, key="gallery.pmin")
    hi = st.select_slider("Largest size (billion parameters)", STEPS, key="gallery.pmax")
    fit_gb = st.number_input(
        "Fits in (GB free for the model, 0 = any)",
        min_value=0.0,
        max_value=10_000.0,
        step=1.0,
        key="gallery.fit_gb",
        help="Memory left after the operating system and other apps: on an 8 GB laptop, about 6 GB. "
        "'Which SLM fits?' works the reserve out for you.",
    )
    quant = quant_picker("gallery.quant")
    ctx = int(
        st.number_input("Context you need (tokens)", min_value=1, max_value=1_000_000, step=1024, key="gallery.ctx")
    )
    kinds = st.multiselect("License", opts["license_kinds"], key="gallery.license")
    mods = st.multiselect("Accepts", opts["modalities"], key="gallery.modality")
    lang = st.selectbox("Language", ["Any", *opts["languages"]], key="gallery.language")
    techs = st.multiselect("Technique", opts["techniques"], key="gallery.technique")
    only_ollama = st.checkbox("Only models on Ollama", key="gallery.ollama")
    with_large = st.checkbox("Show models above the SLM line and reference LLMs", key="gallery.large")
    sort = st.selectbox("Sort by", list(SORTS), format_func=SORTS.get, key="gallery.sort")
sync_query(SPECS)

shown = [c for c in cards if with_large or c.is_slm]
if lo > hi:
    st.warning(f"The smallest size ({lo:g} B) is above the largest ({hi:g} B): showing nothing. Swap them.")
shown = catalog.by_params(shown, lo, max(lo, hi)) if (lo, hi) != (STEPS[0], STEPS[-1]) else shown
shown = [] if lo > hi else shown
shown = catalog.by_license_kind(shown, kinds)
shown = catalog.by_modality(shown, mods)
shown = catalog.by_language(shown, None if lang == "Any" else lang)
shown = catalog.by_technique(shown, techs)
shown = catalog.on_ollama(shown) if only_ollama else shown
needs = {c.id: estimate_need(c, quant, ctx) for c in shown}
too_big: list[str] = []
if fit_gb > 0:  # hide only what is known not to fit; a missing number keeps the card, with what is known
    too_big = [f"{c.name} ({needs[c.id].sentence()})" for c in shown if needs[c.id].status(fit_gb) == TOO_BIG]
    shown = [c for c in shown if needs[c.id].status(fit_gb) != TOO_BIG]
maybe = [c.name for c in shown if fit_gb > 0 and needs[c.id].status(fit_gb) in (MAY_FIT, CANNOT_TELL)]
shown = catalog.sort_cards(shown, sort, descending=sort in ("mmlu", "context", "release"))

st.markdown(f"**{len(shown)}** of {len(cards)} models match.")
if maybe:
    st.caption(f"May fit {fit_gb:g} GB, but a number the check needs is not published: {', '.join(maybe)}.")
if too_big:
    with st.expander(f"{len(too_big)} hidden because they are known not to fit {fit_gb:g} GB"):
        st.markdown("\n".join(f"- {line}" for line in too_big))
if not shown:
    st.info(
        "No model matches these filters. Widen the parameter range, raise the memory, or use a smaller "
        "quantization or context."
    )
for start in range(0, len(shown), 3):
    for col, card in zip(st.columns(3), shown[start : start + 3], strict=False):
        with col.container(border=True):
            st.markdown(f"**{card.name}**{size_badge(card)}")
            st.caption(f"{card.vendor} · {short_facts(card)}")
            st.markdown(needs[card.id].sentence())
            if card.ollama_pull:
                st.code(card.ollama_pull, language="bash")
            st.button(
                "Open card", key=f"gallery.open.{card.id}", on_click=lambda i=card.id: st.query_params.update(model=i)
            )

show_code(catalog.by_params, estimate_need)
