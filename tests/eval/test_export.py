"""Exports: CSV / JSON of every answer, and the Colab notebook (valid nbformat, the article's steps)."""

from __future__ import annotations

import ast
import csv
import io
import json
import sys
import types

import nbformat
import numpy as np
import pytest

from slm_lib.chat import ChatOptions, ChatResult, ChatStats
from slm_lib.eval.config import RunConfig
from slm_lib.eval.export import COLUMNS, build_notebook, notebook_bytes, results_csv, results_json
from slm_lib.eval.questions import QuestionItem
from slm_lib.eval.runs import execute_run
from slm_lib.eval.store import RunStore

QUESTIONS = (
    QuestionItem("What is the length of hypotenuse in a right angled triangle", "c = sqrt(a^2 + b^2)", "Math"),
    QuestionItem("Say hi", "hi", "Chat"),
)
TEMPLATE = "Question: {question}\n\nAnswer: Let's think step by step. {{literal braces}}"


class Backend:
    kind = "ollama"

    def __init__(self, texts):
        self.texts = iter(texts)

    def list_models(self):
        return []

    def chat(self, model, messages, options=None):
        return ChatResult(
            model, next(self.texts), ChatStats(completion_tokens=4, total_seconds=0.2, tokens_per_second=20.0)
        )

    def stream_chat(self, model, messages, options=None):
        raise NotImplementedError


@pytest.fixture
def finished_run(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite3")
    cfg = RunConfig(
        models=("ollama:llama3.2", "embedded:smollm2-135m"),
        questions=QUESTIONS,
        template=TEMPLATE,
        options=ChatOptions(max_new_tokens=64, seed=3),
        repeats=2,
        temperatures=(0.0, 0.7),
    )
    run_id = store.create_run(cfg)
    answers = ['=HYPERLINK("http://x")', '-1+HYPERLINK("http://x")', "c = sqrt(a^2 + b^2)", 'héllo, "quoted"\nline'] * 4
    backends = {"ollama": Backend(answers[:8]), "embedded": Backend(answers[8:])}
    execute_run(store, run_id, backends, scorer=lambda a, r: [0.5] * len(a))
    yield store.get_run(run_id), store.results(run_id)
    store.close()


def test_csv_has_every_answer_with_stats_and_score_and_defuses_formulas(finished_run):
    record, rows = finished_run
    data = results_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(parsed) == len(rows) == 16 and tuple(parsed[0]) == COLUMNS
    answers = {p["answer"] for p in parsed}
    assert '\'=HYPERLINK("http://x")' in answers, "a formula-looking answer is prefixed for spreadsheets"
    assert '\'-1+HYPERLINK("http://x")' in answers, "every cell starting with - is a formula to a spreadsheet (OWASP)"
    assert {"c = sqrt(a^2 + b^2)", 'héllo, "quoted"\nline'} <= answers, "ordinary text is unchanged"
    assert {p["score"] for p in parsed} == {"0.5"} and {p["tokens_per_second"] for p in parsed} == {"20.0"}


def test_json_holds_settings_and_every_answer(finished_run):
    record, rows = finished_run
    data = json.loads(results_json(record, rows))
    assert RunConfig.from_dict(data["run"]["settings"]) == record.config
    assert len(data["results"]) == 16 and set(data["results"][0]) == set(COLUMNS)
    assert data["results"][0]["answer"] == rows[0].answer


def test_notebook_is_valid_nbformat_with_the_articles_steps(finished_run):
    record, rows = finished_run
    nb = nbformat.reads(notebook_bytes(record, rows).decode(), as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    text = "\n".join(c.source for c in nb.cells)
    assert f"run #{record.id}" in nb.cells[0].source
    assert "!curl -fsSL https://ollama.com/install.sh | sh" in code[0]
    assert "!pip install langchain-ollama sentence-transformers" in code[0]
    assert 'subprocess.Popen(["ollama", "serve"])' in code[2]
    assert code[3].splitlines() == ["!ollama pull llama3.2", "!ollama pull smollm2:135m"]
    assert "from langchain_ollama.llms import OllamaLLM" in code[1]
    assert "chain = prompt | model" in text and 'SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")' in text
    assert (
        "What SLM Explorer measured" in nb.cells[-1].source and "| ollama\\:llama3\\.2 | 0.500 |" in nb.cells[-1].source
    )
    for source in code:  # every code cell is valid Python once the shell lines are dropped
        compile("\n".join(line for line in source.splitlines() if not line.startswith("!")), "cell", "exec")


def test_notebook_constants_reproduce_the_run_settings(finished_run):
    record, _ = finished_run
    constants = {}
    for node in ast.parse(build_notebook(record).cells[10].source).body:
        if isinstance(node, ast.Assign):
            constants[node.targets[0].id] = ast.literal_eval(node.value)
    assert constants["QUESTIONS"] == [
        {"question": q.question, "reference": q.reference, "category": q.category} for q in QUESTIONS
    ]
    assert constants["TEMPLATE"] == TEMPLATE, "templates use LangChain's syntax as they are"
    assert constants["MODELS"] == {"ollama:llama3.2": "llama3.2", "embedded:smollm2-135m": "smollm2:135m"}
    assert (
        constants["TEMPERATURES"],
        constants["REPEATS"],
        constants["MAX_NEW_TOKENS"],
        constants["SEED"],
    ) == ([0.0, 0.7], 2, 64, 3)


def test_notebook_code_runs_end_to_end_with_stand_in_libraries(finished_run, monkeypatch):
    """Execute steps 2 and 5-8 with tiny stand-ins for langchain, Ollama and sentence-transformers."""
    record, _ = finished_run
    invoked = []

    class Prompt:
        @staticmethod
        def from_template(template):
            return Prompt()

        def __or__(self, model):
            return types.SimpleNamespace(invoke=lambda inputs: invoked.append((model.kw, inputs)) or "an answer")

    class OllamaLLM:
        def __init__(self, **kw):
            self.kw = kw

    class SentenceTransformer:
        def __init__(self, name):
            assert name == "sentence-transformers/all-MiniLM-L6-v2"

        def encode(self, texts, batch_size, normalize_embeddings):
            return np.ones((len(texts), 4)) / 2.0  # unit vectors: every score is 1.0

    for name, attrs in {
        "langchain_core": {},
        "langchain_core.prompts": {"ChatPromptTemplate": Prompt},
        "langchain_ollama": {},
        "langchain_ollama.llms": {"OllamaLLM": OllamaLLM},
        "sentence_transformers": {"SentenceTransformer": SentenceTransformer},
        "IPython": {},
        "IPython.display": {"Markdown": str, "display": lambda obj: None},
    }.items():
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(**attrs))
    namespace: dict = {}
    cells = [c for c in build_notebook(record).cells if c.cell_type == "code"]
    for index in (
        1,
        4,
        5,
        6,
        7,
    ):  # imports, constants, ask, score, leaderboard (skip installs and `ollama serve`)
        exec(compile(cells[index].source, f"cell{index}", "exec"), namespace)
    assert len(namespace["results"]) == len(invoked) == 2 * 2 * 2 * 2  # models x temperatures x repeats x questions
    assert invoked[0] == (
        {"model": "llama3.2", "temperature": 0.0, "num_predict": 64, "seed": 3},
        {"question": QUESTIONS[0].question},
    )
    assert invoked[2][0]["seed"] == 4, "the second repeat uses the next seed"
    board = namespace["board"]
    assert list(board.index) == ["embedded:smollm2-135m", "ollama:llama3.2"]
    assert board["mean_similarity"].tolist() == pytest.approx([1.0, 1.0])
    assert board["stability"].tolist() == pytest.approx([0.0, 0.0])


# ---- runs on OpenAI-compatible endpoints ----------------------------------------------------------


def _openai_run(tmp_path, models):
    from slm_lib.eval.store import RunRecord

    cfg = RunConfig(models=models, questions=QUESTIONS, template=TEMPLATE, system_prompt="Be brief.", repeats=1)
    return RunRecord(7, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", "finished", cfg)


def _stand_in_openai(monkeypatch, calls):
    class Completions:
        def __init__(self, client):
            self.client = client

        def create(self, **kw):
            calls.append((self.client, kw))
            message = types.SimpleNamespace(content=f"answer from {kw['model']}")
            return types.SimpleNamespace(choices=[types.SimpleNamespace(message=message)])

    class OpenAI:
        def __init__(self, base_url, api_key):
            self.base_url, self.api_key = base_url, api_key
            self.chat = types.SimpleNamespace(completions=Completions(self))

    monkeypatch.setitem(sys.modules, "openai", types.SimpleNamespace(OpenAI=OpenAI))


def test_notebook_reproduces_openai_endpoints_without_ever_holding_a_key(tmp_path, monkeypatch):
    from slm_lib.backends.openai_endpoints import Endpoint
    from slm_lib.eval.notebook_openai import PLACEHOLDER_BASE_URL
    from slm_lib.eval.prompting import build_messages

    models = ("ollama:llama3.2", "openai:local//models/smollm2", "openai:fleet/Qwen/Qwen2.5-1.5B-Instruct")
    record = _openai_run(tmp_path, models)
    endpoints = [Endpoint("local", "127.0.0.1:8000", api_key="sk-never-in-a-notebook")]
    raw = notebook_bytes(record, endpoints=endpoints)
    assert b"sk-never" not in raw
    nb = nbformat.reads(raw.decode(), as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code[0].endswith("pandas openai") and code[3] == "!ollama pull llama3.2", "no shell line for endpoints"
    constants = {}
    for node in ast.parse(code[4]).body:
        if isinstance(node, ast.Assign) and node.targets[0].id in ("ENDPOINTS", "OPENAI_MODELS", "MODELS"):
            constants[node.targets[0].id] = ast.literal_eval(node.value)
    assert constants == {
        "MODELS": {"ollama:llama3.2": "llama3.2"},
        "ENDPOINTS": {"local": "http://127.0.0.1:8000/v1", "fleet": PLACEHOLDER_BASE_URL},
        "OPENAI_MODELS": {
            "openai:local//models/smollm2": ["local", "/models/smollm2"],
            "openai:fleet/Qwen/Qwen2.5-1.5B-Instruct": ["fleet", "Qwen/Qwen2.5-1.5B-Instruct"],
        },
    }
    assert "Step 6b" in "\n".join(c.source for c in nb.cells)

    calls = []
    _stand_in_openai(monkeypatch, calls)
    monkeypatch.setenv("OPENAI_API_KEY_LOCAL", "sk-from-the-environment")
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    namespace: dict = {"time": __import__("time")}
    for source in (code[4].split("\nif SYSTEM_PROMPT:")[0], code[6]):  # constants (not the langchain prompt), 6b
        exec(compile(source, "cell", "exec"), namespace)
    assert len(namespace["results"]) == len(calls) == 2 * len(QUESTIONS)
    client, kw = calls[0]
    assert (client.base_url, client.api_key) == ("http://127.0.0.1:8000/v1", "sk-from-the-environment")
    assert calls[-1][0].api_key == "none", "an endpoint without a key sends a placeholder, as the client requires"
    assert kw["messages"] == build_messages(TEMPLATE, QUESTIONS[0].question, "Be brief."), "the app's exact messages"
    assert (kw["model"], kw["max_tokens"], kw["seed"], kw["temperature"]) == ("/models/smollm2", 128, 0, 0.0)


def test_a_notebook_for_endpoints_only_skips_ollama_and_runs(tmp_path, monkeypatch):
    record = _openai_run(tmp_path, ("openai:local/smollm2",))
    nb = build_notebook(record)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "ollama" not in code.lower() and "langchain_" not in code, "no Ollama to install, no LangChain to import"
    calls = []
    _stand_in_openai(monkeypatch, calls)
    monkeypatch.setattr("getpass.getpass", lambda prompt: "typed-key")

    class SentenceTransformer:
        def __init__(self, name):
            pass

        def encode(self, texts, batch_size, normalize_embeddings):
            return np.ones((len(texts), 4)) / 2.0

    monkeypatch.setitem(
        sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=SentenceTransformer)
    )
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace())
    monkeypatch.setitem(sys.modules, "IPython.display", types.SimpleNamespace(Markdown=str, display=lambda obj: None))
    namespace: dict = {}
    for source in [c.source for c in nb.cells if c.cell_type == "code"][1:]:  # everything but the pip line
        exec(compile(source, "cell", "exec"), namespace)
    assert calls[0][0].api_key == "typed-key" and len(namespace["results"]) == len(QUESTIONS)
    assert list(namespace["board"].index) == ["openai:local/smollm2"]


def test_hostile_model_names_never_reach_a_notebook_shell_line(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite3")
    hostile = ("ollama:x; curl http://127.0.0.1:9/x | sh", "ollama:y$(id)", "ollama:{__import__('os')}")
    cfg = RunConfig(models=(*hostile, "ollama:llama3.2:1b", "embedded:smollm2-135m"), questions=QUESTIONS)
    record = store.get_run(store.create_run(cfg))
    nb = build_notebook(record, [])
    shell = [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines() if line.startswith("!")]
    pulls = [line for line in shell if line.startswith("!ollama pull")]
    assert pulls == ["!ollama pull llama3.2:1b", "!ollama pull smollm2:135m"]
    assert not any(bad in "\n".join(shell) for bad in ("curl http", "$(", "__import__"))
    assert "Left out, because their names are not valid Ollama tags" in nb.cells[0].source
    store.close()
