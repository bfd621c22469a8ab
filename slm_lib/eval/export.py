"""Export a run: every answer as CSV or JSON, and a Jupyter notebook that reproduces it on Colab.

The notebook follows the source article's Google Colab steps: install and start Ollama, pull
the models, ask the questions through the same prompt template with ``langchain-ollama``
(``ChatPromptTemplate | OllamaLLM``), then score the answers with sentence-transformers'
``all-MiniLM-L6-v2`` and build the leaderboard with pandas. Models on OpenAI-compatible endpoints
(``openai:<endpoint>/<model>``) are asked with the official ``openai`` client at the endpoint's base
URL; their keys are read from ``OPENAI_API_KEY_<ENDPOINT>`` or typed in, never written into the notebook.

Everything in a run came from outside the code (model names from a server, uploaded questions),
so each export escapes it for its format: a model name reaches the notebook's ``!ollama pull``
shell line only if it is a valid Ollama tag, and then quoted (``shlex``); code cells hold values as
Python literals; Markdown cells show outside text literally (``safe_text.plain``); every CSV cell
that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with ``'`` (OWASP's
rule against formula injection).

Example:
    record = store.get_run(run_id)
    Path("run.ipynb").write_bytes(notebook_bytes(record, store.results(run_id)))
"""

from __future__ import annotations

import csv
import io
import json
import shlex
from collections.abc import Sequence

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from slm_lib.backends.ollama_host import validate_tag
from slm_lib.backends.openai_endpoints import Endpoint
from slm_lib.eval.config import split_model_id
from slm_lib.eval.leaderboard import leaderboard
from slm_lib.eval.notebook_openai import (
    OPENAI_CODE,
    OPENAI_INTRO,
    OPENAI_NOTE,
    OPENAI_ONLY_IMPORTS,
    OPENAI_ONLY_INSTALL,
    OPENAI_ONLY_TEXT,
    openai_settings,
)
from slm_lib.eval.store import STAT_FIELDS, ResultRow, RunRecord
from slm_lib.safe_text import plain

__all__ = [
    "COLUMNS",
    "EMBEDDED_OLLAMA_TAG",
    "build_notebook",
    "notebook_bytes",
    "results_csv",
    "results_json",
]

COLUMNS = (
    "run_id",
    "model",
    "category",
    "question_idx",
    "question",
    "reference",
    "repeat",
    "temperature",
    "answer",
    "complete",
    "error",
    "score",
    "overall",
    "flags",
    *STAT_FIELDS,
)
# The embedded model is SmolLM2-135M-Instruct; Ollama's library serves the same model under this tag.
EMBEDDED_OLLAMA_TAG = "smollm2:135m"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: a cell starting so is a formula


# The notebook's fixed code cells, as a reader sees them (the run's settings go into Step 5).
_INTRO = (
    "Runs on Google Colab (a GPU runtime makes it faster) or any Linux machine, following the steps of the "
    "source article: install and start Ollama, pull the models, ask the questions with the same prompt "
    "template through `langchain-ollama`, then score each answer against its reference with "
    "sentence-transformers `all-MiniLM-L6-v2` (cosine similarity)."
)
_INSTALL_CODE = """\
!sudo apt update
!sudo apt install -y pciutils
!curl -fsSL https://ollama.com/install.sh | sh
!pip install langchain-ollama sentence-transformers pandas"""
_IMPORT_CODE = """\
import subprocess
import threading
import time

import pandas as pd
from IPython.display import Markdown, display
from langchain_core.prompts import ChatPromptTemplate
from langchain_ollama.llms import OllamaLLM"""
_SERVE_CODE = """\
def run_ollama_serve():
    subprocess.Popen(["ollama", "serve"])


thread = threading.Thread(target=run_ollama_serve)
thread.start()
time.sleep(5)"""
_PROMPT_CODE = """
if SYSTEM_PROMPT:
    prompt = ChatPromptTemplate.from_messages([("system", SYSTEM_PROMPT), ("human", TEMPLATE)])
else:
    prompt = ChatPromptTemplate.from_template(TEMPLATE)"""
_ASK_CODE = """\
for model_id, tag in MODELS.items():
    for temperature in TEMPERATURES:
        for repeat in range(REPEATS):
            seed = None if SEED is None else SEED + repeat  # repeats differ when sampling
            model = OllamaLLM(model=tag, temperature=temperature, num_predict=MAX_NEW_TOKENS, seed=seed)
            chain = prompt | model
            for idx, item in enumerate(QUESTIONS):
                start = time.perf_counter()
                answer = chain.invoke({"question": item["question"]})
                seconds = time.perf_counter() - start
                results.append({"model": model_id, "temperature": temperature, "repeat": repeat,
                                "question_idx": idx, **item, "answer": answer, "seconds": seconds})
    print(f"{model_id}: done")

display(Markdown(results[0]["answer"]))"""
_SCORE_TEXT = (
    "## Step 7: score the answers against the references\n\n"
    "Cosine similarity of `all-MiniLM-L6-v2` embeddings, computed in batches. The app splits answers longer "
    "than the model's 256 word-piece window into chunks; here they are truncated, so scores of very long "
    "answers can differ slightly."
)
_SCORE_CODE = """\
from sentence_transformers import SentenceTransformer

scorer = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
answers = scorer.encode([r["answer"] for r in results], batch_size=32, normalize_embeddings=True)
references = scorer.encode([r["reference"] for r in results], batch_size=32, normalize_embeddings=True)
for r, a, b in zip(results, answers, references):
    r["score"] = float((a * b).sum())  # unit vectors: the dot product is the cosine"""
_BOARD_CODE = """\
df = pd.DataFrame(results)
board = df.groupby("model").agg(
    mean_similarity=("score", "mean"),
    latency_p50=("seconds", "median"),
    latency_p95=("seconds", lambda s: s.quantile(0.95)),
)
spread = df.groupby(["model", "question_idx", "temperature"])["score"].std(ddof=0)
board["stability"] = spread.groupby("model").mean() if REPEATS > 1 else float("nan")
display(board.sort_values("mean_similarity", ascending=False))
display(df.pivot_table(index="model", columns="category", values="score", aggfunc="mean"))"""


def _record(row: ResultRow) -> dict:
    stats = row.stats
    return {
        "run_id": row.run_id,
        "model": row.model,
        "category": row.category,
        "question_idx": row.question_idx,
        "question": row.question,
        "reference": row.reference,
        "repeat": row.repeat,
        "temperature": row.temperature,
        "answer": row.answer,
        "complete": row.complete,
        "error": row.error,
        "score": row.score,
        "overall": row.overall,
        "flags": None if row.flags is None else list(row.flags),
        # A value the server sent unusable is unknown: an empty cell / null, never a made-up 0.
        **{name: getattr(stats, name) if stats.known(name) else None for name in STAT_FIELDS},
    }


def _cell_safe(value: object) -> object:
    """Outside text is untrusted: a text cell starting like a formula gets a leading ' (numbers stay numbers).

    Example:
        >>> _cell_safe("-1+HYPERLINK(1)"), _cell_safe(-1.5), _cell_safe("fine")
        ("'-1+HYPERLINK(1)", -1.5, 'fine')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def results_csv(rows: list[ResultRow]) -> bytes:
    """Every answer with its stats, similarity score, overall score and flags as UTF-8 CSV (with a BOM so
    spreadsheets detect UTF-8); several flags share one cell, separated by `` | ``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        record = _record(row)
        if record["flags"] is not None:
            record["flags"] = " | ".join(record["flags"])  # one cell; JSON keeps the list
        writer.writerow({k: _cell_safe(v) for k, v in record.items()})
    return buffer.getvalue().encode("utf-8-sig")


def results_json(record: RunRecord, rows: list[ResultRow]) -> bytes:
    """The run's settings and every answer with its stats and score, as UTF-8 JSON."""
    payload = {
        "run": {
            "id": record.id,
            "created": record.created,
            "status": record.status,
            "settings": record.config.to_dict(),
        },
        "results": [_record(row) for row in rows],
    }
    return json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8")


def _ollama_tag(model_id: str) -> str | None:
    """The Ollama tag that reproduces ``model_id``, or None when its name is not a valid tag."""
    kind, name = split_model_id(model_id)
    if kind != "ollama":
        return EMBEDDED_OLLAMA_TAG
    try:
        return validate_tag(name)
    except ValueError:
        return None


def build_notebook(
    record: RunRecord, rows: list[ResultRow] | None = None, endpoints: Sequence[Endpoint] = ()
) -> nbformat.NotebookNode:
    """A validated notebook reproducing ``record``'s run step by step (the source article's Colab recipe).

    ``endpoints`` gives the base URLs of the run's OpenAI-compatible endpoints (their keys are never
    used); an endpoint not among them gets ``notebook_openai.PLACEHOLDER_BASE_URL`` to fill in. A model
    whose name is not a valid Ollama tag is left out (and the notebook says so).
    """
    config = record.config
    ollama_side = [m for m in config.models if not m.startswith("openai:")]
    models = {m: tag for m in ollama_side if (tag := _ollama_tag(m)) is not None}
    skipped = [m for m in ollama_side if m not in models]
    tags = list(dict.fromkeys(models.values()))
    questions = [{"question": q.question, "reference": q.reference, "category": q.category} for q in config.questions]
    embedded = [m for m in config.models if m.startswith("embedded:")]
    openai_code = openai_settings(config.models, endpoints)
    note = (
        f"\n\nThe app's embedded models ({plain(', '.join(embedded), 400)}) are SmolLM2-135M-Instruct run with "
        f"PyTorch; here they run as Ollama's `{EMBEDDED_OLLAMA_TAG}` (a different quantization, so answers "
        "and speed differ; compressed variants made in the app have no Ollama equivalent)."
        if embedded
        else ""
    )
    if skipped:
        note += f"\n\nLeft out, because their names are not valid Ollama tags: {plain(', '.join(skipped), 400)}."
    settings_code = (
        f"QUESTIONS = {json.dumps(questions, ensure_ascii=False, indent=1)}\n\n"
        f"TEMPLATE = {config.template!r}\n"
        f"SYSTEM_PROMPT = {config.system_prompt!r}\n"
        f"MODELS = {json.dumps(models, indent=1)}\n"  # ASCII JSON strings are Python literals
        f"TEMPERATURES = {list(config.sweep)!r}\n"
        f"REPEATS = {config.repeats}\n"
        f"MAX_NEW_TOKENS = {config.options.max_new_tokens}\n"
        f"SEED = {config.options.seed!r}\n" + openai_code + "\nresults = []\n" + (_PROMPT_CODE if models else "")
    )
    intro = (
        f"# Reproduce SLM Explorer evaluation run #{record.id}\n\n"
        f"Created {plain(record.created)}: {len(config.models)} model(s), {len(config.questions)} question(s) "
        f"from the “{plain(config.question_set, 120)}” set, {config.repeats} repeat(s), temperature(s) "
        f"{', '.join(str(t) for t in config.sweep)}, at most {config.options.max_new_tokens} new tokens.\n\n"
        + (_INTRO if models else OPENAI_ONLY_TEXT)
        + note
        + (OPENAI_NOTE if openai_code and models else "")
    )
    if models:
        install = _INSTALL_CODE + (" openai" if openai_code else "")
        cells = [
            new_markdown_cell(intro),
            new_markdown_cell("## Step 1: install Ollama and the Python packages"),
            new_code_cell(install),
            new_markdown_cell("## Step 2: import the libraries"),
            new_code_cell(_IMPORT_CODE),
            new_markdown_cell("## Step 3: run `ollama serve` in the background"),
            new_code_cell(_SERVE_CODE),
            new_markdown_cell("## Step 4: pull the models"),
            new_code_cell("\n".join(f"!ollama pull {shlex.quote(tag)}" for tag in tags)),
        ]
    else:  # only OpenAI-compatible endpoints: no Ollama to install
        cells = [
            new_markdown_cell(intro),
            new_markdown_cell("## Step 1: install the Python packages"),
            new_code_cell(OPENAI_ONLY_INSTALL),
            new_markdown_cell("## Step 2: import the libraries"),
            new_code_cell(OPENAI_ONLY_IMPORTS),
        ]
    cells += [
        new_markdown_cell("## Step 5: the questions and the prompt template of the run"),
        new_code_cell(settings_code),
    ]
    if models:
        cells += [
            new_markdown_cell("## Step 6: ask every model every question (`prompt | model`, as in the article)"),
            new_code_cell(_ASK_CODE),
        ]
    if openai_code:
        cells += [new_markdown_cell(OPENAI_INTRO), new_code_cell(OPENAI_CODE)]
    cells += [
        new_markdown_cell(_SCORE_TEXT),
        new_code_cell(_SCORE_CODE),
        new_markdown_cell("## Step 8: leaderboard, per-category heatmap data and stability across repeats"),
        new_code_cell(_BOARD_CODE),
    ]
    if rows:
        lines = ["| model | mean similarity | tokens/s | errors |", "|---|---|---|---|"]
        for s in leaderboard(rows):
            sim = "–" if s.mean_similarity is None else f"{s.mean_similarity:.3f}"
            tps = "–" if s.tokens_per_second is None else f"{s.tokens_per_second:.1f}"
            lines.append(f"| {plain(s.model)} | {sim} | {tps} | {s.errors} |")
        cells.append(
            new_markdown_cell(
                "## What SLM Explorer measured for this run\n\nFor comparison with the numbers above "
                "(hardware, quantization and sampling differ, so expect close, not identical, values):\n\n"
                + "\n".join(lines)
            )
        )
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "colab": {"provenance": []},
            "accelerator": "GPU",
        },
    )
    nbformat.validate(nb)
    return nb


def notebook_bytes(record: RunRecord, rows: list[ResultRow] | None = None, endpoints: Sequence[Endpoint] = ()) -> bytes:
    """The notebook as ``.ipynb`` bytes (nbformat 4), ready for a download button."""
    return nbformat.writes(build_notebook(record, rows, endpoints)).encode("utf-8")
