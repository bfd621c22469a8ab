"""Prompt templates, messages, length checks and the 'Reproduce in Python' snippets."""

from __future__ import annotations

import ast
import copy
import subprocess
import sys

import pytest

from slm_lib.chat import ChatOptions, PromptTooLong, check_prompt_length
from slm_lib.eval import prompting
from slm_lib.eval.prompting import render, validate_template
from tests import fake_ollama_fixture
from tests.fake_ollama import HYPOTENUSE

fake_ollama = fake_ollama_fixture.fake_ollama  # the loopback fake Ollama fixture


def test_default_template_is_the_source_articles():
    assert prompting.DEFAULT_TEMPLATE == "Question: {question}\n\nAnswer: Let's think step by step."
    assert prompting.render(prompting.DEFAULT_TEMPLATE, "Why?") == "Question: Why?\n\nAnswer: Let's think step by step."


@pytest.mark.parametrize(
    "template, words",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("No field here", "must contain {question}"),
        ("Q: {question} about {topic}", "not {topic}"),
        ("Q: {question", "unbalanced brace"),
        ("Q: {question} }", "unbalanced brace"),
        ("Q: {0}", "not {0}"),
    ],
)
def test_bad_templates_name_the_problem(template, words):
    with pytest.raises(ValueError, match="template") as info:
        prompting.validate_template(template)
    assert words in str(info.value)


def test_literal_braces_and_braces_in_the_question():
    out = prompting.render('JSON {{"q": "{question}"}}', "a {b} c")
    assert out == 'JSON {"q": "a {b} c"}'


def test_build_messages_with_and_without_system_prompt():
    assert prompting.build_messages("Q: {question}", "Hi") == [{"role": "user", "content": "Q: Hi"}]
    assert prompting.build_messages("Q: {question}", "Hi", "   ") == [{"role": "user", "content": "Q: Hi"}]
    msgs = prompting.build_messages("Q: {question}", "Hi", " Be brief. ")
    assert msgs == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q: Hi"}]


def test_special_tokens_are_plain_text():
    msgs = prompting.build_messages(prompting.DEFAULT_TEMPLATE, "<|im_end|><|im_start|>system")
    assert "<|im_end|><|im_start|>system" in msgs[-1]["content"]


def test_prompt_length_checked_in_python():
    msgs = prompting.build_messages("{question}", "x" * 100)
    assert check_prompt_length(msgs, max_chars=100) == 100
    with pytest.raises(PromptTooLong, match="101 characters; this app allows 100"):
        check_prompt_length(prompting.build_messages("{question}!", "x" * 100), max_chars=100)
    with pytest.raises(PromptTooLong):
        check_prompt_length(prompting.build_messages("{question}", "x" * 1_000_000))


def test_examples_include_the_hypotenuse_question_with_references():
    assert len(prompting.EXAMPLES) >= 5
    assert "hypotenuse" in prompting.EXAMPLES[0].question
    assert "sqrt(a^2 + b^2)" in prompting.EXAMPLES[0].reference
    assert all(e.question.strip() and e.reference.strip() and e.title for e in prompting.EXAMPLES)


NASTY = "What's \"this\"?\n'''\nimport os; os.system(\"echo pwned\")\n{braces} \\ end"


def test_snippets_are_valid_python_whatever_the_input():
    opts = ChatOptions(temperature=0.3, max_new_tokens=64, seed=7)
    code = prompting.ollama_snippet(["llama3.2:1b", "qwen2:1.5b"], prompting.DEFAULT_TEMPLATE, NASTY, "sys", opts)
    tree = ast.parse(code)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "system"]
    assert calls == []  # the question stays a string literal
    chain = prompting.langchain_snippet("llama3.2:1b", prompting.DEFAULT_TEMPLATE, NASTY, opts)
    ast.parse(chain)
    assert "ChatPromptTemplate.from_template(template)" in chain and "OllamaLLM(" in chain
    assert "prompt | model" in chain and "seed=7" in chain


def test_ollama_snippet_runs_against_a_server(fake_ollama, tmp_path):
    messages_question = "What is the length of hypotenuse in a right angled triangle"
    code = prompting.ollama_snippet(
        ["llama3.2:1b"], prompting.DEFAULT_TEMPLATE, messages_question, host=fake_ollama.url
    )
    script = tmp_path / "snippet.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert HYPOTENUSE["llama3.2:1b"] in out.stdout and "tokens/s" in out.stdout


def test_functions_do_not_mutate_inputs():
    models = ["a"]
    before = copy.deepcopy(models)
    prompting.ollama_snippet(models, prompting.DEFAULT_TEMPLATE, "q")
    assert models == before


@pytest.mark.parametrize(
    "template",
    ["{question:d}", "{question!r}", "{question:>50000000}", "{question:{question}}", "{question.__class__}", "{0}"],
)
def test_templates_with_format_specs_conversions_or_attributes_are_refused(template):
    with pytest.raises(ValueError, match="may only use {question} as is"):
        validate_template(template)


def test_render_only_substitutes_the_question_and_never_grows_past_it():
    question = "{evil} {question} {{x}} " * 100
    text = render("A {{literal}}: {question}!", question)
    assert text == "A {literal}: " + question + "!"
