"""The notebook export's steps for models on OpenAI-compatible endpoints (``openai:<endpoint>/<model>``).

They are asked with the official ``openai`` client at each endpoint's base URL, with the same
messages as the app (the template's ``{{ }}`` become ``{ }``, as in LangChain). A key is read
from ``OPENAI_API_KEY_<ENDPOINT>`` or typed in when the notebook runs: it never goes into the file.

Example:
    >>> print(openai_settings(("openai:local/smollm2",), ()).splitlines()[0])
    ENDPOINTS = {
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from slm_lib.backends.openai_endpoints import Endpoint, split_endpoint_model
from slm_lib.eval.config import split_model_id

__all__ = [
    "OPENAI_CODE",
    "OPENAI_INTRO",
    "OPENAI_NOTE",
    "OPENAI_ONLY_IMPORTS",
    "OPENAI_ONLY_INSTALL",
    "OPENAI_ONLY_TEXT",
    "PLACEHOLDER_BASE_URL",
    "openai_settings",
]

PLACEHOLDER_BASE_URL = "http://127.0.0.1:8000/v1"  # for an endpoint whose address the app does not give out

OPENAI_INTRO = (
    "## Step 6b: ask the models on OpenAI-compatible endpoints\n\n"
    "The same messages through the official `openai` client (vLLM, llama.cpp, LM Studio, `transformers serve`, "
    "Ollama's `/v1` route all accept it). A key is read from `OPENAI_API_KEY_<ENDPOINT>` (e.g. "
    "`OPENAI_API_KEY_LOCAL`) or typed in when asked; it is never saved in this notebook."
)
OPENAI_CODE = """\
import os
from getpass import getpass

from openai import OpenAI


def api_key(endpoint):
    \"\"\"The endpoint's key from OPENAI_API_KEY_<ENDPOINT>, or typed in (Enter if it needs none).\"\"\"
    variable = "OPENAI_API_KEY_" + endpoint.upper().replace("-", "_")
    return os.environ.get(variable) or getpass(f"API key for {endpoint} (Enter if none): ") or "none"


def messages_for(question):
    user = {"role": "user", "content": TEMPLATE.format(question=question)}  # {{ }} -> { }, as in LangChain
    return ([{"role": "system", "content": SYSTEM_PROMPT}] if SYSTEM_PROMPT else []) + [user]


clients = {name: OpenAI(base_url=url, api_key=api_key(name)) for name, url in ENDPOINTS.items()}
for model_id, (endpoint, name) in OPENAI_MODELS.items():
    for temperature in TEMPERATURES:
        for repeat in range(REPEATS):
            seed = None if SEED is None else SEED + repeat  # repeats differ when sampling
            for idx, item in enumerate(QUESTIONS):
                start = time.perf_counter()
                reply = clients[endpoint].chat.completions.create(
                    model=name,
                    messages=messages_for(item["question"]),
                    temperature=temperature,
                    max_tokens=MAX_NEW_TOKENS,
                    seed=seed,
                )
                seconds = time.perf_counter() - start
                answer = reply.choices[0].message.content or ""
                results.append({"model": model_id, "temperature": temperature, "repeat": repeat,
                                "question_idx": idx, **item, "answer": answer, "seconds": seconds})
    print(f"{model_id}: done")"""
OPENAI_NOTE = (
    "\n\nModels on OpenAI-compatible endpoints (`openai:<endpoint>/<model>`) are asked in step 6b with the "
    "official `openai` client at the endpoint's base URL."
)
OPENAI_ONLY_TEXT = (
    "Runs on Google Colab or any machine that can reach the run's OpenAI-compatible endpoints: ask the questions "
    "with the same prompt template through the official `openai` client, then score each answer against its "
    "reference with sentence-transformers `all-MiniLM-L6-v2` (cosine similarity)."
)
OPENAI_ONLY_INSTALL = "!pip install openai sentence-transformers pandas"
OPENAI_ONLY_IMPORTS = """\
import time

import pandas as pd
from IPython.display import Markdown, display"""


def openai_settings(models: tuple[str, ...], endpoints: Sequence[Endpoint]) -> str:
    """``ENDPOINTS`` (name -> base URL, never a key) and ``OPENAI_MODELS`` (id -> [endpoint, model])."""
    chosen = {m: list(split_endpoint_model(split_model_id(m)[1])) for m in models if m.startswith("openai:")}
    if not chosen:
        return ""
    known = {e.name: e.base_url for e in endpoints}
    urls = {name: known.get(name, PLACEHOLDER_BASE_URL) for name, _ in chosen.values()}
    note = "" if set(urls) <= set(known) else "  # set the address of each endpoint the app did not give out"
    return (
        f"ENDPOINTS = {json.dumps(urls, indent=1)}{note}\n"
        f"OPENAI_MODELS = {json.dumps(chosen, ensure_ascii=False, indent=1)}\n"
    )
