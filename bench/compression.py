"""Compression lab benchmark: the lab pages' defaults, run headless, measured.

One function per section returns plain JSON data; ``SECTIONS`` maps each result key to its function, so a
section is added by writing ``run_<name>()`` and registering it there. Accuracy and perplexity are scored on
the lab's one evaluation split (``LAB_EVAL``: 128 windows spread over the held-out text), the same as the
pages, so a number here is the number a page shows.

Usage: ``python -m bench.compression`` (every section) or ``python -m bench.compression --only teacher
distillation``. Writes ``bench/results/compression.json`` (sections not rerun are kept from the last file)
and prints one table per section.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch

from slm_lib.compress.distill import DistillConfig, distill
from slm_lib.tiny import LAB_EVAL, evaluate, load_teacher, param_count

RESULTS = Path(__file__).resolve().parent / "results" / "compression.json"

# Targets from the compression-lab issue, checked and printed (never used to tune anything).
DISTILL_TARGETS = {"max_student_share": 0.50, "min_retained": 0.97, "max_seconds": 60.0}


def run_teacher() -> dict:
    teacher = load_teacher()
    scores = evaluate(teacher, "val", LAB_EVAL)
    return {
        "params": param_count(teacher),
        "accuracy": scores.accuracy,
        "perplexity": scores.perplexity,
        "n_tokens": scores.n_tokens,
    }


def run_distillation() -> dict:
    """The distillation page's defaults: one distilled and one hard-label student, same init/data/steps."""
    config = DistillConfig()
    start = time.perf_counter()
    result = distill(load_teacher(), config, eval_config=LAB_EVAL)
    wall = time.perf_counter() - start
    share = result.distilled.params / result.teacher.params
    return {
        "teacher_params": result.teacher.params,
        "student_params": result.distilled.params,
        "accuracy": result.distilled.accuracy,
        "baseline_accuracy": result.baseline.accuracy,
        "retained": result.distilled.retained,
        "seconds": wall,
        "student_share": share,
        "teacher_accuracy": result.teacher.accuracy,
        "baseline_retained": result.baseline.retained,
        "initial_accuracy": result.initial_accuracy,
        "perplexity": result.distilled.perplexity,
        "baseline_perplexity": result.baseline.perplexity,
        "ms_per_token": result.distilled.ms_per_token,
        "teacher_ms_per_token": result.teacher.ms_per_token,
        "training_seconds_in_run": result.seconds,
        "config": {
            k: getattr(config, k)
            for k in (
                "preset",
                "temperature",
                "alpha",
                "hidden_weight",
                "steps",
                "lr",
                "batch",
                "transfer_chars",
                "seed",
            )
        },
        "targets_met": {
            "student_at_most_half": share <= DISTILL_TARGETS["max_student_share"],
            "retained_at_least_97pct": result.distilled.retained >= DISTILL_TARGETS["min_retained"],
            "within_60s": wall <= DISTILL_TARGETS["max_seconds"],
            "above_hard_label_baseline": result.distilled.accuracy > result.baseline.accuracy,
        },
    }


# ------------------------------------------------------------------------------------ pruning, quantization
PRUNE_RECOVER_STEPS = 30  # the pruning page's default recovery fine-tune
PRUNE_RECOVER_SECONDS = 20.0  # the budget for recovery
PRUNE_RUNS = (  # (method, sparsity, recover?)
    ("magnitude", 0.5, False),
    ("magnitude", 0.5, True),
    ("global", 0.5, False),
    ("global", 0.5, True),
    ("2:4", 0.5, False),
    ("2:4", 0.5, True),
    ("structured", 0.3, False),
    ("structured", 0.3, True),
)


def _latencies(models: dict[str, torch.nn.Module], rounds: int = 3) -> dict[str, float]:
    """Median ms per character for each model, measured round-robin so load changes hit all of them alike."""
    from statistics import median

    from slm_lib.tiny import measure_latency

    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            times[name].append(measure_latency(model).ms_per_token)
    return {name: median(values) for name, values in times.items()}


def run_pruning() -> list[dict]:
    """The pruning page's methods at 50% (structured 30%), each without and with the page's recovery."""
    from slm_lib.compress.prune import PruneConfig, prune

    teacher = load_teacher()
    base = evaluate(teacher, "val", LAB_EVAL)
    rows = [
        {
            "method": "none (teacher)",
            "sparsity": 0.0,
            "params": param_count(teacher),
            "nonzero": param_count(teacher),
            "stored_bytes": param_count(teacher) * 4,
            "stored_bytes_dense": param_count(teacher) * 4,
            "accuracy": base.accuracy,
            "perplexity": base.perplexity,
            "recover_steps": 0,
            "recover_s": 0.0,
        }
    ]
    models = {"none (teacher)": teacher}
    for method, sparsity, recover in PRUNE_RUNS:
        config = PruneConfig(
            method,
            sparsity,
            recover_steps=PRUNE_RECOVER_STEPS if recover else 0,
            recover_seconds=PRUNE_RECOVER_SECONDS if recover else None,
        )
        result = prune(teacher, config)
        scores = evaluate(result.model, "val", LAB_EVAL)
        label = f"{method}{' + recovery' if recover else ''}"
        models[label] = result.model
        rows.append(
            {
                "method": label,
                "sparsity": result.sparsity,
                "params": result.params,
                "nonzero": result.nonzero_params,
                "stored_bytes": result.stored_bytes_sparse,
                "stored_bytes_dense": result.stored_bytes_dense,
                "accuracy": scores.accuracy,
                "perplexity": scores.perplexity,
                "recover_steps": len(result.recover_losses),
                "recover_s": result.recover_seconds,
            }
        )
    latency = _latencies(models)
    for row in rows:
        row["latency_ms"] = latency[row["method"]]
        row["vs_teacher_pts"] = 100 * (row["accuracy"] - base.accuracy)
    return rows


def run_quantization() -> list[dict]:
    """Every format of the quantization page's whole-model table: packed bytes, accuracy, latency."""
    from slm_lib.compress.quantize import LAB_SCHEMES, quantize_scheme

    teacher = load_teacher()
    rows, models = [], {}
    for name in LAB_SCHEMES:
        result = quantize_scheme(teacher, name)
        scores = evaluate(result.model, "val", LAB_EVAL)
        models[name] = result.model
        rows.append(
            {
                "scheme": name,
                "bits": result.bits,
                "stored_bytes": result.stored_bytes,
                "x_smaller": result.compression,
                "accuracy": scores.accuracy,
                "perplexity": scores.perplexity,
                "simulated": result.simulated,
            }
        )
    latency = _latencies(models)
    fp32 = rows[0]["accuracy"]
    for row in rows:
        row["latency_ms"] = latency[row["scheme"]]
        row["vs_fp32_pts"] = 100 * (row["accuracy"] - fp32)
    return rows


def pruning_quantization_targets(results: dict) -> dict[str, bool]:
    """The issue's pruning and quantization targets, checked on finished results (printed, never tuned on)."""
    prune_rows = {r["method"]: r for r in results.get("pruning", [])}
    quant_rows = {r["scheme"]: r for r in results.get("quantization", [])}
    checks: dict[str, bool] = {}
    if prune_rows:
        teacher, mag = prune_rows["none (teacher)"], prune_rows["magnitude + recovery"]
        structured = prune_rows["structured"]
        checks["50% unstructured + <=20 s recovery within 2 pts"] = (
            teacher["accuracy"] - mag["accuracy"] <= 0.02 and mag["recover_s"] <= PRUNE_RECOVER_SECONDS + 1
        )
        checks["30% structured: fewer params"] = structured["params"] < teacher["params"]
        checks["30% structured: lower latency"] = structured["latency_ms"] < teacher["latency_ms"]
    if quant_rows:
        fp32, int8, int4 = quant_rows["fp32"], quant_rows["int8 per-channel"], quant_rows["int4 group-32"]
        checks["int8 per-channel >= 3.9x smaller"] = int8["x_smaller"] >= 3.9
        checks["int8 per-channel within 0.5 pts"] = fp32["accuracy"] - int8["accuracy"] <= 0.005
        checks["int4 group-wise >= 6x smaller"] = int4["x_smaller"] >= 6.0
        checks["int4 group-wise within 3 pts"] = fp32["accuracy"] - int4["accuracy"] <= 0.03
    return checks


SECTIONS: dict[str, Callable[[], object]] = {
    "teacher": run_teacher,
    "distillation": run_distillation,
    "pruning": run_pruning,
    "quantization": run_quantization,
}


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def print_table(name: str, data: object) -> None:
    print(f"\n== {name} ==")
    if isinstance(data, dict):
        width = max(len(k) for k in data)
        for key, value in data.items():
            print(f"{key:<{width}}  {_fmt(value)}")
    elif isinstance(data, list) and data:
        columns = list(data[0])
        cells = [[_fmt(row.get(c)) for c in columns] for row in data]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for row in cells:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    else:
        print(_fmt(data))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    args = parser.parse_args(argv)
    names = args.only or list(SECTIONS)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results = {k: v for k, v in previous.items() if k in SECTIONS}
    for name in names:
        start = time.perf_counter()
        results[name] = SECTIONS[name]()
        print_table(f"{name} ({time.perf_counter() - start:.1f} s)", results[name])
    checks = pruning_quantization_targets(results)
    if checks:
        results["pruning_quantization_targets"] = checks
        print_table("pruning / quantization targets", checks)
    results["environment"] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "sections_run": names,
        "torch": torch.__version__,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str))
    tmp.replace(RESULTS)
    print(f"\nwrote {RESULTS.relative_to(RESULTS.parents[2])}")


if __name__ == "__main__":
    main()
