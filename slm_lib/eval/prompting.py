"""Prompts for the playground: the source article's template, validation, messages, snippets.

The source article prompts every model through LangChain with one template::

    Question: {question}

    Answer: Let's think step by step.

Templates use Python/LangChain ``str.format`` syntax: ``{question}`` is the only field and
literal braces are doubled (``{{`` ``}}``), so the same string works in ``ChatPromptTemplate``.

Example:
    messages = build_messages(DEFAULT_TEMPLATE, "What is 2 + 2?", system_prompt="Be brief.")
    messages[1]["content"].splitlines()[0]    # 'Question: What is 2 + 2?'
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from slm_lib.chat import ChatOptions, Message

__all__ = [
    "DEFAULT_TEMPLATE",
    "SNIPPET_HOST",
    "EXAMPLES",
    "Example",
    "build_messages",
    "langchain_snippet",
    "ollama_snippet",
    "render",
    "validate_template",
]

DEFAULT_TEMPLATE = "Question: {question}\n\nAnswer: Let's think step by step."
SNIPPET_HOST = "http://127.0.0.1:11434"


@dataclass(frozen=True)
class Example:
    """A built-in question with the reference answer answers are scored against."""

    title: str
    question: str
    reference: str


EXAMPLES: tuple[Example, ...] = (
    Example(
        "Hypotenuse (the source article's question)",
        "What is the length of hypotenuse in a right angled triangle",
        "By the Pythagorean theorem the hypotenuse c of a right-angled triangle with legs a and b has "
        "length c = sqrt(a^2 + b^2); for example, legs 3 and 4 give a hypotenuse of 5.",
    ),
    Example(
        "Train journey time",
        "A train leaves at 14:10 and arrives at 16:55. How long is the journey?",
        "From 14:10 to 16:10 is 2 hours and from 16:10 to 16:55 is 45 minutes, so the journey takes "
        "2 hours 45 minutes.",
    ),
    Example(
        "Why is the sky blue?",
        "Why is the sky blue?",
        "Sunlight is scattered by the molecules of the air, and short blue wavelengths scatter much more "
        "than long red ones (Rayleigh scattering), so blue light reaches our eyes from all over the sky.",
    ),
    Example(
        "Summarise a review",
        "Summarise in one sentence: 'The battery lasts two days and the screen is sharp, but the phone "
        "is heavy and the camera struggles in low light.'",
        "The phone has long battery life and a sharp screen but is heavy and takes poor low-light photos.",
    ),
    Example(
        "Python: reverse a list",
        "How do I reverse a list called items in Python?",
        "Use items.reverse() to reverse it in place, or items[::-1] (or list(reversed(items))) to get a "
        "new reversed list.",
    ),
    Example(
        "What is an SLM?",
        "What is a small language model?",
        "A small language model is a compact language model, usually under about 10 billion parameters, "
        "that needs far less memory and compute than a large model and can run on laptops, phones or edge "
        "devices, often specialised for specific tasks.",
    ),
)


def validate_template(template: str) -> str:
    """Check a prompt template; returns it unchanged.

    Only ``{question}`` and doubled braces are allowed: no other field, no attribute or index
    (``{question.__class__}``), no conversion (``{question!r}``) and no format spec
    (``{question:d}``, ``{question:>50000000}``), so rendering can neither fail nor grow.

    Raises:
        ValueError: naming the problem and the fix.

    Example:
        >>> validate_template("Q: {question} {{literal}}")
        'Q: {question} {{literal}}'
        >>> validate_template("Q: {question:>99}")
        Traceback (most recent call last):
        ...
        ValueError: the prompt template may only use {question} as is, not {question:>99}; double literal braces
    """
    if not isinstance(template, str) or not template.strip():
        raise ValueError("the prompt template is empty; it must contain {question}")
    try:
        parts = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        hint = "write literal braces as {{ and }}"
        raise ValueError(f"the prompt template has an unbalanced brace ({exc}); {hint}") from None
    others = [
        "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        for name, spec, conv in parts
        if name != "question" or spec or conv
    ]
    if others:
        shown = ", ".join(dict.fromkeys(others))
        raise ValueError(f"the prompt template may only use {{question}} as is, not {shown}; double literal braces")
    if not parts:
        raise ValueError("the prompt template must contain {question} where the question goes")
    return template


def render(template: str, question: str) -> str:
    """Fill ``{question}`` into a validated template (the question itself may contain braces)."""
    pieces = []
    for literal, name, _, _ in string.Formatter().parse(validate_template(template)):
        pieces.append(literal)
        if name is not None:
            pieces.append(question)  # only {question} can be here: validated above
    return "".join(pieces)


def build_messages(template: str, question: str, system_prompt: str | None = None) -> list[Message]:
    """Chat messages for one question: an optional system message, then the rendered user prompt."""
    messages: list[Message] = []
    if system_prompt and system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt.strip()})
    messages.append({"role": "user", "content": render(template, question)})
    return messages


def _options_dict(options: ChatOptions) -> dict[str, float | int]:
    out: dict[str, float | int] = {"temperature": options.temperature, "num_predict": options.max_new_tokens}
    if options.seed is not None:
        out["seed"] = options.seed
    return out


def ollama_snippet(
    models: Sequence[str],
    template: str,
    question: str,
    system_prompt: str | None = None,
    options: ChatOptions | None = None,
    host: str = SNIPPET_HOST,
) -> str:
    """A runnable script that asks every Ollama model the same question with the ``ollama`` client.

    Every user value goes through ``repr``, so the script is valid Python whatever they contain.
    """
    opts = _options_dict(options or ChatOptions())
    messages = build_messages(template, question, system_prompt)
    return f"""import ollama

client = ollama.Client(host={host!r}, timeout=120)
messages = {messages!r}
options = {opts!r}

for model in {list(models)!r}:
    print(f"=== {{model}} ===")
    final = None
    for part in client.chat(model=model, messages=messages, options=options, stream=True):
        print(part.message.content, end="", flush=True)
        final = part
    # Ollama's own stats (durations in nanoseconds) arrive with the final part.
    tokens_per_s = final.eval_count / max(final.eval_duration, 1) * 1e9
    seconds = final.total_duration / 1e9
    print(f"\\n{{final.eval_count}} tokens, {{tokens_per_s:.1f}} tokens/s, total {{seconds:.2f}} s\\n")
"""


def langchain_snippet(
    model: str,
    template: str,
    question: str,
    options: ChatOptions | None = None,
    host: str = SNIPPET_HOST,
) -> str:
    """The source article's chain, ``ChatPromptTemplate | OllamaLLM`` (``pip install langchain-ollama``)."""
    validate_template(template)
    opts = options or ChatOptions()
    seed = "" if opts.seed is None else f", seed={opts.seed!r}"
    return f"""from langchain_core.prompts import ChatPromptTemplate
from langchain_ollama.llms import OllamaLLM

template = {template!r}
prompt = ChatPromptTemplate.from_template(template)
model = OllamaLLM(
    model={model!r}, base_url={host!r},
    temperature={opts.temperature!r}, num_predict={opts.max_new_tokens!r}{seed},
)
chain = prompt | model

print(chain.invoke({{"question": {question!r}}}))
"""
