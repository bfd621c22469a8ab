"""Chooser: hard filters hold, every pick leaves the stated reserve, benchmarks are never mixed, honest messages."""

import itertools

import pytest

from slm_lib.catalog.cards import get_card, load_models
from slm_lib.catalog.hardware import DEVICES, default_reserve_gb
from slm_lib.catalog.memory import estimate_memory, estimate_need
from slm_lib.catalog.recommend import USE_CASES, ChooserRequest, recommend

CARDS = load_models()
QUANTS_TRIED = ("q4_K_M", "q8_0", "fp16")


def _requests():
    for device, use, quant in itertools.product(DEVICES.values(), USE_CASES, QUANTS_TRIED):
        yield ChooserRequest(use_case=use, memory_gb=device.memory_gb, quant=quant, include_large=True)


def test_rankings_never_interleave_benchmarks():
    for req in _requests():
        rec = recommend(CARDS, req)
        use = USE_CASES[req.use_case]
        benchmarks = [g.benchmark for g in rec.groups]
        # groups follow the use case's benchmark order, each at most once, the unscored group last
        assert [b for b in benchmarks if b is not None] == [b for b in use.benchmarks if b in benchmarks]
        assert None not in benchmarks[:-1]
        for group in rec.groups:
            assert group.picks and all(p.score_name == group.benchmark for p in group.picks)
            scores = [p.score for p in group.picks]
            if group.benchmark is not None:
                assert scores == sorted(scores, reverse=True), group.title
                earlier = use.benchmarks[: use.benchmarks.index(group.benchmark)]
                assert not any(b in p.card.benchmarks for p in group.picks for b in earlier if b != "MMLU")
        assert rec.picks == tuple(p for g in rec.groups for p in g.picks)


def test_math_ranks_gsm8k_models_before_mmlu_only_ones():
    rec = recommend(CARDS, ChooserRequest(use_case="math", memory_gb=24))
    ids = [p.card.id for p in rec.picks]
    # the case: Qwen2-7B's MMLU 70.3 must not outrank Gemma 2 9B's GSM8K 68.6
    assert ids.index("gemma-2-9b") < ids.index("qwen2-7b")
    assert rec.groups[0].benchmark == "GSM8K" and rec.groups[1].title.startswith("No GSM8K or MATH score published")


def test_code_ranks_by_humaneval_first_and_says_when_scores_are_few():
    rec = recommend(CARDS, ChooserRequest(use_case="code", memory_gb=16))
    first = rec.groups[0]
    assert first.benchmark == "HumanEval" and {p.card.id for p in first.picks} >= {"phi-3.5-mini", "qwen2-7b"}
    assert all("HumanEval" in p.card.benchmarks for p in first.picks)
    warning = rec.thin_evidence()
    assert warning.startswith(
        f"Only {len(first.picks)} of the {len(rec.picks)} models that fit have a published HumanEval"
    )
    assert recommend(CARDS, ChooserRequest(use_case="chat", memory_gb=16)).thin_evidence() is None


@pytest.mark.parametrize("reserve", [None, 0.0, 3.0])
def test_every_pick_leaves_the_stated_reserve(reserve):
    for device, use in itertools.product(DEVICES.values(), USE_CASES):
        if reserve is not None and reserve >= device.memory_gb:
            continue
        req = ChooserRequest(use_case=use, memory_gb=device.memory_gb, reserve_gb=reserve, include_large=True)
        stated = default_reserve_gb(device.memory_gb) if reserve is None else reserve
        stated = max(stated, USE_CASES[use].reserve_fraction * device.memory_gb)
        rec = recommend(CARDS, req)
        assert rec.reserve_gb == pytest.approx(stated) and rec.budget_gb == pytest.approx(device.memory_gb - stated)
        assert f"minus {stated:.1f} GB kept free for the system" in rec.message()
        for pick in rec.picks:
            assert pick.need.total_gb <= device.memory_gb - stated + 1e-9, (device.id, use, pick.card.id)
            assert pick.estimate == estimate_memory(pick.card, "q4_K_M", 4096)
            assert pick.reasons[0].startswith(f"fits with {rec.budget_gb - pick.need.total_gb:.1f} GB to spare")


def test_an_8_gb_device_keeps_room_for_the_system():
    # Gemma 2 9B needs 7.6 GB at q4_K_M and 4k context: it fits 8 GB only if nothing else runs
    default = recommend(CARDS, ChooserRequest(use_case="chat", memory_gb=8))
    assert "gemma-2-9b" not in {p.card.id for p in default.picks}
    reason = next(e.reason for e in default.excluded if e.card.id == "gemma-2-9b")
    assert reason == "needs about 7.6 GB, more than the 6.4 GB left after the reserve"
    bare = recommend(CARDS, ChooserRequest(use_case="chat", memory_gb=8, reserve_gb=0))
    assert "gemma-2-9b" in {p.card.id for p in bare.picks} and "your choice" in bare.message()


def test_edge_keeps_half_the_memory_free():
    rec = recommend(CARDS, ChooserRequest(use_case="edge", memory_gb=4, context_tokens=2048))
    assert rec.reserve_gb == 2 and rec.picks and all(p.need.total_gb <= 2 for p in rec.picks)
    assert "50% of the memory" in rec.message()


@pytest.mark.parametrize(
    ("kwargs", "memory"),
    [
        ({"use_case": "chat", "context_tokens": 2048}, 1.6),
        ({"use_case": "chat", "quant": "fp16", "include_large": True}, 1.7),
        ({"use_case": "vision", "include_large": True}, 3.0),
    ],
)
def test_nothing_fits_names_the_model_with_the_smallest_need(kwargs, memory):
    rec = recommend(CARDS, ChooserRequest(memory_gb=memory, **kwargs))
    assert rec.nothing_fits
    memory_outs = [e for e in rec.excluded if e.for_memory]
    assert memory_outs and rec.closest.need.gb == min(e.need.gb for e in memory_outs)
    assert f"The closest: {rec.closest.card.name}, which needs" in rec.message()
    assert rec.message().startswith("Nothing in the catalog is known to fit")


def test_missing_numbers_are_may_fit_not_excluded():
    vision = recommend(CARDS, ChooserRequest(use_case="vision", memory_gb=16))
    possible = {e.card.id for e in vision.possible}
    assert {"phi-3.5-vision", "gemma-3-4b"} <= possible  # KV cache unpublished: neither picked nor dropped
    assert not possible & {e.card.id for e in vision.excluded}
    assert "may fit" in vision.message() and "Phi-3.5-vision-instruct (KV-cache size" in vision.message()
    for exc in vision.excluded:
        if "image" not in exc.card.modalities:
            assert exc.reason == "does not accept images"
    # ... but a model whose weights alone are too big is known not to fit
    tiny = recommend(CARDS, ChooserRequest(use_case="vision", memory_gb=3.0))
    reason = next(e.reason for e in tiny.excluded if e.card.id == "phi-3.5-vision")
    need = estimate_need(get_card(CARDS, "phi-3.5-vision"), "q4_K_M", 4096)
    assert reason == f"needs at least {need.at_least_gb:.1f} GB, more than the 1.5 GB left after the reserve"


def test_context_license_and_language_filters():
    req = ChooserRequest(
        use_case="long-docs", memory_gb=64, context_tokens=100_000, license="permissive", language="German"
    )
    rec = recommend(CARDS, req)
    assert rec.picks
    for pick in rec.picks:
        assert pick.card.context_tokens >= 100_000
        assert pick.card.license in {"Apache-2.0", "MIT"}
        assert "German" in pick.card.languages
    assert rec.groups[0].benchmark == "RULER-128K"
    rest = [p.card.context_tokens for p in rec.groups[-1].picks]
    assert rest == sorted(rest, reverse=True) and rec.groups[-1].title.endswith("(a published fact, not a score)")
    reasons = {e.card.id: e.reason for e in rec.excluded}
    assert "license" in reasons["llama-3.2-3b"]
    assert "8,192" in reasons["gemma-2-2b"] or "license" in reasons["gemma-2-2b"]


def test_larger_models_only_when_asked():
    rec = recommend(CARDS, ChooserRequest(use_case="chat", memory_gb=80))
    assert not {p.card.id for p in rec.picks} & {"gemma-2-27b", "phi-3.5-moe", "llama-3.1-405b"}
    reason = next(e.reason for e in rec.excluded if e.card.id == "phi-3.5-moe")
    assert "41.9B must be held in memory" in reason and "also consider larger models" in reason
    large = recommend(CARDS, ChooserRequest(use_case="chat", memory_gb=2000, include_large=True))
    ids = {p.card.id for p in large.picks}
    assert {"gemma-2-27b", "phi-3.5-moe", "llama-3.1-405b"} <= ids
    moe = next(p for p in large.picks if p.card.id == "phi-3.5-moe")
    assert any(r.startswith("above the SLM line:") for r in moe.reasons)
    assert next(e for e in large.excluded if e.card.id == "gpt-4").reason.startswith("weights not released")


def test_speed_reason_only_with_bandwidth():
    with_bw = recommend(CARDS, ChooserRequest(use_case="chat", memory_gb=8, bandwidth_gb_s=17.1))
    assert any("upper-bound estimate" in r for r in with_bw.picks[0].reasons)
    without = recommend(CARDS, ChooserRequest(use_case="chat", memory_gb=8))
    assert not any("tokens/s" in r for r in without.picks[0].reasons)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"memory_gb": 0}, "0 GB"),
        ({"memory_gb": -3}, "-3"),
        ({"context_tokens": 0}, "got 0"),
        ({"quant": "q3_banana"}, "q3_banana"),
        ({"use_case": "poetry"}, "poetry"),
        ({"license": "gpl"}, "gpl"),
        ({"kv_bits": 12}, "12"),
        ({"reserve_gb": 8}, "below the device's 8 GB, got 8"),
        ({"reserve_gb": -1}, "got -1"),
    ],
)
def test_impossible_requests_raise_naming_the_value(kwargs, match):
    base = {"use_case": "chat", "memory_gb": 8}
    with pytest.raises(ValueError, match=match):
        ChooserRequest(**{**base, **kwargs})


def test_inputs_not_mutated():
    before = list(CARDS)
    recommend(CARDS, ChooserRequest(use_case="code", memory_gb=24))
    assert CARDS == before and get_card(CARDS, "llama-3.2-3b").params_b == 3.21
