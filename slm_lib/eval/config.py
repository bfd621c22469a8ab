"""What an evaluation run asks: models, questions, template, options, repeats and temperatures.

A ``RunConfig`` is stored as JSON with its run, so a run can be resumed or reproduced exactly;
``cells()`` lists every answer it needs in run order.

Example:
    >>> from slm_lib.eval.questions import QuestionItem
    >>> config = RunConfig(models=("embedded:smollm2-135m",), questions=(QuestionItem("2+2?", "4"),), repeats=2)
    >>> config.total_cells, split_model_id("ollama:llama3.2:1b")
    (2, ('ollama', 'llama3.2:1b'))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from slm_lib.chat import ChatOptions, check_temperature
from slm_lib.eval.prompting import DEFAULT_TEMPLATE, validate_template
from slm_lib.eval.questions import QuestionItem

__all__ = ["BACKEND_LABELS", "Cell", "RunConfig", "model_label", "parse_temperatures", "split_model_id"]


def split_model_id(model_id: str) -> tuple[str, str]:
    """``"ollama:llama3.2:1b"`` -> ``("ollama", "llama3.2:1b")`` (the backend is before the first colon)."""
    kind, sep, name = model_id.partition(":")
    if not sep or not kind or not name:
        raise ValueError(f"model id {model_id!r} must look like 'backend:model', e.g. 'ollama:llama3.2'")
    return kind, name


BACKEND_LABELS = {"embedded": "on board", "ollama": "Ollama"}


def model_label(model_id: str) -> str:
    """How a model id reads on the page: ``"embedded:smollm2-135m"`` -> ``"smollm2-135m (on board)"``.

    Example:
        >>> model_label("ollama:llama3.2:1b")
        'llama3.2:1b (Ollama)'
    """
    kind, sep, name = model_id.partition(":")
    if not sep or not name or kind not in BACKEND_LABELS:  # endpoint models read as their id, as in the pickers
        return model_id
    return f"{name} ({BACKEND_LABELS.get(kind, kind)})"


@dataclass(frozen=True)
class Cell:
    """One answer to produce: a model, a temperature, a question and a repeat."""

    model: str
    temperature: float
    question_idx: int
    repeat: int

    @property
    def key(self) -> tuple[str, float, int, int]:
        return (self.model, self.temperature, self.question_idx, self.repeat)


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to (re)run an evaluation; stored as JSON with the run.

    ``temperatures`` empty means "just ``options.temperature``"; several values make a sweep.
    """

    models: tuple[str, ...]
    questions: tuple[QuestionItem, ...]
    question_set: str = "builtin"
    categories: tuple[str, ...] = ()
    template: str = DEFAULT_TEMPLATE
    system_prompt: str = ""
    options: ChatOptions = field(default_factory=ChatOptions)
    repeats: int = 1
    temperatures: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("models must name at least one 'backend:model'")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"models contains duplicates: {list(self.models)}")
        for model_id in self.models:
            split_model_id(model_id)
        if not self.questions:
            raise ValueError("questions must hold at least one QuestionItem")
        validate_template(self.template)  # only {question}; literal braces doubled, as in LangChain
        if not 1 <= self.repeats <= 20:
            raise ValueError(f"repeats must be in [1, 20], got {self.repeats}")
        if len(set(self.temperatures)) != len(self.temperatures):
            raise ValueError(f"temperatures contains duplicates: {list(self.temperatures)}")
        for t in self.temperatures:
            check_temperature(t)

    @property
    def sweep(self) -> tuple[float, ...]:
        """The temperatures actually run."""
        return self.temperatures or (self.options.temperature,)

    def cells(self, model: str | None = None) -> list[Cell]:
        """All cells (of one model), in run order: model, temperature, question, repeat."""
        return [
            Cell(m, t, q, r)
            for m in (self.models if model is None else (model,))
            for t in self.sweep
            for q in range(len(self.questions))
            for r in range(self.repeats)
        ]

    @property
    def total_cells(self) -> int:
        return len(self.models) * len(self.sweep) * len(self.questions) * self.repeats

    def to_dict(self) -> dict:
        """A JSON-ready dict (``from_dict`` reverses it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> RunConfig:
        return cls(
            models=tuple(data["models"]),
            questions=tuple(QuestionItem(**q) for q in data["questions"]),
            question_set=data.get("question_set", "builtin"),
            categories=tuple(data.get("categories", ())),
            template=data.get("template", DEFAULT_TEMPLATE),
            system_prompt=data.get("system_prompt", ""),
            options=ChatOptions(**data.get("options", {})),
            repeats=int(data.get("repeats", 1)),
            temperatures=tuple(float(t) for t in data.get("temperatures", ())),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def parse_temperatures(text: str) -> tuple[float, ...]:
    """A typed temperature sweep: ``"0, 0.7, 1.2"`` -> ``(0.0, 0.7, 1.2)``; empty means no sweep.

    Raises:
        ValueError: naming the value that is not a number or not a usable temperature.

    Example:
        >>> parse_temperatures("0, 0.7; 0.7, 1.2")
        (0.0, 0.7, 1.2)
    """
    values: list[float] = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"'{part.strip()}' is not a number; write temperatures like 0, 0.7, 1.2") from None
        check_temperature(value)
        if value not in values:
            values.append(value)
    return tuple(values)
