"""Variants of the real SmolLM2: perplexity finite and ordered, bytes shrink, inputs untouched."""

from __future__ import annotations

import math

import pytest
import torch

from slm_lib.smollm import compress as sc
from slm_lib.smollm import loader as smollm

SMALL = sc.CompressConfig(eval_tokens=256, window=256, calib_tokens=128, answer_tokens=4, refit_tokens=256)


def test_config_validates():
    with pytest.raises(ValueError, match="eval_tokens"):
        sc.CompressConfig(eval_tokens=1000, window=512)
    with pytest.raises(ValueError, match="window"):
        sc.CompressConfig(window=4)
    with pytest.raises(ValueError, match="refit_tokens"):
        sc.CompressConfig(refit_tokens=8)


def test_held_out_text_is_fixed_and_separate_from_calibration():
    held, calib = sc.eval_text()
    assert len(held) > 40_000 and len(calib) > 40_000
    assert held[:200] not in calib


@pytest.fixture(scope="module")
def measured():
    loaded = smollm.load()
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    ids = torch.tensor(loaded.tokenizer(sc.eval_text()[0])["input_ids"][: SMALL.eval_tokens])
    rows = {}
    for name in ("float", "int8", "int4-g32", "int4-q4_1", "2of4", "wanda-50", "mlp-75-ls"):
        fast, nbytes, nparams, _ = sc.build_fast(loaded.model, loaded.tokenizer, name, SMALL)
        rows[name] = (sc.perplexity(fast, ids, SMALL.window), nbytes, nparams, fast.macs_per_token())
    return loaded, before, rows


@pytest.mark.slow
def test_perplexities_are_finite_and_ordered(measured):
    _, _, rows = measured
    ppl = {k: v[0] for k, v in rows.items()}
    assert all(math.isfinite(p) for p in ppl.values())
    assert 3 < ppl["float"] < 40  # a working language model on English text
    assert abs(ppl["int8"] / ppl["float"] - 1) < 0.01  # int8 within 1% of float
    assert ppl["float"] < ppl["int4-g32"] < ppl["2of4"]
    assert ppl["wanda-50"] < ppl["2of4"]
    # the file's own Q4_1 grid gives the weights back (bfloat16 kernel rounding aside); a zero-point grid does not
    assert abs(ppl["int4-q4_1"] / ppl["float"] - 1) < 0.01
    assert ppl["int4-g32"] > 1.05 * ppl["int4-q4_1"]


@pytest.mark.slow
def test_stored_bytes_shrink_as_expected(measured):
    _, _, rows = measured
    nbytes = {k: v[1] for k, v in rows.items()}
    assert nbytes["float"] == 4 * rows["float"][2]
    assert nbytes["int8"] < 0.27 * nbytes["float"]
    assert nbytes["int4-g32"] < 0.72 * nbytes["int8"] and nbytes["int4-q4_1"] < 0.72 * nbytes["int8"]
    embed, norms = 49152 * 576, 61 * 576
    linear = rows["float"][2] - embed - norms
    assert nbytes["2of4"] == linear * 2 + linear // 8 + 4 * (embed + norms)  # 2 of 4 values + 2-bit positions


@pytest.mark.slow
def test_structured_variant_costs_fewer_multiply_adds(measured):
    _, _, rows = measured
    removed = 30 * 3 * 576 * (1536 - 1152)  # 25% of the 1536 channels of every MLP: gate, up and down
    assert rows["float"][3] - rows["mlp-75-ls"][3] == removed
    assert rows["mlp-75-ls"][2] == rows["float"][2] - removed  # the matrices really are smaller


@pytest.mark.slow
def test_model_is_not_modified(measured):
    loaded, before, _ = measured
    after = loaded.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.slow
def test_wanda_masks_half_of_each_row():
    loaded = smollm.load()
    calib = torch.tensor([loaded.tokenizer(sc.eval_text()[1])["input_ids"][:64]])
    norms = sc.wanda_input_norms(loaded.model, calib)
    assert len(norms) == 30 * 7 and all(bool((n >= 0).all()) for n in norms.values())
    weights = sc._pruned_weights(loaded.model, sc.VARIANTS["wanda-50"], norms)
    w = weights["model.layers.0.mlp.down_proj"]
    assert ((w == 0).sum(1) == w.shape[1] // 2).all()  # exactly 50% per output row


@pytest.mark.slow
def test_build_variant_caches_its_result():
    first = sc.build_variant("int8", config=SMALL, use_cache=False)
    assert sc.cached_result("int8", SMALL) == first
    assert sc.build_variant("int8", config=SMALL) == first  # served from the cache
    assert first.answer and first.weight_bytes > 0 and first.tokens_per_second > 0
