"""Model as judge (optional): ask a configured model whether an answer is right, with a shown rubric.

The judge's verdict is a second opinion shown beside the local score, never mixed into it: a
small model judging is itself fallible, and slow. It is off by default. On a hosted deployment
only the models the operator lists in ``SLM_EXPLORER_JUDGES`` may judge (``settings.judge_models``).

The judge gets ``RUBRIC`` with the question, the reference(s) and the answer, and must reply
``VERDICT: correct | partly correct | wrong`` and ``REASON: ...``; anything else is ``unclear``.

Example:
    verdict = judge(backend, "llama3.2:1b", "Capital of Australia?", ("Canberra.",), "Sydney.")
    verdict.verdict, verdict.reason        # ('wrong', 'The capital is Canberra, not Sydney.')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from slm_lib import settings
from slm_lib.chat import Backend, ChatOptions, Message, ask

__all__ = ["RUBRIC", "VERDICTS", "Verdict", "judge", "judge_allowed", "judge_messages", "parse_verdict"]

VERDICTS = ("correct", "partly correct", "wrong", "unclear")
RUBRIC = """You are grading an answer to a question against one or more reference answers.
Judge only whether the answer's facts agree with the references; wording, length and style do not matter.
- correct: every fact the answer states agrees with a reference, and it answers the question.
- partly correct: it agrees in part, but leaves out or gets wrong something that matters.
- wrong: it contradicts the references (a different number, name, negation, order or result) or does not answer.
Reply with exactly two lines:
VERDICT: correct | partly correct | wrong
REASON: one short sentence."""
_VERDICT = re.compile(r"verdict\s*[:=-]\s*\**\s*(partly correct|partially correct|correct|incorrect|wrong)", re.I)
_REASON = re.compile(r"reason\s*[:=-]\s*(.+)", re.I | re.S)


@dataclass(frozen=True)
class Verdict:
    """The judge's reply: ``verdict`` in ``VERDICTS``, a one-line ``reason``, and the raw text."""

    judge: str
    verdict: str
    reason: str
    raw: str
    error: str | None = None


def judge_allowed(model_id: str) -> bool:
    """May ``model_id`` (``"backend:model"``) judge here? Any model locally; in the hosted app only the
    operator's list (none when ``SLM_EXPLORER_JUDGES`` is unset)."""
    allowed = settings.judge_models()
    return allowed is None or model_id in allowed


def judge_messages(question: str, references: Sequence[str], answer: str) -> list[Message]:
    """The judge's prompt: the rubric as system message, the case as user message."""
    refs = "\n".join(f"Reference {i}: {r}" for i, r in enumerate(references, start=1))
    case = f"Question: {question or '(not given)'}\n{refs}\nAnswer to grade: {answer}"
    return [{"role": "system", "content": RUBRIC}, {"role": "user", "content": case}]


def parse_verdict(text: str, judge_id: str = "") -> Verdict:
    """Read ``VERDICT:`` and ``REASON:`` from a reply; a reply without a verdict is ``unclear``.

    Example:
        >>> parse_verdict("VERDICT: wrong\\nREASON: It says 5000, not 5050.").verdict
        'wrong'
    """
    m = _VERDICT.search(text)
    word = m.group(1).lower() if m else "unclear"
    verdict = {"partially correct": "partly correct", "incorrect": "wrong"}.get(word, word)
    reason = _REASON.search(text)
    line = (reason.group(1) if reason else text).strip().splitlines()
    return Verdict(judge_id, verdict, (line[0] if line else "")[:300], text)


def judge(
    backend: Backend,
    model: str,
    question: str,
    references: Sequence[str],
    answer: str,
    options: ChatOptions | None = None,
) -> Verdict:
    """Ask ``model`` on ``backend`` to grade ``answer`` (greedy, short reply); never raises for a backend
    failure: the verdict is then ``unclear`` with ``error`` saying why."""
    judge_id = f"{getattr(backend, 'kind', 'model')}:{model}"
    if not judge_allowed(judge_id):
        return Verdict(judge_id, "unclear", "", "", f"{judge_id} is not allowed to judge on this server.")
    opts = options or ChatOptions(temperature=0.0, max_new_tokens=96, seed=0)
    result = ask(backend, model, judge_messages(question, references, answer), opts)
    if not result.complete and not result.text:
        return Verdict(judge_id, "unclear", "", "", result.error or "the judge gave no answer")
    return parse_verdict(result.text, judge_id)
