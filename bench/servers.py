"""Fan-out across servers: the same question run on the on-board model, on `transformers serve`, and on both.

Starts ``transformers serve`` on loopback serving the converted on-board SmolLM2 folder (or uses
``--base-url`` for a server you started), then runs the same questions with ``execute_run``, as
the Evaluation page does:

- (a) the on-board backend alone (in this process),
- (b) the server alone (one OpenAI-compatible endpoint, ``--concurrency`` requests at once),
- (c) both at once: two lanes side by side, each answering the questions.

Reports wall time per run, mean tokens/s of the answers, and the speed-up of fan-out over asking
one after another ((a) + (b) against (c); the ideal is (a) + (b) over the slower of the two). Both
lanes here share this machine's CPU cores, so the speed-up is bounded by how much of the CPU one
lane leaves idle; with each lane on its own machine it approaches the ideal. The core count and the
load average (other processes on the machine) are written with the numbers.

Usage: ``python -m bench.servers [--questions 20] [--max-new-tokens 32] [--base-url URL]``.
Writes ``bench/results/servers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from slm_lib.backends import get_backend
from slm_lib.backends.openai_endpoints import Endpoint
from slm_lib.chat import ChatOptions
from slm_lib.eval.config import RunConfig
from slm_lib.eval.questions import load_question_set
from slm_lib.eval.runs import ReferenceCachingScorer, execute_run
from slm_lib.eval.store import RunStore
from slm_lib.smollm import loader

RESULTS = Path(__file__).resolve().parent / "results" / "servers.json"


def start_server(port: int, log: Path) -> subprocess.Popen:
    """``transformers serve`` on 127.0.0.1:``port`` serving the converted SmolLM2 folder (converted first if needed)."""
    folder = str(loader.convert())
    run = "from transformers.cli.transformers import main; main()"
    cmd = [sys.executable, "-c", run, "serve", "--host", "127.0.0.1", "--port", str(port), folder]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"transformers serve exited:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("transformers serve did not answer within 300 s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(folder: Path, models: tuple[str, ...], backends: dict, questions: list, max_tokens: int) -> dict:
    store = RunStore(folder / f"run-{len(list(folder.glob('run-*')))}.sqlite3")
    config = RunConfig(models=models, questions=tuple(questions), options=ChatOptions(max_new_tokens=max_tokens))
    run_id = store.create_run(config)
    start = time.perf_counter()
    final = execute_run(store, run_id, backends, scorer=ReferenceCachingScorer())
    wall = time.perf_counter() - start
    rows = [r for r in store.results(run_id) if r.error is None]
    store.close()
    return {
        "models": list(models),
        "wall_seconds": wall,
        "answers": len(rows),
        "errors": final.errors,
        "tokens": sum(r.stats.completion_tokens for r in rows),
        "mean_tokens_per_second": sum(r.stats.tokens_per_second for r in rows) / len(rows) if rows else None,
        "mean_similarity": sum(r.score or 0.0 for r in rows) / len(rows) if rows else None,
        "lanes": {name: {"done": p.done, "limit": p.limit} for name, p in final.lanes.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=1, help="requests the run keeps in flight on the server")
    parser.add_argument("--base-url", default=None, help="an OpenAI-compatible server already running")
    args = parser.parse_args()
    questions = load_question_set("builtin")[: args.questions]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc = None
        base_url = args.base_url
        if base_url is None:
            port = free_port()
            started = time.perf_counter()
            proc = start_server(port, folder / "server.log")
            print(f"transformers serve ready on port {port} in {time.perf_counter() - started:.1f} s")
            base_url = f"http://127.0.0.1:{port}/v1"
        try:
            endpoint = Endpoint("serve", base_url, None, args.concurrency)
            router = get_backend("openai", endpoints=[endpoint], read_timeout=600.0)
            served = f"openai:{router.list_models()[0]}"  # "serve/<the folder the server lists>"
            embedded = get_backend("embedded")
            backends = {"embedded": embedded, "openai": router}
            warm = [questions[0]]  # load the on-board model, the embedder and the server's first request
            one_run(folder, ("embedded:smollm2-135m", served), backends, warm, 4)
            runs = {
                "a_on_board": one_run(folder, ("embedded:smollm2-135m",), backends, questions, args.max_new_tokens),
                "b_transformers_serve": one_run(folder, (served,), backends, questions, args.max_new_tokens),
                "c_both_at_once": one_run(
                    folder, ("embedded:smollm2-135m", served), backends, questions, args.max_new_tokens
                ),
            }
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(30)
    a, b, c = (runs[k]["wall_seconds"] for k in ("a_on_board", "b_transformers_serve", "c_both_at_once"))
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "settings": {
            "questions": len(questions),
            "max_new_tokens": args.max_new_tokens,
            "server_concurrency": args.concurrency,
            "server": "given" if args.base_url else "transformers serve (started here)",
        },
        "runs": runs,
        "one_after_another_seconds": a + b,
        "fan_out_seconds": c,
        "speed_up": (a + b) / c,
        "ideal_speed_up": (a + b) / max(a, b),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(f"{'run':34} {'answers':>7} {'errors':>6} {'wall s':>8} {'tok/s':>7} {'similarity':>10}")
    for name, r in runs.items():
        tps = "–" if r["mean_tokens_per_second"] is None else f"{r['mean_tokens_per_second']:7.1f}"
        sim = "–" if r["mean_similarity"] is None else f"{r['mean_similarity']:10.3f}"
        print(f"{name:34} {r['answers']:>7} {r['errors']:>6} {r['wall_seconds']:>8.1f} {tps:>7} {sim:>10}")
    print(
        f"one after another (a + b): {a + b:.1f} s · fan-out (c): {c:.1f} s · speed-up {report['speed_up']:.2f}x "
        f"(ideal {report['ideal_speed_up']:.2f}x: the slower run alone)"
    )
    print(
        f"{os.cpu_count()} CPU cores shared by both lanes; load average {load_before[0]:.1f} before, "
        f"{report['machine']['load_average_after'][0]:.1f} after (other processes on the machine)"
    )
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS.name}")


if __name__ == "__main__":
    main()
