"""Does ``assess`` catch fluent wrong answers? Overall vs similarity on hand-written cases, and its speed.

Cases: ``tests/data/assess_cases.json`` (question, reference, right answer, fluent wrong answer;
``dev`` cases were used while building the checks, ``held_out`` ones only scored) and the good vs
poor pairs of ``tests/data/similarity_cases.json``. For each group it reports

- how often the right answer scores above the wrong one, with ``overall`` and with similarity alone,
- the mean right-minus-wrong gap of both scores,
- how often a wrong answer is flagged, and how often a right one is (false alarms),

then the time per assessed answer when all answers are assessed in one batch (wall time, and CPU
time over the cores as the estimate for an otherwise idle machine). ``--baseline`` measures the
BERTScore rescaling baseline: the mean precision/recall of unrelated references.

Usage: ``python -m bench.assess`` (writes ``bench/results/assess.json``) or ``python -m bench.assess --baseline``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from slm_lib.eval.assess import assess, assess_batch
from slm_lib.eval.similarity import embed_tokens, score_batch

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "assess_cases.json"
SIMILARITY_CASES = ROOT / "tests" / "data" / "similarity_cases.json"
RESULTS = Path(__file__).resolve().parent / "results" / "assess.json"


def load_groups() -> dict[str, list[dict]]:
    """``{group: [{question, reference, right, wrong}]}`` for every group the report shows."""
    cases = json.loads(CASES.read_text(encoding="utf-8"))["cases"]
    sim = json.loads(SIMILARITY_CASES.read_text(encoding="utf-8"))["cases"]
    pairs = [
        {"question": c["question"], "reference": c["reference"], "right": c["good"], "wrong": c["poor"]} for c in sim
    ]
    return {
        "fluent wrong: dev": [c for c in cases if c["split"] == "dev"],
        "fluent wrong: held out": [c for c in cases if c["split"] == "held_out"],
        "fluent wrong: all": cases,
        "similarity cases: good vs off-target": [
            p for p, c in zip(pairs, sim, strict=True) if c["poor_kind"] == "off_target"
        ],
        "similarity cases: good vs wrong": [p for p, c in zip(pairs, sim, strict=True) if c["poor_kind"] == "wrong"],
    }


def measure(cases: list[dict]) -> dict:
    """Ranking, gaps and flag rates of one group of cases."""
    n = len(cases)
    results = assess_batch(
        [c["right"] for c in cases] + [c["wrong"] for c in cases],
        [c["reference"] for c in cases] * 2,
        [c["question"] for c in cases] * 2,
    )
    right, wrong = results[:n], results[n:]
    return {
        "cases": n,
        "overall_right_above_wrong": sum(r.overall > w.overall for r, w in zip(right, wrong, strict=True)),
        "similarity_right_above_wrong": sum(r.similarity > w.similarity for r, w in zip(right, wrong, strict=True)),
        "overall_mean_gap": float(np.mean([r.overall - w.overall for r, w in zip(right, wrong, strict=True)])),
        "similarity_mean_gap": float(np.mean([r.similarity - w.similarity for r, w in zip(right, wrong, strict=True)])),
        "wrong_flagged": sum(w.flagged for w in wrong),
        "right_flagged": sum(r.flagged for r in right),
        "missed": [c["question"] for c, r, w in zip(cases, right, wrong, strict=True) if r.overall <= w.overall],
        "false_alarms": {c["question"]: list(r.flags) for c, r in zip(cases, right, strict=True) if r.flags},
    }


def timing(cases: list[dict], rounds: int = 3) -> dict:
    """ms per assessed answer, all answers of the cases in one batch (best of ``rounds``, after a warm-up)."""
    answers = [c["right"] for c in cases] + [c["wrong"] for c in cases]
    refs = [c["reference"] for c in cases] * 2
    questions = [c["question"] for c in cases] * 2
    assess("warm-up", "warm-up")
    walls, cpus, plain = [], [], []
    for _ in range(rounds):  # interleaved, so both see the same load
        start, cpu = time.perf_counter(), time.process_time()
        assess_batch(answers, refs, questions)
        walls.append((time.perf_counter() - start) / len(answers))
        cpus.append((time.process_time() - cpu) / len(answers))
        start = time.perf_counter()
        score_batch(answers, refs)  # today's similarity score alone, same texts
        plain.append((time.perf_counter() - start) / len(answers))
    cores = os.cpu_count() or 1
    return {
        "answers": len(answers),
        "wall_ms_per_answer": min(walls) * 1e3,
        "cpu_ms_per_answer": min(cpus) * 1e3,
        "idle_machine_estimate_ms_per_answer": min(cpus) * 1e3 / cores,
        "similarity_only_wall_ms_per_answer": min(plain) * 1e3,
    }


def baseline() -> float:
    """Mean raw BERTScore precision (= recall, by symmetry) of every ordered pair of unrelated references."""
    refs = [c["reference"] for c in json.loads(SIMILARITY_CASES.read_text(encoding="utf-8"))["cases"]]
    embs = embed_tokens(refs)
    scores = []
    for i, a in enumerate(embs):
        for j, b in enumerate(embs):
            if i != j:
                keep_a = [k for k, p in enumerate(a.pieces) if any(ch.isalnum() for ch in p)]
                keep_b = [k for k, p in enumerate(b.pieces) if any(ch.isalnum() for ch in p)]
                scores.append(float((a.tokens[keep_a] @ b.tokens[keep_b].T).max(axis=1).mean()))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="measure the BERTScore rescaling baseline only")
    args = parser.parse_args()
    if args.baseline:
        print(f"BERTScore baseline (mean raw precision of unrelated references): {baseline():.4f}")
        return
    groups = load_groups()
    report = {name: measure(cases) for name, cases in groups.items()}
    speed = timing(groups["fluent wrong: all"])
    columns = ("n", "overall>", "sim>", "gap overall", "gap sim", "wrong flagged", "right flagged")
    widths = (3, 8, 5, 11, 8, 13, 13)
    print(f"{'cases':38} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for name, m in report.items():
        ranks = f"{m['cases']:>3} {m['overall_right_above_wrong']:>8} {m['similarity_right_above_wrong']:>5}"
        gaps = f"{m['overall_mean_gap']:>11.3f} {m['similarity_mean_gap']:>8.3f}"
        print(f"{name:38} {ranks} {gaps} {m['wrong_flagged']:>13} {m['right_flagged']:>13}")
    load = os.getloadavg()
    print(
        f"speed: {speed['wall_ms_per_answer']:.1f} ms per assessed answer (wall, {speed['answers']} answers in one "
        f"batch; target < 20), {speed['cpu_ms_per_answer']:.1f} ms CPU over all cores ≈ "
        f"{speed['idle_machine_estimate_ms_per_answer']:.1f} ms on an idle {os.cpu_count()}-core machine; "
        f"similarity alone (score_batch, same texts, same moment): "
        f"{speed['similarity_only_wall_ms_per_answer']:.1f} ms; "
        f"load average {load[0]:.1f}"
    )
    for name, m in report.items():
        for question in m["missed"]:
            print(f"  not ranked right above wrong ({name}): {question}")
        for question, flags in m["false_alarms"].items():
            print(f"  right answer flagged ({name}): {question}: {flags}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    RESULTS.write_text(
        json.dumps({"machine": machine, "groups": report, "speed": speed, "load_average": load}, indent=1)
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
