"""Benchmark the embedded SmolLM2: load times, peak RSS, TTFT and decode speed per variant, perplexity table.

Run with ``python -m bench.embedded``; writes ``bench/results/embedded.json``. Not a test: numbers depend on
the machine and its load. If ``llama_cpp`` (llama-cpp-python, an optional bench-only install) is importable,
the same GGUF also runs through llama.cpp and the speed ratio is printed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import torch

from slm_lib.smollm import compress as slm_compress
from slm_lib.smollm import loader as smollm
from slm_lib.smollm.llama_fast import generate_tokens

QUESTION = "What is the length of the hypotenuse in a right angled triangle? Let's think step by step."
NEW_TOKENS = 128
OUT = Path(__file__).resolve().parent / "results" / "embedded.json"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode(fast, prompt, eos):
    t0 = time.perf_counter()
    tokens, ttft = [], 0.0
    for tok in generate_tokens(fast, prompt, NEW_TOKENS):  # no stop token: always 128 tokens, like tg128
        ttft = ttft or time.perf_counter() - t0
        tokens.append(tok)
    total = time.perf_counter() - t0
    return ttft, (len(tokens) - 1) / (total - ttft), tokens


def cold_and_warm() -> dict:
    """Convert into an empty cache folder (cold), then load from it (warm)."""
    old = os.environ.get("SLM_EXPLORER_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SLM_EXPLORER_CACHE"] = tmp
        try:
            cold = smollm.load().load_seconds
            warm = smollm.load().load_seconds
        finally:
            if old is None:
                os.environ.pop("SLM_EXPLORER_CACHE")
            else:
                os.environ["SLM_EXPLORER_CACHE"] = old
    return {"cold_conversion_s": cold, "warm_load_s": warm}


def transformers_baseline(loaded, prompt) -> float:
    with torch.inference_mode():
        t0 = time.perf_counter()
        out = loaded.model.generate(prompt, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
        dt = time.perf_counter() - t0
    return (out.shape[1] - prompt.shape[1]) / dt


def llama_cpp_speed() -> float | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    llm = Llama(str(smollm.gguf_path()), n_ctx=512, n_threads=torch.get_num_threads(), verbose=False)
    t0 = time.perf_counter()
    out = llm.create_chat_completion([{"role": "user", "content": QUESTION}], max_tokens=NEW_TOKENS, temperature=0)
    return out["usage"]["completion_tokens"] / (time.perf_counter() - t0)


def main() -> None:
    report: dict = {
        "machine": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "new_tokens": NEW_TOKENS,
        "prompt": QUESTION,
    }
    report.update(cold_and_warm() if os.environ.get("BENCH_SKIP_COLD") != "1" else {})
    loaded = smollm.load()
    report.setdefault("warm_load_s", loaded.load_seconds)
    prompt = slm_compress.chat_ids(loaded.tokenizer, QUESTION)
    report["transformers_generate_fp32_tok_s"] = transformers_baseline(loaded, prompt)
    rows = []
    for name in slm_compress.VARIANTS:
        fast, nbytes, _, runtime = slm_compress.build_fast(loaded.model, loaded.tokenizer, name)
        ttft, tps, tokens = decode(fast, prompt, loaded.tokenizer.eos_token_id)
        res = slm_compress.build_variant(name)  # perplexity on 2,048 held-out tokens (cached)
        rows.append(
            {
                "variant": name,
                "ttft_s": ttft,
                "tok_s": tps,
                "ppl": res.perplexity,
                "weight_mb": nbytes / 1e6,
                "bits_per_weight": res.bits_per_weight,
                "runtime": runtime,
                "answer": loaded.tokenizer.decode(tokens, skip_special_tokens=True)[:120],
            }
        )
        del fast
    report["variants"] = rows
    report["llama_cpp_tok_s"] = llama_cpp_speed()
    report["peak_rss_mb"] = peak_rss_mb()
    best = max(r["tok_s"] for r in rows)
    if report["llama_cpp_tok_s"]:
        report["best_over_llama_cpp"] = best / report["llama_cpp_tok_s"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1))

    print(
        f"cold conversion {report.get('cold_conversion_s', float('nan')):.1f} s · warm load "
        f"{report['warm_load_s']:.2f} s · peak RSS {report['peak_rss_mb']:.0f} MB · {report['threads']} threads"
    )
    print(f"transformers generate() fp32: {report['transformers_generate_fp32_tok_s']:.1f} tok/s")
    base = rows[0]["ppl"]
    print(f"{'variant':<11}{'bits/w':>7}{'MB':>8}{'PPL':>9}{'ΔPPL':>9}{'TTFT s':>8}{'tok/s':>7}  computed as")
    for r in rows:
        print(
            f"{r['variant']:<11}{r['bits_per_weight']:>7.2f}{r['weight_mb']:>8.1f}{r['ppl']:>9.3f}"
            f"{100 * (r['ppl'] / base - 1):>+8.2f}%{r['ttft_s']:>8.2f}{r['tok_s']:>7.1f}  {r['runtime']}"
        )
    if report["llama_cpp_tok_s"]:
        print(
            f"llama.cpp: {report['llama_cpp_tok_s']:.1f} tok/s; best variant / llama.cpp = "
            f"{report['best_over_llama_cpp']:.2f}"
        )
    else:
        print("llama.cpp: llama_cpp not importable (optional bench-only install); no ratio")
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT.name}")


if __name__ == "__main__":
    main()
