"""Guidance sentences: chosen by stated thresholds from real results; broken answers recognised."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from slm_lib.compress.distill import DistillConfig, DistillResult, StudentReport
from slm_lib.compress.prune import PruneConfig, prune
from slm_lib.learn import guidance
from slm_lib.smollm.compress import VariantResult
from slm_lib.tiny import load_teacher

# A recorded bench.embedded run (before the int4 kernels), kept here so these checks do not move with new runs.
BENCH = Path(__file__).resolve().parents[1] / "data" / "embedded_bench_run.json"


def _report(accuracy: float, ms: float, params: int = 373_863) -> StudentReport:
    return StudentReport(params, params * 4, accuracy, 3.9, ms, accuracy / 0.67)


def _distill(distilled: float, baseline: float, d_ms: float = 0.9, b_ms: float = 0.9, **kw) -> DistillResult:
    return DistillResult(
        config=DistillConfig(),
        teacher=_report(0.67, 1.5, 836_199),
        distilled=_report(distilled, d_ms),
        baseline=_report(baseline, b_ms),
        initial_accuracy=0.56,
        distilled_model=None,
        baseline_model=None,
        distilled_ce=(),
        baseline_ce=(),
        val_curve=(),
        steps_done=150,
        stopped=kw.get("stopped", False),
        distilled_diverged=kw.get("diverged", False),
        baseline_diverged=False,
        transfer_windows=780,
        seconds=30.0,
    )


def test_distill_verdict_reads_the_gap():
    assert "worth +2.7 points" in guidance.distill_verdict(_distill(0.6376, 0.6102))
    assert "all the training text" in guidance.distill_verdict(_distill(0.6376, 0.6102))
    assert "Hard labels won by 1.5 points" in guidance.distill_verdict(_distill(0.60, 0.615))
    assert "A tie" in guidance.distill_verdict(_distill(0.610, 0.612))
    assert "diverged" in guidance.distill_verdict(_distill(0.6, 0.6, diverged=True))
    assert "Stopped" in guidance.distill_verdict(_distill(0.6, 0.6, stopped=True))


def test_latency_note_calls_a_gap_between_same_size_students_noise():
    note = guidance.latency_note(_distill(0.6, 0.6, d_ms=0.93, b_ms=0.69))
    assert "0.93 vs 0.69 ms" in note and "noise" in note
    assert guidance.latency_note(_distill(0.6, 0.6, d_ms=0.93, b_ms=0.90)) is None


def test_samples_note_quotes_size_and_accuracy():
    note = guidance.samples_note(836_199, 0.6696)
    assert "0.8M parameters" in note and "67%" in note


@pytest.mark.parametrize("sparsity", [0.1, 0.3, 0.5, 0.7])
def test_structured_rounding_matches_what_prune_really_removed(one_thread, sparsity):
    teacher = load_teacher()
    cfg = teacher.config
    achieved = prune(teacher, PruneConfig("structured", sparsity)).sparsity
    note = guidance.structured_rounding(sparsity, cfg.n_embd, cfg.n_head, cfg.mlp_hidden)
    if round(100 * achieved) == round(100 * sparsity):
        assert note is None
    else:
        assert note.endswith(f"that is {achieved:.0%} of the pruned layers.")


def test_prune_advice_picks_the_next_step():
    base = {"method": "magnitude", "sparsity": 0.5, "teacher_accuracy": 0.67}
    assert "raise the sparsity" in guidance.prune_advice(**base, accuracy=0.668, recover_steps=0)
    assert "turn on the recovery" in guidance.prune_advice(**base, accuracy=0.61, recover_steps=0)
    assert "more steps" in guidance.prune_advice(**base, accuracy=0.64, recover_steps=30)
    structured = {**base, "method": "structured"}
    assert "whole units" in guidance.prune_advice(**structured, accuracy=0.64, recover_steps=30)


def test_quant_advice_scales_with_the_loss():
    kw = {"label": "int4 g32", "compression": 6.78, "fp32_accuracy": 0.6648}
    assert "practically the same" in guidance.quant_advice(**kw, accuracy=0.6647)
    assert "fair trade" in guidance.quant_advice(**kw, accuracy=0.6580)
    assert "too coarse" in guidance.quant_advice(**kw, accuracy=0.4720)


def _bench_variants() -> dict[str, VariantResult]:
    rows = json.loads(BENCH.read_text())["variants"]
    return {
        r["variant"]: VariantResult(
            name=r["variant"],
            label=r["variant"],
            perplexity=r["ppl"],
            eval_tokens=2048,
            weight_bytes=int(r["weight_mb"] * 1e6),
            bits_per_weight=r["bits_per_weight"],
            tokens_per_second=r["tok_s"],
            ttft_seconds=r["ttft_s"],
            build_seconds=1.0,
            answer=r["answer"],
            sparsity=0.0 if r["variant"] in ("float", "int8", "int4-g32") else 0.5,
            runtime=r["runtime"],
        )
        for r in rows
    }


def test_broken_answers_from_the_benchmark_run_are_recognised():
    v = _bench_variants()
    assert guidance.answer_problem(v["float"].answer) is None
    assert guidance.answer_problem(v["int8"].answer) is None
    assert guidance.answer_problem(v["int4-g32"].answer).startswith("loops")  # "*  1. 1.\n*  2. 2. ..."
    assert guidance.answer_problem(v["2of4"].answer).startswith("loops")  # "a normal and a normal and ..."
    assert guidance.answer_problem(v["wanda-2of4"].answer).startswith("loops")
    assert guidance.answer_problem(v["pruned-50"].answer) == "is mostly blank characters"
    assert guidance.answer_problem("") == "is empty"
    note = guidance.answer_note(v["int4-g32"], v["float"])
    assert note.startswith("int4-g32's answer loops") and "(perplexity +32%)" in note
    assert guidance.answer_note(v["float"], v["float"]) is None


def test_variant_advice_against_the_float_baseline():
    v = _bench_variants()
    assert "lossless" in guidance.variant_advice(v["int8"], v["float"])
    assert "Noticeably worse (+32%)" in guidance.variant_advice(v["int4-g32"], v["float"])
    assert "Wanda keeps far more" in guidance.variant_advice(v["pruned-50"], v["float"])
    assert "Measure float" in guidance.variant_advice(v["int8"], None)
    assert "baseline" in guidance.variant_advice(replace(v["float"]), v["float"])
