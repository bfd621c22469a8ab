"""Quantization lab: bit width, scheme and granularity, one weight row up close, then the whole model."""

import streamlit as st

from app_ui import page_header, show_code
from app_ui.compress_ui import (
    custom_scheme,
    finished_runs,
    layer_names,
    quant_row,
    scheme_frame,
    scheme_table,
    teacher_or_fail,
)
from app_ui.learn_ui import guide, quiz, term_help
from app_ui.url_state import QuerySpec, choice, dump_flag, flag, init_from_query, integer, sync_query, url_notes
from slm_lib.compress.bit_packing import pack_bits
from slm_lib.compress.charts import row_figure, scheme_figure
from slm_lib.compress.quant_grid import quantize_tensor
from slm_lib.compress.quantize import int8_dynamic, quantize_model
from slm_lib.learn import load_quiz, quant_advice
from slm_lib.learn.quiz import quant_question

page_header(
    "Quantization",
    "Quantization stores each weight as a small integer code and one shared **scale** per group: "
    "`w ≈ (code − zero point) × scale`. Fewer bits mean fewer bytes but a coarser grid. **Symmetric** grids are "
    "centred on zero; **asymmetric** ones add a zero point to use every level. One scale per **tensor**, per "
    "output **channel** or per **group** of weights trades a few bytes of scales for a finer grid.",
)
teacher = teacher_or_fail()
GRANULARITY = {"tensor": "per tensor", "channel": "per output channel", "group": "group-wise"}
LAYERS = layer_names()
SPECS = {  # the URL holds every setting, so a link reproduces the lesson
    "quant.bits": QuerySpec("bits", 4, integer(2, 8)),
    "quant.symmetric": QuerySpec("symmetric", False, flag, dump_flag),
    "quant.granularity": QuerySpec("granularity", "group", choice(GRANULARITY)),
    "quant.group_size": QuerySpec("group", 32, lambda raw: choice([16, 32, 64, 128])(int(raw))),
    "quant.layer": QuerySpec("layer", LAYERS[2], choice(LAYERS)),
    "quant.row": QuerySpec("row", 0, integer(0, 4095)),
}
url_notes(init_from_query(SPECS))

left, right = st.columns(2)
bits = left.slider("Bits per weight", 2, 8, key="quant.bits", help=term_help("Bits per weight"))
symmetric = left.toggle("Symmetric (no zero point)", key="quant.symmetric", help=term_help("zero point"))
granularity = right.selectbox(
    "Granularity", list(GRANULARITY), key="quant.granularity", format_func=GRANULARITY.get, help=term_help("scale")
)
group_size = right.select_slider(
    "Group size",
    [16, 32, 64, 128],
    key="quant.group_size",
    disabled=granularity != "group",
    help=term_help("Group size"),
)
layer = left.selectbox("Weight matrix", LAYERS, key="quant.layer")
n_rows = dict(teacher.named_modules())[layer].weight.shape[0]
st.session_state["quant.row"] = min(st.session_state["quant.row"], n_rows - 1)  # a link's row may not exist here
row = right.number_input("Row (output channel)", 0, n_rows - 1, key="quant.row")
sync_query(SPECS, share="quantization")

view = quant_row(bits, symmetric, granularity, group_size, layer, int(row))
st.subheader("One weight row, before and after")
plot, hist = st.columns([3, 2])
grid_fig, err_fig = row_figure(view.original, view.quantized, view.steps, view.grids)
plot.plotly_chart(grid_fig, key="quant.row_chart")
hist.plotly_chart(err_fig, key="quant.err_chart")
grid_note = "grey lines: the grid" if view.grids else f"grid of {view.levels} levels, too fine to draw"
st.caption(
    f"{view.levels} levels per scale ({grid_note}). This matrix: {view.layer_bytes:,} bytes packed (codes + "
    f"scales + zero points) vs {view.layer_fp32_bytes:,} in fp32, {view.layer_fp32_bytes / view.layer_bytes:.1f}x "
    "smaller. Every weight moves to its nearest grid level, at most half a step away."
)

st.subheader("The whole model in each format")
st.caption(
    "Stored bytes are the real packed sizes at each width, including scales and zero points; embeddings and "
    "the output head are quantized too, biases and LayerNorms kept in fp16. Accuracy and perplexity are on "
    "held-out text; latency is measured, per generated character."
)
mine = ("quant.custom", bits, symmetric, granularity, group_size)
if "quant.measured" not in st.session_state and {("quant.table",), mine} <= finished_runs():
    st.session_state["quant.measured"] = True  # a lesson link whose table this server already has
if st.button("Measure all formats", type="primary", key="quant.measure"):
    st.session_state["quant.measured"] = True
measured = st.session_state.get("quant.measured", False)
if measured and st.button("Stop / clear", key="quant.stop", help="Interrupts the measurement."):
    st.session_state["quant.measured"] = measured = False  # an interrupted run caches nothing
custom = None
if measured:
    rows = [*scheme_table(), custom := custom_scheme(bits, symmetric, granularity, group_size)]
    label = custom.scheme.removeprefix("your setting: ")
    table, columns = scheme_frame(rows)
    st.dataframe(table, hide_index=True, column_config=columns)
    guide(
        quant_advice(
            label=f"Your setting ({label})",
            compression=custom.compression,
            accuracy=custom.accuracy,
            fp32_accuracy=rows[0].accuracy,
        )
    )
    figure = scheme_figure([r.scheme for r in rows], [r.stored_bytes for r in rows], [r.accuracy for r in rows])
    st.plotly_chart(figure, key="quant.models_chart")
    st.info(
        "Real vs simulated: fp16 and bf16 store and compute in 16 bits (a CPU without native fp16 math can be "
        "*slower*); the int8 dynamic row runs real int8 matrix kernels (torch.ao), and its file keeps torch's "
        "fp64 scales and fp32 embeddings, so it is larger than the packed int8 row. The int2-int8 packed rows "
        "are **fake-quantized: dequantized to float for compute, so no speed-up** — their size is real, their "
        "speed needs low-bit kernels (llama.cpp, torchao) to materialise."
    )

show_code(quantize_tensor, pack_bits, quantize_model, int8_dynamic)
questions = list(load_quiz("quantization"))
if custom is not None:
    questions[-1] = quant_question(label, custom.compression, bits)
quiz("quant", questions)
