"""Playground: one question to several SLMs side by side, with speed, and scores against a reference answer
that show why: an overall score, similarity, fact flags, covered and missed words, word diffs, an optional judge."""

import streamlit as st

from app_ui import assess_ui, chat_ui, endpoints_ui, page_header, show_code
from slm_lib import settings
from slm_lib.chat import ChatOptions, PromptTooLong, check_prompt_length
from slm_lib.eval import prompting, similarity
from slm_lib.eval.assess import assess
from slm_lib.eval.judge import judge_allowed

page_header(
    "Playground",
    "The source article's experiment, live: send **one question to several small models**, read the "
    "answers side by side with their speed, and see which answer is closest to a **reference answer**. "
    "Models come from a local [Ollama](https://ollama.com) server, from any OpenAI-compatible server (vLLM, "
    "llama.cpp, LM Studio, `transformers serve`: add it in the sidebar) and from the app itself (SmolLM2 on "
    "board). Answers run one after another so their timings do not compete for the CPU.",
)
chat_ui.init_state()
caps = settings.limits()

# ---- sidebar: where the Ollama models live, and OpenAI-compatible servers ----
host = chat_ui.host_field()
installed = chat_ui.installed_panel(host)
chat_ui.pull_panel(host, installed)
endpoints_ui.sidebar_editor(host)

# ---- the prompt ----
chat_ui.example_picker()
question = st.text_area("Question", key="playground.question", height=90, max_chars=caps.max_prompt_chars)
with st.expander("Prompt template, system prompt and generation options"):
    template = st.text_area(
        "Prompt template (must contain {question})",
        key="playground.template",
        height=100,
        help="The source article's LangChain template by default. Write literal braces as {{ }}.",
    )
    system = st.text_area("System prompt (optional)", key="playground.system", height=68)
    c1, c2, c3 = st.columns(3)
    temperature = c1.slider(
        "Temperature", 0.0, 2.0, 0.0, 0.05, key="playground.temperature", help="0 = greedy: the same answer every time."
    )
    max_tokens = c2.number_input(
        "Max new tokens", 1, caps.max_new_tokens, min(256, caps.max_new_tokens), key="playground.max_tokens"
    )
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="playground.seed")

choices = chat_ui.model_choices(host, installed)
models = st.multiselect(
    "Models to compare",
    list(choices),
    format_func=lambda m: choices.get(m, m),
    key="playground.models",
    max_selections=6,
    placeholder="Pick Ollama and on-board models",
)
reference = st.text_area(
    "Reference answer (optional: scores each answer by similarity)", key="playground.reference", height=90
)
b1, b2 = st.columns([1, 5])
run = b1.button("Compare", type="primary", key="playground.run", disabled=not models)
b2.button("Stop", key="playground.stop", help="Stops the comparison; answers finished so far are dropped.")
if not choices:
    st.info("No models yet: start Ollama (`ollama serve`) and pull a model, or install the on-board SmolLM2.")

# ---- run: everything is checked here, before any model is asked ----
if run:
    if not question.strip():
        st.error("The question is empty: type one or pick an example.")
        st.stop()
    try:
        messages = prompting.build_messages(template, question, system)
        check_prompt_length(messages)  # the widget's max_chars is only a browser-side hint
    except (ValueError, PromptTooLong) as exc:
        st.error(f"{exc}")
        st.stop()
    options = ChatOptions(temperature=float(temperature), max_new_tokens=int(max_tokens), seed=int(seed))
    answers = chat_ui.run_comparison(models, host, messages, options, choices)
    st.session_state["playground.result"] = {  # one assignment: a stopped run leaves no half result
        "answers": answers,
        "labels": choices,
        "options": options,
        "template": template,
        "question": question,
        "system": system,
    }
    st.session_state["playground.verdicts"] = {}  # verdicts belong to the answers they judged
    st.rerun()

# ---- results ----
result = st.session_state.get("playground.result")
if result:
    st.subheader("Answers")
    texts = {a.model_id: a.text for a in result["answers"] if a.scorable}
    verdicts = st.session_state.get("playground.verdicts", {})
    scores = chat_ui.render_answers(result["answers"], reference, result["labels"], result["question"], verdicts)
    if reference.strip():
        st.caption(f"{assess_ui.SCORE_HELP} Flags are hints, not verdicts; the lesson *Why scores mislead* shows more.")
    if len(texts) >= 2:
        with st.expander("Compare two answers word by word"):
            d1, d2 = st.columns(2)
            first = d1.selectbox("First", list(texts), format_func=result["labels"].get, key="playground.diff.a")
            second = d2.selectbox("Second", list(texts), 1, format_func=result["labels"].get, key="playground.diff.b")
            assess_ui.render_diff(texts[first], texts[second])
    judges = [m for m in choices if judge_allowed(m)]
    with st.expander("Ask a model to judge (optional, off by default)"):
        st.caption("Its verdict appears beside each answer's local scores and never changes them. The rubric:")
        assess_ui.judge_rubric()
        picked = st.selectbox("Judge model", judges or ["(none allowed here)"], key="playground.judge.model")
        if st.button("Judge the answers", key="playground.judge.run", disabled=not judges or not reference.strip()):
            found = chat_ui.judge_answers(picked, result["answers"], result["question"], reference, host)
            st.session_state["playground.verdicts"] = found
            st.rerun()
    chat_ui.charts(result["answers"], scores, result["labels"])

    with st.expander("Reproduce in Python"):
        ids = [a.model_id for a in result["answers"]]
        ollama_models = [m.partition(":")[2] for m in ids if m.startswith("ollama:")] or ["llama3.2"]
        shown_host = prompting.SNIPPET_HOST if settings.is_hosted() or host is None else host
        args = (result["template"], result["question"])
        st.markdown("With the official `ollama` client (`pip install ollama`): the same messages and options.")
        st.code(
            prompting.ollama_snippet(ollama_models, *args, result["system"], result["options"], shown_host),
            language="python",
        )
        st.markdown("The source article's LangChain chain (`pip install langchain-ollama`), first model:")
        st.code(prompting.langchain_snippet(ollama_models[0], *args, result["options"], shown_host), language="python")

show_code(prompting.build_messages, assess, similarity.embed_tokens)
