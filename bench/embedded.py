"""Benchmark the embedded SmolLM2: decode speed per variant and per route, TTFT, peak RSS, llama.cpp ratio.

Run with ``python -m bench.embedded``; writes ``bench/results/embedded.json``. Not a test: numbers depend on
the machine and its load, so every speed here is the median of ``ROUNDS`` round-robin runs (A, B, C, A, B, C,
...), and only ratios measured in the same run mean anything. If ``llama_cpp`` (llama-cpp-python, an
optional bench-only install, see README) is importable, the same GGUF also runs through llama.cpp in the
same rounds and the ratio is printed. Perplexities come from ``slm_lib.smollm.compress`` (cached).

``BENCH_SKIP_COLD=1`` skips the cold conversion; ``BENCH_ROUNDS=n`` sets the rounds (default 3);
``BENCH_VARIANTS=int8,int4-q4_1`` measures only those variants (plus the previous int8 route, the GGUF-read
variant and llama.cpp); ``BENCH_PPL=0`` skips perplexity (for a quick speed-only run on a busy machine).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from slm_lib.smollm import compress as slm_compress
from slm_lib.smollm import loader as smollm
from slm_lib.smollm.llama_fast import FastLlama, Int8Linear, generate_tokens
from slm_lib.smollm.q4 import fast_from_gguf

QUESTION = slm_compress.FIXED_PROMPT
NEW_TOKENS = 128
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
OUT = Path(__file__).resolve().parent / "results" / "embedded.json"
SPEED_VARIANTS = tuple(os.environ.get("BENCH_VARIANTS", "float,int8,int4-g32,int4-q4_1,mlp-75-ls").split(","))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode(fast: FastLlama, prompt: torch.Tensor) -> tuple[float, float, list[int]]:
    """(time to first token s, decode tokens/s after the first, tokens): 128 tokens, no stop (like tg128)."""
    t0 = time.perf_counter()
    tokens, ttft = [], 0.0
    for tok in generate_tokens(fast, prompt, NEW_TOKENS):
        ttft = ttft or time.perf_counter() - t0
        tokens.append(tok)
    total = time.perf_counter() - t0
    return ttft, (len(tokens) - 1) / (total - ttft), tokens


# ------------------------------------------------------------------------------ the route before this bench
class LegacyInt8:
    """The previous int8 route, kept here to measure against: bfloat16 activations, 3-D reshapes."""

    def __init__(self, lin: Int8Linear) -> None:
        self.codes, self.scales, self.shape = lin.codes, lin.scales.bfloat16(), lin.shape

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y = torch._weight_int8pack_mm(x.reshape(-1, shape[-1]).to(torch.bfloat16), self.codes, self.scales)
        return y.to(x.dtype).reshape(*shape[:-1], -1)


def legacy_step(fast: FastLlama, ids: torch.Tensor, cache) -> torch.Tensor:  # noqa: ANN001
    """The previous decode step (one token): RoPE per q and k, separate cache slices, batch dim kept."""
    hd, nh, nkv, pos = fast.head_dim, fast.n_heads, fast.n_kv, cache.length
    half = hd // 2
    cos, sin = fast.cos[pos : pos + 1], torch.cat([fast.sin[pos : pos + 1, half:]] * 2, -1)

    def rope(x: torch.Tensor) -> torch.Tensor:
        return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin

    x = fast.embed.rows(ids[0])[None]  # (1, 1, d)
    for i, lyr in enumerate(fast.layers):
        h = F.rms_norm(x, (x.shape[-1],), lyr.attn_norm, fast.eps)
        q, k, v = lyr.qkv(h).split([nh * hd, nkv * hd, nkv * hd], dim=-1)
        q = rope(q.view(1, 1, nh, hd).transpose(1, 2))
        k = rope(k.view(1, 1, nkv, hd).transpose(1, 2))
        cache.k[i, :, pos : pos + 1] = k[0]
        cache.v[i, :, pos : pos + 1] = v.view(1, nkv, hd).transpose(0, 1)
        keys, vals = cache.k[i, :, : pos + 1], cache.v[i, :, : pos + 1]
        qg = q.view(nkv, nh // nkv, hd)
        scores = torch.matmul(qg, keys.transpose(1, 2))
        x = x + lyr.o(torch.matmul(scores.softmax(dim=-1), vals).reshape(1, 1, nh * hd))
        h = F.rms_norm(x, (x.shape[-1],), lyr.mlp_norm, fast.eps)
        gate, up = lyr.gate_up(h).chunk(2, dim=-1)
        x = x + lyr.down(F.silu(gate) * up)
    cache.length = pos + 1
    return fast.lm_head(F.rms_norm(x[0], (x.shape[-1],), fast.final_norm, fast.eps))[None]


def legacy_int8(fast: FastLlama) -> FastLlama:
    """The same int8 weights wrapped in the previous route (no copy of the codes)."""
    import copy

    old = copy.copy(fast)
    old.layers = [copy.copy(lyr) for lyr in fast.layers]
    for lyr in old.layers:
        for name in ("qkv", "o", "gate_up", "down"):
            setattr(lyr, name, LegacyInt8(getattr(lyr, name)))
    old.lm_head = LegacyInt8(fast.lm_head)
    old.forward = lambda ids, cache, last_only=False: (  # prompt through the new path, steps the old way
        FastLlama.forward(fast, ids, cache, last_only) if ids.shape[1] > 1 else legacy_step(old, ids, cache)
    )
    return old


# ------------------------------------------------------------------------------------------- llama.cpp
def llama_cpp_runner(threads: int) -> Callable[[], tuple[float, float]] | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    llm = Llama(str(smollm.gguf_path()), n_ctx=512, n_threads=threads, verbose=False)

    def run() -> tuple[float, float]:
        llm.reset()
        t0, first, n = time.perf_counter(), 0.0, 0
        for _ in llm.create_chat_completion(
            [{"role": "user", "content": QUESTION}], max_tokens=NEW_TOKENS, temperature=0, stream=True
        ):
            n += 1
            first = first or time.perf_counter() - t0
        total = time.perf_counter() - t0
        return first, (n - 2) / (total - first)  # chunks: a role chunk, then one per token

    return run


# ------------------------------------------------------------------------------------- serving footprint
SERVE_SNIPPET = """
import resource, sys, time, torch
torch.set_num_threads({threads})
from slm_lib.smollm import compress as sc, loader
from slm_lib.smollm.llama_fast import generate_tokens
t0 = time.perf_counter()
if sys.argv[1] == "gguf":
    from slm_lib.smollm.q4 import fast_from_gguf
    fast = fast_from_gguf(loader.gguf_path())
else:
    loaded = loader.load()
    fast = sc.build_fast(loaded.model, loaded.tokenizer, sys.argv[1])[0]
    del loaded
load = time.perf_counter() - t0
tok = loader.load_tokenizer()
list(generate_tokens(fast, sc.chat_ids(tok), 32))
print(load, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def serving_footprint(route: str) -> dict:
    """Load one variant in a fresh process, answer 32 tokens: load seconds and peak RSS of that process."""
    code = SERVE_SNIPPET.format(threads=torch.get_num_threads())
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code, route], capture_output=True, text=True, cwd=root, check=True)
    load_s, rss = map(float, out.stdout.split()[-2:])
    return {"route": route, "load_s": load_s, "peak_rss_mb": rss}


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


def main() -> None:
    threads = torch.get_num_threads()
    report: dict = {
        "machine": platform.processor() or platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": threads,
        "new_tokens": NEW_TOKENS,
        "rounds": ROUNDS,
        "load_average_before": os.getloadavg()[0],
        "prompt": QUESTION,
    }
    report.update(cold_and_warm() if os.environ.get("BENCH_SKIP_COLD") != "1" else {})
    loaded = smollm.load()
    report.setdefault("warm_load_s", loaded.load_seconds)
    prompt = slm_compress.chat_ids(loaded.tokenizer, QUESTION)

    # Every contestant is built once, then run round-robin so machine load hits all of them alike.
    runners: dict[str, Callable[[], tuple[float, float]]] = {}
    meta: dict[str, dict] = {}
    answers: dict[str, str] = {}

    def add(name: str, fast: FastLlama, runtime: str, nbytes: int | None = None) -> None:
        def run(fast: FastLlama = fast, name: str = name) -> tuple[float, float]:
            ttft, tps, tokens = decode(fast, prompt)
            answers[name] = loaded.tokenizer.decode(tokens, skip_special_tokens=True)[:120]
            return ttft, tps

        runners[name] = run
        meta[name] = {"runtime": runtime, "weight_mb": None if nbytes is None else nbytes / 1e6}
        meta[name]["macs_per_token"] = fast.macs_per_token()

    for name in SPEED_VARIANTS:
        fast, nbytes, _, runtime = slm_compress.build_fast(loaded.model, loaded.tokenizer, name)
        add(name, fast, runtime, nbytes)
        if name == "int8":
            add("int8 (previous route)", legacy_int8(fast), "bf16 activations, previous decode step", nbytes)
    add("int4-q4_1 from GGUF", fast_from_gguf(smollm.gguf_path()), "the file's own codes, int4 kernel; head int8")
    llama = llama_cpp_runner(threads)
    if llama:
        runners["llama.cpp"] = llama
        meta["llama.cpp"] = {"runtime": "llama-cpp-python on the same GGUF (Q4_1, head Q8_0)", "weight_mb": None}

    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for _ in range(ROUNDS):
        for name, run in runners.items():
            samples[name].append(run())
    report["load_average_after"] = os.getloadavg()[0]

    # Threads: the best torch variant and llama.cpp with one thread, same rounds.
    one: dict[str, list[float]] = {}
    torch.set_num_threads(1)
    single = {"int4-q4_1 from GGUF": runners["int4-q4_1 from GGUF"], "int8": runners["int8"]}
    if llama:
        single["llama.cpp"] = llama_cpp_runner(1)
    for _ in range(ROUNDS):
        for name, run in single.items():
            one.setdefault(name, []).append(run()[1])
    torch.set_num_threads(threads)

    with_ppl = os.environ.get("BENCH_PPL", "1") != "0"
    ppl = {n: slm_compress.build_variant(n).perplexity for n in SPEED_VARIANTS if with_ppl}
    rows = []
    for name, runs in samples.items():
        base = name.split(" ")[0]
        rows.append(
            {
                "variant": name,
                "tok_s": statistics.median(t for _, t in runs),
                "tok_s_runs": [t for _, t in runs],
                "ttft_s": statistics.median(f for f, _ in runs),
                "ppl": ppl.get(base),
                "answer": answers.get(name, ""),
                **meta[name],
            }
        )
    report["variants"] = rows
    report["one_thread_tok_s"] = {k: statistics.median(v) for k, v in one.items()}
    report["serving"] = [serving_footprint(r) for r in ("int8", "gguf")]
    report["peak_rss_mb_this_process"] = peak_rss_mb()
    by = {r["variant"]: r for r in rows}
    best = max((r for r in rows if r["variant"] != "llama.cpp"), key=lambda r: r["tok_s"])
    report["best"] = best["variant"]
    if llama:
        report["best_over_llama_cpp"] = best["tok_s"] / by["llama.cpp"]["tok_s"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1))
    print_report(report)


def print_report(report: dict) -> None:
    print(
        f"cold conversion {report.get('cold_conversion_s', float('nan')):.1f} s · warm load "
        f"{report['warm_load_s']:.2f} s · {report['threads']} threads · {report['cpu_capability']} · load average "
        f"{report['load_average_before']:.1f} -> {report['load_average_after']:.1f} · median of {report['rounds']}"
    )
    base = next((r["ppl"] for r in report["variants"] if r["variant"] == "float"), None)
    print(f"{'variant':<24}{'MB':>7}{'GMAC/tok':>9}{'PPL':>8}{'ΔPPL':>9}{'TTFT s':>8}{'tok/s':>7}  computed as")
    for r in report["variants"]:
        mb = f"{r['weight_mb']:.1f}" if r.get("weight_mb") else "-"
        gmac = f"{r['macs_per_token'] / 1e9:.3f}" if r.get("macs_per_token") else "-"
        ppl = f"{r['ppl']:.3f}" if r["ppl"] else "-"
        dppl = f"{100 * (r['ppl'] / base - 1):+.2f}%" if r["ppl"] and base else "-"
        print(
            f"{r['variant']:<24}{mb:>7}{gmac:>9}{ppl:>8}{dppl:>9}{r['ttft_s']:>8.2f}{r['tok_s']:>7.1f}  {r['runtime']}"
        )
    print("one thread, tok/s: " + ", ".join(f"{k} {v:.1f}" for k, v in report["one_thread_tok_s"].items()))
    for s in report["serving"]:
        print(f"serving {s['route']:<5} fresh process: load {s['load_s']:.1f} s, peak RSS {s['peak_rss_mb']:.0f} MB")
    if "best_over_llama_cpp" in report:
        print(f"best: {report['best']}; best / llama.cpp = {report['best_over_llama_cpp']:.2f}")
    else:
        print("llama.cpp: llama_cpp not importable (optional bench-only install); no ratio")
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT.name}")


if __name__ == "__main__":
    main()
