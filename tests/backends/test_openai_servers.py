"""The OpenAI-compatible backend against real servers on loopback, serving the on-board SmolLM2.

``transformers serve`` (from ``transformers[serving]``, in requirements-dev.txt) serves the converted
folder; llama.cpp's server (``llama-cpp-python[server]``) serves the bundled GGUF where it is
installed (it compiles for about ten minutes, so CI does not build it: those tests skip with the
reason). One server per module, a few tokens per answer: these tests start a process and load a
model, so they are marked slow.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from slm_lib.backends import get_backend
from slm_lib.backends.openai_endpoints import Endpoint
from slm_lib.chat import BackendUnavailable, ChatOptions, ModelNotFound
from slm_lib.eval.config import RunConfig
from slm_lib.eval.questions import QuestionItem
from slm_lib.eval.runs import execute_run
from slm_lib.eval.store import RunStore
from slm_lib.smollm import loader

pytestmark = pytest.mark.slow

KEY = "sk-loopback-test"
START_S = 240  # loading a model on a busy 2-core machine
QUESTIONS = (
    QuestionItem("What is the capital of France?", "The capital of France is Paris.", "Facts"),
    QuestionItem("What colour is a clear daytime sky?", "A clear daytime sky is blue.", "Facts"),
)
FEW = ChatOptions(max_new_tokens=6, seed=0)


@dataclass(frozen=True)
class RealServer:
    kind: str
    base_url: str
    api_key: str | None
    model: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _command(kind: str, port: int) -> tuple[list[str], str | None, str]:
    """(command line, API key, model id as the server lists it) or a skip."""
    if kind == "transformers serve":
        missing = _missing("fastapi", "uvicorn", "openai")
        if missing:
            pytest.skip(f"transformers serve needs {missing}: pip install -r requirements-dev.txt")
        folder = str(loader.convert()) if not loader.is_converted() else str(loader.converted_dir())
        run = "from transformers.cli.transformers import main; main()"
        cmd = [sys.executable, "-c", run, "serve", "--host", "127.0.0.1", "--port", str(port), folder]
        return cmd, None, folder
    missing = _missing("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")
    if missing:
        pytest.skip(f"llama.cpp's server is not installed ({', '.join(missing)} missing): llama-cpp-python[server]")
    gguf = str(loader.gguf_path())
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", "smollm2"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--api_key", KEY, "--n_ctx", "2048"]
    return cmd, KEY, "smollm2"


@pytest.fixture(scope="module", params=["transformers serve", "llama.cpp"])
def server(request, tmp_path_factory) -> Iterator[RealServer]:
    try:
        loader.gguf_path()
    except loader.ModelMissing as exc:
        pytest.skip(str(exc))
    port = _free_port()
    cmd, key, model = _command(request.param, port)
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", NO_PROXY="127.0.0.1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_until_ready(proc, f"http://127.0.0.1:{port}/v1/models", key, log)
        yield RealServer(request.param, f"http://127.0.0.1:{port}/v1", key, model)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_until_ready(proc: subprocess.Popen, url: str, key: str | None, log: Path) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the server did not answer within {START_S} s:\n{log.read_text(errors='replace')[-2000:]}")


def _backend(server: RealServer, **kw):
    return get_backend("openai", base_url=server.base_url, api_key=server.api_key, name="real", **kw)


def test_lists_the_served_model(server):
    assert server.model in _backend(server).list_models()


def test_streams_a_real_answer_with_usage_counts(server):
    stream = _backend(server).stream_chat(server.model, [{"role": "user", "content": QUESTIONS[0].question}], FEW)
    chunks = list(stream)
    assert len(chunks) >= 2 and "".join(chunks).strip(), chunks
    stats = stream.stats
    if server.kind == "transformers serve":
        assert stats.source == "usage", "it sends usage when stream_options.include_usage asks for it"
    if stats.source == "estimated":  # llama-cpp-python ignores stream_options: counted from the chunks
        assert stats.completion_tokens == len([c for c in chunks if c]) and stats.prompt_tokens == 0
    else:
        assert stats.prompt_tokens > 10  # SmolLM2's chat template adds a system message
    assert 1 <= stats.completion_tokens <= FEW.max_new_tokens + 1
    assert 0 < stats.ttft_seconds <= stats.total_seconds and stats.tokens_per_second > 0


def test_a_model_it_does_not_serve_or_a_missing_key_is_refused_clearly(server):
    if server.api_key is not None:  # llama.cpp runs with --api_key: a missing key is a real 401
        with pytest.raises(BackendUnavailable, match="needs an API key \\(401"):
            get_backend("openai", base_url=server.base_url, name="real").list_models()
    else:  # transformers serve pins the model it was started with
        with pytest.raises(ModelNotFound, match="'no-such/model' is not served by endpoint 'real'"):
            _backend(server).stream_chat("no-such/model", [{"role": "user", "content": "Hi"}], FEW)


def test_an_evaluation_run_through_the_server_beside_the_on_board_model(server, tmp_path):
    """Two lanes at once: the server and the in-process model. Both run SmolLM2-135M-Instruct greedily:
    ``transformers serve`` from the same float32 weights gives the on-board backend's exact answer."""
    router = get_backend("openai", endpoints=[Endpoint("real", server.base_url, server.api_key)])
    store = RunStore(tmp_path / "runs.sqlite3")
    served = f"openai:real/{server.model}"
    cfg = RunConfig(models=(served, "embedded:smollm2-135m"), questions=QUESTIONS, options=FEW)
    final = execute_run(store, store.create_run(cfg), {"openai": router, "embedded": get_backend("embedded")})
    assert final.status == "finished" and final.errors == 0, final.model_status
    assert set(final.lanes) == {"openai:real", "embedded"} and all(p.done == 2 for p in final.lanes.values())
    rows = {(r.model, r.question_idx): r for r in store.results(final.run_id)}
    for q in range(len(QUESTIONS)):
        ours, theirs = rows[("embedded:smollm2-135m", q)], rows[(served, q)]
        assert theirs.complete and theirs.answer.strip() and -1.0 <= theirs.score <= 1.0
        if server.kind == "transformers serve":
            assert theirs.answer == ours.answer
    store.close()
