"""Which SLM fits? A ranked recommendation for a use case, device, context, license and language."""

import pandas as pd
import streamlit as st

from app_ui import page_header, show_code
from app_ui.catalog_ui import cards_or_fail, device_picker, quant_picker, reserve_picker, size_badge
from slm_lib import catalog
from slm_lib.catalog.hardware import RESERVE_RULE
from slm_lib.catalog.memory import estimate_need
from slm_lib.catalog.recommend import LICENSES, USE_CASES, ChooserRequest, recommend

page_header(
    "Which SLM fits?",
    "Say what you need; the app keeps only the models that **fit your device's memory at the chosen "
    "quantization, including the KV cache for your context length**, after keeping some memory free for "
    f"the operating system and other apps ({RESERVE_RULE}, unless you change it). It drops models that "
    "cannot take your input, license or language, then ranks the rest by the published score that matters "
    "for your use case, one benchmark at a time. Speeds are upper-bound estimates from memory bandwidth, "
    "not measurements.",
)
cards = cards_or_fail()
opts = catalog.options(cards)

left, right = st.columns(2)
with left:
    use = st.selectbox("Use case", list(USE_CASES), key="chooser.use_case", format_func=lambda u: USE_CASES[u].label)
    st.caption(f"Ranking: {USE_CASES[use].why}.")
    device = device_picker("chooser.device")
    reserve = reserve_picker("chooser.reserve", device.memory_gb) if device is not None else None
    context = st.number_input(
        "Context length you need (tokens)",
        min_value=0,
        max_value=10_000_000,
        value=4096,
        step=1024,
        key="chooser.context",
    )
with right:
    lic = st.radio("License", list(LICENSES), format_func=LICENSES.get, key="chooser.license")
    language = st.selectbox("Language", ["Any", *opts["languages"]], key="chooser.language")
    quant = quant_picker("chooser.quant")
    larger = st.checkbox(
        f"Also consider larger models (above the {catalog.SLM_MAX_PARAMS_B:g}B SLM line, and reference LLMs)",
        key="chooser.larger",
    )

if device is None:
    st.stop()  # device_picker already said what is wrong
try:
    request = ChooserRequest(
        use_case=use,
        memory_gb=device.memory_gb,
        context_tokens=int(context),
        license=lic,
        language=None if language == "Any" else language,
        quant=quant,
        bandwidth_gb_s=device.bandwidth_gb_s,
        include_large=larger,
        reserve_gb=reserve,
    )
except ValueError as exc:
    st.error(
        f"{exc}. Fix: enter a context length of at least 1 token (a short chat needs about 2,048) and keep "
        "less memory free than the device has."
    )
    st.stop()

result = recommend(cards, request)
(st.warning if result.nothing_fits else st.success)(result.message())
if result.thin_evidence():
    st.info(result.thin_evidence())
shown = 0
for group in result.groups:
    st.subheader(group.title)
    for pick in group.picks:
        shown += 1
        with st.container(border=True):
            st.markdown(f"**{shown}. {pick.card.name}** · {pick.card.vendor}{size_badge(pick.card)}")
            st.markdown("\n".join(f"- {reason}" for reason in pick.reasons))
            if pick.card.ollama_pull:
                st.code(pick.card.ollama_pull, language="bash")

if result.possible:
    with st.expander(f"{len(result.possible)} more may fit: a number the check needs is not published"):
        rows = [{"model": e.card.name, "what is known": e.reason} for e in result.possible]
        st.dataframe(pd.DataFrame(rows, columns=["model", "what is known"]), hide_index=True, key="chooser.possible")
with st.expander(f"Why the other {len(result.excluded)} models are not listed"):
    rows = [{"model": e.card.name, "reason": e.reason} for e in result.excluded]
    st.dataframe(pd.DataFrame(rows, columns=["model", "reason"]), hide_index=True, key="chooser.excluded")
st.caption(
    "Benchmarks come from each model's card; harnesses differ, so treat close scores as ties, and never compare "
    "scores across groups. Memory = weights + KV cache + a 10% allowance (assumed)."
)
show_code(recommend, estimate_need)
