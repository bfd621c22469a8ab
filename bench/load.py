"""Load test: N virtual visitors against a real ``streamlit run`` of this app in the hosted setting.

Each visitor is one Streamlit session driven over Streamlit's own websocket protocol (``bench.st_client``), no
browser per visitor. The app runs as deployed (``SLM_EXPLORER_HOSTED=1``: model work in worker processes), with a
loopback fake Ollama server (``tests.fake_ollama``) that streams its canned answers at a set speed.

Visitors, all acting at the same moment at each size N (1, 5, 10, 25):
- light: Home, then Model gallery, then Which SLM fits? (page-ready time each);
- playground (a fifth of N): a comparison of the on-board SmolLM2 and an Ollama model, ``--tokens`` new tokens;
- lab (a fifth of N): a distillation run of ``--steps`` steps (distinct settings, so no cached result).

Reported: p50/p95 page-ready and completion times, failures (exceptions, error messages, timeouts,
disconnects), what visitors over the generation or training cap were told and how soon, and the server's memory
(RSS of the Streamlit process; RSS and PSS of it plus its worker processes) idle, at peak and after the sessions
ended. Then the training-slowdown check: one distillation alone, then the same amount of training while
``--browsers`` visitors browse light pages without pause. Writes ``bench/results/load.json`` and prints a table.

    python -m bench.load                          # 1, 5, 10, 25 visitors (tens of minutes on 2 busy cores)
    python -m bench.load --visitors 1 5 --tokens 64 --steps 30    # a quick look
    python -m bench.load --browser-check          # also time Home in headless Chromium vs this client
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.st_client import Run, Visitor

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "load.json"
LIGHT_PAGES = ("", "gallery", "chooser")  # Home (the default page), Model gallery, Which SLM fits?
PLACE = "In line: you are"
# The server flags the Dockerfile uses too: sessions of closed tabs are dropped after a minute.
SESSION_TTL_S = 60
SERVER_FLAGS = ["--server.headless", "true", "--server.disconnectedSessionTTL", str(SESSION_TTL_S)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# ------------------------------------------------------------------------------------------- server and memory
def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return kids


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def _kib(path: str, field: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Memory(threading.Thread):
    """Samples the server's RSS, and RSS / PSS of the server plus its worker processes, every ``every`` s."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()

    def sample(self) -> dict[str, float]:
        tree = _tree(self.pid)
        return {
            "t": time.monotonic(),
            "server_rss_mib": _kib(f"/proc/{self.pid}/status", "VmRSS") / 1024,
            "tree_rss_mib": sum(_kib(f"/proc/{p}/status", "VmRSS") for p in tree) / 1024,
            "tree_pss_mib": sum(_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in tree) / 1024,
            "processes": len(tree),
        }

    def run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(self.sample())

    def stop(self) -> None:
        self._stop.set()

    def peak(self, since: float = 0.0) -> dict[str, float]:
        window = [s for s in self.samples if s["t"] >= since] or [self.sample()]
        return {k: max(s[k] for s in window) for k in ("server_rss_mib", "tree_rss_mib", "tree_pss_mib")}


def load_average() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class App:
    """A fake Ollama and ``streamlit run Home.py`` in the hosted setting, on free loopback ports."""

    def __init__(self, idle_exit_s: float, ollama_delay: float, worker_nice: int | None = None) -> None:
        self.data = tempfile.mkdtemp(prefix="slm-load-")
        o_port, self.port = free_port(), free_port()
        py = sys.executable
        self.ollama = subprocess.Popen(
            [py, "-m", "tests.fake_ollama", "--port", str(o_port), "--delay", str(ollama_delay)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        env = {
            **os.environ,
            "SLM_EXPLORER_HOSTED": "1",
            "SLM_EXPLORER_DATA": self.data,
            "SLM_EXPLORER_WORKER_IDLE_S": str(idle_exit_s),
            "OLLAMA_HOST": f"127.0.0.1:{o_port}",
            "HF_HUB_OFFLINE": "1",
        }
        env.pop("SLM_EXPLORER_WORKERS", None)  # the hosted default: worker processes
        env.pop("SLM_EXPLORER_WORKER_NICE", None)
        if worker_nice is not None:
            env["SLM_EXPLORER_WORKER_NICE"] = str(worker_nice)
        cmd = [py, "-m", "streamlit", "run", "Home.py", "--server.port", str(self.port)]
        cmd += ["--server.address", "127.0.0.1", *SERVER_FLAGS]
        self.log = open(Path(self.data) / "server.log", "w")  # noqa: SIM115 - closed in stop()
        self.server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise RuntimeError(f"the app did not start; see {self.log.name}")
            time.sleep(0.5)

    def stop(self) -> None:
        for proc in (self.server, self.ollama):
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.log.close()

    def server_errors(self) -> list[str]:
        text = Path(self.log.name).read_text(errors="replace")
        return [line for line in text.splitlines() if "Traceback" in line or "Uncaught" in line]


# ------------------------------------------------------------------------------------------------- visitors
_SETTINGS = iter((t / 2, a / 20) for a in range(2, 19) for t in range(1, 21))  # distinct distillation runs


def _failures(runs: list[Run]) -> list[str]:
    out = []
    for run in runs:
        if run.status not in ("ok",):
            out.append(f"run {run.status}")
        out += [f"exception: {e}" for e in run.exceptions]
        out += [f"error: {e}" for e in run.errors]
    return out


async def light(v: Visitor) -> dict:
    ready = []
    for page in LIGHT_PAGES:
        run = await v.open(page)
        ready.append(run.seconds)
    return {"kind": "light", "ready_s": ready, "failures": _failures(v.runs)}


def _told(run: Run) -> dict:
    hit = run.first(PLACE)
    return {"told_after_s": hit[0], "told": hit[1]} if hit else {"told_after_s": None, "told": None}


async def playground(v: Visitor, tokens: int) -> dict:
    opened = await v.open("playground")
    labels = v.options["playground.models"]
    pick = [next(o for o in labels if o.startswith("smollm2-135m (")), next(o for o in labels if "(Ollama)" in o)]
    v.set("playground.max_tokens", double_value=float(tokens))
    await v.change("playground.models", string_array_value=pick)
    run = await v.click("playground.run")
    incomplete = [t for _, _, t in run.texts if "Incomplete answer" in t]
    return {
        "kind": "playground",
        "page_ready_s": opened.seconds,
        "done_s": run.seconds,
        **_told(run),
        "incomplete": incomplete,
        "answered": bool(run.first("Similarity") or run.first("tokens/s")),
        "failures": _failures(v.runs) + incomplete,
    }


async def lab(v: Visitor, steps: int) -> dict:
    opened = await v.open("distillation")
    temperature, alpha = next(_SETTINGS)
    v.set("distill.temperature", double_array_value=[temperature])
    v.set("distill.alpha", double_array_value=[alpha])
    await v.change("distill.steps", double_array_value=[float(steps)])
    run = await v.click("distill.train")
    reported = run.first("windows of student data")
    match = re.search(r"windows of student data, (\d+) s\)", reported[1]) if reported else None
    return {
        "kind": "lab",
        "page_ready_s": opened.seconds,
        "done_s": run.seconds,
        "train_s_reported": int(match.group(1)) if match else None,
        **_told(run),
        "trained": reported is not None,
        "failures": _failures(v.runs) + ([] if reported else ["no training result"]),
    }


ALL_PAGES = ("", "slm_vs_llm", "distillation", "pruning", "quantization", "real_slm", "gallery", "model_compare")
ALL_PAGES += ("chooser", "playground", "evaluation")


async def warm_up(url: str) -> dict[str, float]:
    """Open every page once, as the first visitors after a deploy do (imports, cached data): cold times."""
    async with Visitor(url, timeout_s=1800) as v:
        return {page or "home": (await v.open(page)).seconds for page in ALL_PAGES}


async def _visit(url: str, behaviour, start: asyncio.Event, kind: str = "light") -> dict:  # noqa: ANN001
    try:
        async with Visitor(url, timeout_s=1800) as v:
            await v.open("")  # the visitor arrives on Home first (not timed: the timed action starts together)
            await start.wait()
            record = await behaviour(v)
            record["disconnected"] = v.disconnected
            return record
    except Exception as exc:  # a visitor that could not even connect is a failure, not a crash of the bench
        return {"kind": kind, "failures": [f"client: {type(exc).__name__}: {exc}"]}


async def mixed(url: str, n: int, tokens: int, steps: int) -> list[dict]:
    """N visitors: a fifth playground, a fifth lab, the rest light pages; all act at the same moment."""
    n_play = n_lab = round(n / 5)
    behaviours = [("playground", lambda v: playground(v, tokens))] * n_play + [("lab", lambda v: lab(v, steps))] * n_lab
    behaviours += [("light", light)] * (n - n_play - n_lab)
    start = asyncio.Event()
    tasks = [asyncio.create_task(_visit(url, b, start, kind)) for kind, b in behaviours]
    await asyncio.sleep(2.0 + 0.2 * n)  # everyone connected and on Home
    start.set()
    return await asyncio.gather(*tasks)


async def slowdown(url: str, steps: int, browsers: int) -> dict:
    """One distillation alone, then one while ``browsers`` visitors browse light pages without pause."""
    alone = await _visit(url, lambda v: lab(v, steps), _set_event(), "lab")
    stop = asyncio.Event()
    pages: list[float] = []

    async def browse(v: Visitor) -> dict:
        while not stop.is_set():
            for page in LIGHT_PAGES:
                pages.append((await v.open(page)).seconds)
        return {"kind": "browser", "failures": _failures(v.runs)}

    go = _set_event()
    crowd = [asyncio.create_task(_visit(url, browse, go)) for _ in range(browsers)]
    await asyncio.sleep(3.0)
    busy = await _visit(url, lambda v: lab(v, steps), go, "lab")
    stop.set()
    crowd_records = await asyncio.gather(*crowd)
    return {
        "alone": alone,
        "with_browsers": busy,
        "browsers": browsers,
        "browser_pages_s": pages,
        "crowd": crowd_records,
    }


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


# -------------------------------------------------------------------------------------------------- report
def summarize(n: int, records: list[dict], memory: dict[str, float], load: float) -> dict:
    by = {k: [r for r in records if r.get("kind") == k] for k in ("light", "playground", "lab")}
    light_ready = [s for r in by["light"] for s in r.get("ready_s", [])]
    work = by["playground"] + by["lab"]
    told = [r for r in work if r.get("told_after_s") is not None]
    return {
        "visitors": n,
        "light_pages": len(light_ready),
        "light_p50_s": pct(light_ready, 50),
        "light_p95_s": pct(light_ready, 95),
        "playground_page_p95_s": pct([r["page_ready_s"] for r in by["playground"] if "page_ready_s" in r], 95),
        "compare_p50_s": pct([r["done_s"] for r in by["playground"] if "done_s" in r], 50),
        "compare_p95_s": pct([r["done_s"] for r in by["playground"] if "done_s" in r], 95),
        "train_p50_s": pct([r["done_s"] for r in by["lab"] if "done_s" in r], 50),
        "train_p95_s": pct([r["done_s"] for r in by["lab"] if "done_s" in r], 95),
        "queued": len(told),
        "told_max_s": max((r["told_after_s"] for r in told), default=None),
        "told_texts": sorted({r["told"] for r in told})[:3],
        "failures": [f for r in records for f in r.get("failures", [])],
        "memory_peak": memory,
        "load_average": load,
    }


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table(rows: list[dict]) -> str:
    head = (
        "| visitors | light p50 / p95 s | playground page p95 s | compare p50 / p95 s | training p50 / p95 s "
        "| queued (told within s) | failures | peak RSS server / all MiB | load avg |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        m = r["memory_peak"]
        lines.append(
            f"| {r['visitors']} | {fmt(r['light_p50_s'], 2)} / {fmt(r['light_p95_s'], 2)} "
            f"| {fmt(r['playground_page_p95_s'], 2)} | {fmt(r['compare_p50_s'])} / {fmt(r['compare_p95_s'])} "
            f"| {fmt(r['train_p50_s'])} / {fmt(r['train_p95_s'])} | {r['queued']} ({fmt(r['told_max_s'], 2)}) "
            f"| {len(r['failures'])} | {m['server_rss_mib']:.0f} / {m['tree_rss_mib']:.0f} | {r['load_average']:.1f} |"
        )
    return "\n".join(lines)


def browser_check(url: str, repeats: int = 3) -> dict:
    """Home page-ready in headless Chromium vs this client (same server, idle), and the same title."""
    from playwright.sync_api import sync_playwright

    async def client_ready() -> tuple[float, str]:
        async with Visitor(url) as v:
            run = await v.open("")
            title = next((t for _, kind, t in run.texts if kind == "heading"), "")
            return run.seconds, title

    client = [asyncio.run(client_ready()) for _ in range(repeats)]
    browser = []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(repeats):
            page = chromium.new_page()
            start = time.monotonic()
            page.goto(url)
            page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning] h1", timeout=120_000)
            browser.append((time.monotonic() - start, page.locator("h1").first.inner_text()))
            page.close()
        chromium.close()
    return {
        "client_home_s": statistics.median(s for s, _ in client),
        "chromium_home_s": statistics.median(s for s, _ in browser),
        "same_title": {t for _, t in client} == {t for _, t in browser},
        "title": browser[0][1],
        "note": "Chromium's time includes loading the page's JavaScript and opening the websocket; the client's "
        "starts at the rerun request.",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, nargs="+", default=[1, 5, 10, 25])
    parser.add_argument("--tokens", type=int, default=256, help="new tokens per playground answer")
    parser.add_argument("--steps", type=int, default=60, help="distillation steps per lab visitor")
    parser.add_argument("--browsers", type=int, default=5, help="visitors browsing during the slowdown check")
    parser.add_argument("--idle-exit", type=float, default=30.0, help="SLM_EXPLORER_WORKER_IDLE_S for the run")
    parser.add_argument("--ollama-delay", type=float, default=0.02, help="seconds between fake Ollama tokens")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=None,
        help="SLM_EXPLORER_WORKER_NICE for the run (default: the app's). On a machine shared with other "
        "busy processes, niced workers measure the neighbours rather than the app: 0 there.",
    )
    parser.add_argument("--browser-check", action="store_true")
    parser.add_argument("--skip-slowdown", action="store_true")
    args = parser.parse_args()

    app = App(args.idle_exit, args.ollama_delay, args.worker_nice)
    memory = Memory(app.server.pid)
    memory.start()
    result: dict = {"args": vars(args), "cpus": os.cpu_count(), "started_load_average": load_average()}
    try:
        time.sleep(3)
        result["idle"] = memory.sample()
        result["cold_start_s"] = asyncio.run(warm_up(app.url))
        print("cold start (first visit of each page):", result["cold_start_s"], flush=True)
        result["warm"] = memory.sample()  # every page opened once: libraries imported, nothing running
        if args.browser_check:
            result["browser_check"] = browser_check(app.url)
            print("browser check:", result["browser_check"], flush=True)
        rows, raw = [], {}
        for n in args.visitors:
            since, load = time.monotonic(), load_average()
            records = asyncio.run(mixed(app.url, n, args.tokens, args.steps))
            rows.append(summarize(n, records, memory.peak(since), load))
            raw[n] = records
            print(table(rows[-1:]).splitlines()[-1], flush=True)
        result["rows"], result["records"] = rows, raw
        if not args.skip_slowdown:
            since = time.monotonic()
            check = asyncio.run(slowdown(app.url, args.steps, args.browsers))
            alone, busy = check["alone"].get("done_s"), check["with_browsers"].get("done_s")
            check["slowdown"] = busy / alone if alone and busy else None
            check["browser_p95_s"] = pct(check["browser_pages_s"], 95)
            check["memory_peak"] = memory.peak(since)
            result["slowdown"] = check
        result["peak"] = memory.peak()
        # Workers idle out and closed tabs' sessions expire; expired sessions are dropped on the next visit.
        time.sleep(max(args.idle_exit, SESSION_TTL_S) + 10)
        asyncio.run(_visit(app.url, light, _set_event()))
        time.sleep(2)
        result["after"] = memory.sample()
        result["server_tracebacks"] = app.server_errors()
    finally:
        memory.stop()
        app.stop()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1, default=str))
    print()
    print(table(result["rows"]))
    idle, warm, peak, after = result["idle"], result["warm"], result["peak"], result["after"]
    print(
        f"\nmemory (MiB) server RSS idle {idle['server_rss_mib']:.0f}, after every page once "
        f"{warm['server_rss_mib']:.0f}, peak {peak['server_rss_mib']:.0f}, after the sessions ended "
        f"{after['server_rss_mib']:.0f}; server + workers RSS idle {idle['tree_rss_mib']:.0f}, peak "
        f"{peak['tree_rss_mib']:.0f}, after {after['tree_rss_mib']:.0f}; PSS peak {peak['tree_pss_mib']:.0f}"
    )
    if "slowdown" in result:
        s = result["slowdown"]
        print(
            f"training alone {fmt(s['alone'].get('done_s'))} s, with {s['browsers']} visitors browsing "
            f"{fmt(s['with_browsers'].get('done_s'))} s: {fmt(s['slowdown'], 2)}x (as the page reports the "
            f"training itself: {s['alone'].get('train_s_reported')} s and {s['with_browsers'].get('train_s_reported')}"
            f" s); their pages p95 {fmt(s['browser_p95_s'], 2)} s"
        )
    print(f"server tracebacks: {len(result['server_tracebacks'])}; wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
