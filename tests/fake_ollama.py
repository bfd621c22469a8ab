"""A loopback HTTP server that answers like Ollama, for tests (no Ollama binary exists here).

It speaks the endpoints the app uses, shaped as in Ollama's API docs (docs/api.md):
``GET /api/tags``, ``POST /api/chat`` (NDJSON stream with a final stats object, or one
object with ``"stream": false``), ``POST /api/pull`` (NDJSON progress), ``GET /api/version``,
``POST /api/show`` and ``GET /``, and Ollama's OpenAI-compatible ``/v1/models`` and
``/v1/chat/completions`` (``tests.fake_openai.OpenAIRoutes``, with the same installed models and
modes). Answers are canned and deterministic per model.

Failure modes (``server.mode`` for every request, or ``server.model_modes[name]`` per model):

| mode | behaviour |
|---|---|
| ``ok`` | normal answers |
| ``not_found`` | chat/show answer 404 ``{"error": "model \\"x\\" not found, try pulling it first"}`` |
| ``mid_stream_error`` | three chunks, then ``{"error": ...}`` inside the 200 stream |
| ``busy`` | 503 ``{"error": "server busy, please try again.  maximum pending requests exceeded"}`` |
| ``rate_limited`` | 429 |
| ``busy_once`` | 503 for the first request to an endpoint, then normal |
| ``hang`` | reads the request, never answers (until the server stops) |
| ``html`` | 200 ``text/html`` page (another web server on the port) |
| ``die`` | three chunks, then the connection is cut mid-body |
| ``redirect`` | 307 to a link-local address (must not be followed) |
| ``hostile`` | names, answers and error bodies made to get past a sanitizer; URLs point at ``server.attacker`` |
| ``stats_huge`` | a normal answer whose final message says ``eval_count`` 10^30 |
| ``stats_nan`` / ``stats_negative`` | the same with ``NaN``/infinite or negative durations and counts |

Run standalone: ``python -m tests.fake_ollama --port 11435 [--delay 0.02] [--mode hostile --attacker URL]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fake_openai import OpenAIRoutes

VERSION = "0.17.1"
CREATED = "2025-01-15T10:00:00.000000Z"
BUSY = "server busy, please try again.  maximum pending requests exceeded"
HYPOTENUSE = {
    "llama3.2:1b": (
        "To find the hypotenuse of a right-angled triangle, use the Pythagorean theorem: "
        "c = sqrt(a^2 + b^2), where a and b are the two legs. For example, legs 3 and 4 give "
        "a hypotenuse of sqrt(9 + 16) = 5."
    ),
    "qwen2:1.5b": (
        "A right triangle has one angle of 90 degrees. The longest side is opposite that angle. "
        "Triangles are studied in geometry and trigonometry."
    ),
}
# name -> (family, parameter_size, quantization, size in bytes, tokens per second)
INSTALLED = {
    "llama3.2:1b": ("llama", "1.2B", "Q8_0", 1_321_098_329, 50.0),
    "qwen2:1.5b": ("qwen2", "1.5B", "Q4_0", 934_964_102, 80.0),
}
PULLABLE = {
    "gemma2:2b": ("gemma2", "2.6B", "Q4_0", 1_629_518_495, 35.0),
    "phi3.5": ("phi3", "3.8B", "Q4_0", 2_176_178_913, 25.0),
    "llama3.2:3b": ("llama", "3.2B", "Q4_K_M", 2_019_393_189, 30.0),
    "qwen2:1.5b": INSTALLED["qwen2:1.5b"],
    "mistral:7b": ("llama", "7.2B", "Q4_0", 4_113_301_824, 12.0),
}


# Hostile mode: {a} is the attacker's URL. Names are what /api/tags lists; one of them fails with an error body.
HOSTILE_NAMES = (
    "evil![n]({a}/name.png):latest",
    "<img src={a}/name2.png>",
    "[Log in again]({a}/login)",
    "fails![e]({a}/err-name.png)",
)
HOSTILE_ERROR = "model failed ![e]({a}/error.png) [Log in again]({a}/login) <img src={a}/error2.png>"
HOSTILE_ANSWER = (
    "Answer with ![a]({a}/answer.png) and \\`![b]({a}/escaped.png)\\`\n\n"
    "    ```\n    ![c]({a}/indented.png)\n    ```\n\n"
    "```\n![d]({a}/in-fence.png)\n`````\n![e]({a}/after-longer-fence.png)\n\n"
    "![f][ref] [link][ref] <{a}/autolink> [x](jav&#x61;script:alert(1)) [y](data:text/html,<b>x</b>)\n\n"
    '[t]({a}/titled "title") <img src={a}/raw.png> <iframe src={a}/frame></iframe>\n\n'
    "$$\\includegraphics{{{a}/math.png}}$$\n\n"
    "[ref]: {a}/ref.png 'ref title'\n"
)


def hostile_names(attacker: str) -> list[str]:
    return [name.format(a=attacker) for name in HOSTILE_NAMES]


def canned_answer(model: str, prompt: str) -> str:
    """The deterministic answer ``model`` gives to ``prompt``; ``ECHO:`` makes it repeat the rest verbatim."""
    if "ECHO:" in prompt:
        return prompt.split("ECHO:", 1)[1].split("\n\nAnswer:")[0].strip()
    if "hypotenuse" in prompt.lower() and model in HYPOTENUSE:
        return HYPOTENUSE[model]
    words = " ".join(prompt.split()[:12])
    return f"{model} answers: {words}. Step 1: read the question. Step 2: answer it briefly."


def tokens(text: str) -> list[str]:
    """Split like a tokenizer might: words with their leading space."""
    out, word = [], ""
    for ch in text:
        if ch == " " and word:
            out.append(word)
            word = ""
        word += ch
    return out + ([word] if word else [])


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


class FakeOllama(ThreadingHTTPServer):
    """The server; ``mode``, ``model_modes``, ``delay`` and ``requests`` are for tests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.mode = "ok"
        self.model_modes: dict[str, str] = {}
        self.delay = delay
        self.installed = dict(INSTALLED)
        self.attacker = "http://127.0.0.1:9"  # where the hostile mode's URLs point
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, json body)
        self.headers: list[dict[str, str]] = []  # request headers, lower-cased names
        self.seen: dict[str, int] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def openai_models(self) -> dict[str, float]:
        """What ``/v1/models`` lists: the installed models and their speeds."""
        return {name: spec[4] for name, spec in self.installed.items()}

    def mode_for(self, path: str, model: str | None) -> str:
        mode = self.model_modes.get(model or "", self.mode)
        if mode == "busy_once":
            with self.lock:
                self.seen[path] = self.seen.get(path, 0) + 1
                return "busy" if self.seen[path] == 1 else "ok"
        return mode

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class _Handler(OpenAIRoutes, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeOllama

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    # ---- plumbing ----

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            data = {}
        return data if isinstance(data, dict) else {}

    def _send(self, status: int, payload: object, content_type: str = "application/json; charset=utf-8"):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _line(self, obj: dict) -> None:
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut(self) -> None:
        """Drop the connection mid-body, as a crashed server would."""
        self.close_connection = True
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def _failure(self, mode: str, model: str | None) -> bool:
        """Answer a failure mode common to all endpoints; True when answered."""
        if mode == "hang":
            self.server.stopping.wait(60)
            self.close_connection = True
            return True
        if mode == "html":
            page = b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>hi</body></html>"
            self._send(200, page, "text/html")
            return True
        if mode == "redirect":
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if mode == "busy":
            self._send(503, {"error": BUSY})
            return True
        if mode == "rate_limited":
            self._send(429, {"error": "too many requests"})
            return True
        if mode == "not_found" and model is not None:
            self._send(404, {"error": f'model "{model}" not found, try pulling it first'})
            return True
        return False

    # ---- routes ----

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, {}))
        self.server.headers.append({k.lower(): v for k, v in self.headers.items()})
        if self.path == "/":
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
            return
        if self.path.startswith("/v1/"):
            if not self.openai_get(self.path):
                self._send(404, b"404 page not found", "text/plain")
            return
        if self._failure(self.server.mode_for(self.path, None), None):
            return
        if self.path == "/api/version":
            self._send(200, {"version": VERSION})
        elif self.path == "/api/tags":
            names = sorted(self.server.installed)
            if self.server.mode == "hostile":
                names += hostile_names(self.server.attacker)
            self._send(200, {"models": [self._tag(name) for name in names]})
        else:
            self._send(404, b"404 page not found", "text/plain")

    def do_POST(self) -> None:
        body = self._body()
        self.server.requests.append(("POST", self.path, body))
        self.server.headers.append({k.lower(): v for k, v in self.headers.items()})
        if self.path.startswith("/v1/"):
            if not self.openai_post(self.path, body):
                self._send(404, b"404 page not found", "text/plain")
            return
        model = body.get("model") if isinstance(body.get("model"), str) else None
        routes = {"/api/chat": self._chat, "/api/pull": self._pull, "/api/show": self._show}
        if self.path not in routes:
            self._send(404, b"404 page not found", "text/plain")
            return
        mode = self.server.mode_for(self.path, model)
        if self.path == "/api/pull" and mode == "not_found":
            mode = "ok"  # a pull of an unknown tag fails inside the stream instead
        if not model:
            self._send(400, {"error": "model is required"})
        elif not self._failure(mode, model):
            routes[self.path](body, model, mode)

    def _tag(self, name: str) -> dict:
        family, params, quant, size, _ = self.server.installed.get(name, INSTALLED["llama3.2:1b"])
        return {
            "name": name,
            "model": name,
            "modified_at": CREATED,
            "size": size,
            "digest": _digest(name),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": family,
                "families": [family],
                "parameter_size": params,
                "quantization_level": quant,
            },
        }

    def _show(self, body: dict, model: str, mode: str) -> None:
        if model not in self.server.installed:
            self._send(404, {"error": f"model '{model}' not found"})
            return
        family, params, quant, _, _ = self.server.installed[model]
        self._send(
            200,
            {
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {model}\n',
                "parameters": 'stop                           "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": self._tag(model)["details"],
                "model_info": {
                    "general.architecture": family,
                    "general.parameter_count": int(float(params.rstrip("B")) * 1e9),
                    f"{family}.context_length": 32768 if family == "qwen2" else 131072,
                },
                "capabilities": ["completion"],
                "modified_at": CREATED,
            },
        )

    def _chat(self, body: dict, model: str, mode: str) -> None:
        hostile = mode == "hostile" and model in hostile_names(self.server.attacker)
        if hostile and model.startswith("fails"):
            self._send(500, {"error": HOSTILE_ERROR.format(a=self.server.attacker)})
            return
        if model not in self.server.installed and not hostile:
            self._send(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        messages = body.get("messages") or []
        prompt = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        options = body.get("options") or {}
        answer = HOSTILE_ANSWER.format(a=self.server.attacker) if mode == "hostile" else canned_answer(model, prompt)
        pieces = tokens(answer)
        limit = int(options.get("num_predict") or 0)
        reason = "stop"
        if 0 < limit < len(pieces):
            pieces, reason = pieces[:limit], "length"
        speed = self.server.installed.get(model, INSTALLED["llama3.2:1b"])[4]
        prompt_count = max(1, len(prompt.split()))
        stats = {
            "done_reason": reason,
            "done": True,
            "total_duration": 0,
            "load_duration": 150_000_000,
            "prompt_eval_count": prompt_count,
            "prompt_eval_duration": prompt_count * 2_000_000,
            "eval_count": len(pieces),
            "eval_duration": int(len(pieces) / speed * 1e9),
        }
        parts = ("load_duration", "prompt_eval_duration", "eval_duration")
        stats["total_duration"] = sum(stats[k] for k in parts)
        if mode == "stats_huge":
            stats["eval_count"] = 10**30
        elif mode == "stats_nan":
            stats.update(eval_duration=float("nan"), total_duration=float("nan"), load_duration=float("inf"))
        elif mode == "stats_negative":
            stats.update(total_duration=-5_000_000_000, eval_duration=-1, prompt_eval_count=-3)
        if body.get("stream") is False:
            message = {"role": "assistant", "content": "".join(pieces)}
            self._send(200, {"model": model, "created_at": CREATED, "message": message, **stats})
            return
        self._start_stream()
        for i, piece in enumerate(pieces):
            if mode in ("mid_stream_error", "die") and i == 3:
                if mode == "die":
                    self._cut()
                    return
                self._line({"error": "an error was encountered while running the model: unexpected EOF"})
                self._end_stream()
                return
            message = {"role": "assistant", "content": piece}
            self._line({"model": model, "created_at": CREATED, "message": message, "done": False})
            if self.server.delay:
                time.sleep(self.server.delay)
        message = {"role": "assistant", "content": ""}
        self._line({"model": model, "created_at": CREATED, "message": message, **stats})
        self._end_stream()

    def _pull(self, body: dict, model: str, mode: str) -> None:
        self._start_stream()
        self._line({"status": "pulling manifest"})
        if model not in PULLABLE:
            self._line({"error": "pull model manifest: file does not exist"})
            self._end_stream()
            return
        size = PULLABLE[model][3]
        digest = "sha256:" + _digest(model)
        for step in range(5):
            done = size * step // 4
            line = {"status": f"pulling {digest[7:19]}", "digest": digest, "total": size, "completed": done}
            self._line(line)
            if mode == "die" and step == 2:
                self._cut()
                return
            if self.server.delay:
                time.sleep(self.server.delay)
        for status in ("verifying sha256 digest", "writing manifest", "success"):
            self._line({"status": status})
        self.server.installed[model] = PULLABLE[model]
        self._end_stream()


@contextmanager
def running(port: int = 0, delay: float = 0.0) -> Iterator[FakeOllama]:
    """Start a FakeOllama on a background thread; stop it on exit."""
    server = FakeOllama(port, delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake Ollama server on 127.0.0.1 for tests.")
    parser.add_argument("--port", type=int, default=11435)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between streamed chunks")
    parser.add_argument("--mode", default="ok", help="failure mode for every request")
    parser.add_argument("--attacker", default="http://127.0.0.1:9", help="URL the hostile mode's links point at")
    args = parser.parse_args()
    server = FakeOllama(args.port, args.delay)
    server.mode, server.attacker = args.mode, args.attacker.rstrip("/")
    print(f"fake Ollama on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
