"""Quantization lab: bit width, scheme and granularity, one weight row up close, then the whole model."""

import pandas as pd
import streamlit as st

from app_ui import page_header, show_code
from app_ui.compress_ui import custom_scheme, layer_names, quant_row, scheme_table, teacher_or_fail
from slm_lib.compress.bit_packing import pack_bits
from slm_lib.compress.charts import row_figure, scheme_figure
from slm_lib.compress.quant_grid import quantize_tensor
from slm_lib.compress.quantize import int8_dynamic, quantize_model

page_header(
    "Quantization",
    "Quantization stores each weight as a small integer code and one shared **scale** per group: "
    "`w ≈ (code − zero point) × scale`. Fewer bits mean fewer bytes but a coarser grid. **Symmetric** grids are "
    "centred on zero; **asymmetric** ones add a zero point to use every level. One scale per **tensor**, per "
    "output **channel** or per **group** of weights trades a few bytes of scales for a finer grid.",
)
teacher = teacher_or_fail()

left, right = st.columns(2)
bits = left.slider("Bits per weight", 2, 8, 4, key="quant.bits")
symmetric = left.toggle("Symmetric (no zero point)", value=False, key="quant.symmetric")
granularity = right.selectbox(
    "Granularity",
    ["tensor", "channel", "group"],
    index=2,
    key="quant.granularity",
    format_func={"tensor": "per tensor", "channel": "per output channel", "group": "group-wise"}.get,
)
group_size = right.select_slider(
    "Group size", [16, 32, 64, 128], value=32, key="quant.group_size", disabled=granularity != "group"
)
layer = left.selectbox("Weight matrix", layer_names(), index=2, key="quant.layer")
n_rows = dict(teacher.named_modules())[layer].weight.shape[0]
row = right.number_input("Row (output channel)", 0, n_rows - 1, 0, key="quant.row")

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
if st.button("Measure all formats", type="primary", key="quant.measure"):
    st.session_state["quant.measured"] = True
measured = st.session_state.get("quant.measured", False)
if measured and st.button("Stop / clear", key="quant.stop", help="Interrupts the measurement."):
    st.session_state["quant.measured"] = measured = False  # an interrupted run caches nothing
if measured:
    rows = [*scheme_table(), custom_scheme(bits, symmetric, granularity, group_size)]
    table = pd.DataFrame(
        {
            "format": r.scheme,
            "stored KiB": round(r.stored_bytes / 1024, 1),
            "x smaller": round(r.compression, 2),
            "accuracy": round(r.accuracy, 4),
            "perplexity": round(r.perplexity, 3),
            "latency ms/char": round(r.latency_ms, 2),
            "compute": r.compute,
        }
        for r in rows
    )
    st.dataframe(table, hide_index=True)
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
