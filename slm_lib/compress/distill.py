"""Knowledge distillation: train a small student to copy a teacher's softened next-character distribution.

``distill`` trains two students side by side from the same initial weights, on the same batches for the same
steps: one on the teacher's soft targets (plus a little hard-label loss), one on hard labels only. The
difference between them is what distillation bought, measured rather than claimed. The students come from
:mod:`slm_lib.compress.students`, the loss from :mod:`slm_lib.compress.distill_loss`, and the training loop is
the tiny model's own (:func:`slm_lib.tiny.train.fit_`).

Example:
    >>> from slm_lib.tiny import load_teacher
    >>> result = distill(load_teacher(), DistillConfig(steps=20))
    >>> result.distilled.params < result.teacher.params
    True
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from slm_lib.compress.distill_loss import distillation_loss, forward_with_states, hidden_state_loss
from slm_lib.compress.students import PRESETS, make_student, matched_layers
from slm_lib.settings import limits
from slm_lib.tiny import (
    LAB_EVAL,
    EvalConfig,
    FitConfig,
    Measurement,
    TinyLM,
    evaluate,
    fit_,
    load_corpus,
    measure_model,
    model_device,
    param_count,
    stored_bytes,
)

__all__ = [
    "TEACHER_CACHE_BYTES",
    "DistillConfig",
    "DistillProgress",
    "DistillResult",
    "StudentReport",
    "distill",
]

TEACHER_CACHE_BYTES = 64 * 2**20  # cap on the teacher logits kept between steps (fp16)


@dataclass(frozen=True)
class DistillConfig:
    """One distillation run.

    ``transfer_chars`` is the student's data budget: the first N characters of the training split, cut into
    fixed windows. Little data is the classic setting where soft targets help most.
    """

    preset: str = "half_trim"
    temperature: float = 2.0
    alpha: float = 0.9
    steps: int = 150
    lr: float = 3e-3
    batch: int = 32
    transfer_chars: int = 50_000
    seed: int = 0
    eval_every: int = 25  # steps between the small held-out checks drawn on the live chart (0 = never)
    latency_tokens: int = 16  # characters generated per latency measurement
    hidden_weight: float = 1.0  # weight of hidden-state matching (0 = logits only); teacher-copied students only

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"DistillConfig.preset={self.preset!r} must be one of {sorted(PRESETS)}")
        if not 0.5 <= self.temperature <= 20:
            raise ValueError(f"DistillConfig.temperature={self.temperature} must be between 0.5 and 20")
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"DistillConfig.alpha={self.alpha} must be between 0 and 1")
        cap = limits().max_train_steps
        if not 1 <= self.steps <= cap:
            raise ValueError(f"DistillConfig.steps={self.steps} must be between 1 and {cap} (deployment cap)")
        if not 0 < self.lr <= 0.1:
            raise ValueError(f"DistillConfig.lr={self.lr} must be in (0, 0.1]")
        if not 1 <= self.batch <= 256:
            raise ValueError(f"DistillConfig.batch={self.batch} must be between 1 and 256")
        if self.transfer_chars < 2_000:
            raise ValueError(f"DistillConfig.transfer_chars={self.transfer_chars} must be >= 2000")
        if self.eval_every < 0:
            raise ValueError(f"DistillConfig.eval_every={self.eval_every} must be >= 0")
        if self.latency_tokens < 1:
            raise ValueError(f"DistillConfig.latency_tokens={self.latency_tokens} must be >= 1")
        if not 0 <= self.hidden_weight <= 10:
            raise ValueError(f"DistillConfig.hidden_weight={self.hidden_weight} must be between 0 and 10")


@dataclass(frozen=True)
class DistillProgress:
    """What ``on_step`` receives after each step: training losses of both students (hard-label CE)."""

    step: int
    total_steps: int
    distilled_loss: float  # the distilled student's full KD objective
    distilled_ce: float  # its cross-entropy on the true next characters
    baseline_ce: float  # the hard-label student's cross-entropy on the same batch
    val: tuple[float, float] | None = None  # held-out loss (distilled, baseline) when measured this step


@dataclass(frozen=True)
class StudentReport:
    """Measured size, quality and speed of one model."""

    params: int
    stored_bytes: int
    accuracy: float
    perplexity: float
    ms_per_token: float
    retained: float  # accuracy as a fraction of the teacher's


@dataclass(frozen=True)
class DistillResult:
    """Both students (trained copies), their measurements and the curves of the run."""

    config: DistillConfig
    teacher: StudentReport
    distilled: StudentReport
    baseline: StudentReport
    initial_accuracy: float  # the shared starting student, before any training
    distilled_model: TinyLM
    baseline_model: TinyLM
    distilled_ce: tuple[float, ...]
    baseline_ce: tuple[float, ...]
    val_curve: tuple[tuple[int, float, float], ...]  # (step, distilled val loss, baseline val loss)
    steps_done: int
    stopped: bool
    distilled_diverged: bool
    baseline_diverged: bool
    transfer_windows: int
    seconds: float


def _report(model: TinyLM, measured: Measurement, teacher_accuracy: float) -> StudentReport:
    return StudentReport(
        params=param_count(model),
        stored_bytes=stored_bytes(model),
        accuracy=measured.accuracy,
        perplexity=measured.perplexity,
        ms_per_token=measured.ms_per_token,
        retained=measured.accuracy / teacher_accuracy if teacher_accuracy > 0 else float("nan"),
    )


def _transfer_windows(text: torch.Tensor, block: int) -> torch.Tensor:
    """Overlapping windows of ``block + 1`` characters, half a block apart: (n_windows, block + 1).

    Each character is seen with two different contexts.
    """
    stride = block // 2
    n_windows = max(1, (len(text) - block - 1) // stride + 1)
    starts = torch.arange(n_windows) * stride
    return text[starts[:, None] + torch.arange(block + 1)[None, :]]


class _CachedTeacher:
    """The frozen teacher's logits (and matched hidden states) for transfer windows, each computed once.

    The teacher never changes, so neither does its output for a window: it is kept (in fp16, up to
    TEACHER_CACHE_BYTES) and later batches reuse it instead of running the teacher again.
    """

    def __init__(self, teacher: TinyLM, windows: torch.Tensor, layers: tuple[int, ...] = ()) -> None:
        self.teacher, self.windows, self.layers = teacher, windows, layers
        self.cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        c = teacher.config
        per_window = (windows.shape[1] - 1) * (c.vocab_size + len(layers) * c.n_embd) * 2  # fp16 bytes
        self.capacity = TEACHER_CACHE_BYTES // per_window

    def __call__(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, T, V) and matched states (L, B, T, C) for windows ``ids`` (B,), float32."""
        missing = sorted({int(i) for i in ids} - self.cache.keys())
        fresh: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        if missing:
            with torch.inference_mode():
                x = self.windows[missing, :-1].to(model_device(self.teacher))
                logits, states = forward_with_states(self.teacher, x, self.layers)  # (m, T, V), (L, m, T, C)
            fresh = {i: (logits[j].half(), states[:, j].half()) for j, i in enumerate(missing)}
            room = max(0, self.capacity - len(self.cache))
            self.cache.update(dict(list(fresh.items())[:room]))
        rows = [self.cache[i] if i in self.cache else fresh[i] for i in map(int, ids)]
        return torch.stack([r[0] for r in rows]).float(), torch.stack([r[1] for r in rows], dim=1).float()


def distill(
    teacher: TinyLM,
    config: DistillConfig,
    on_step: Callable[[DistillProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    eval_config: EvalConfig | None = None,
) -> DistillResult:
    """Train a distilled student and a hard-label baseline from the same start; measure both.

    Both students run in one :func:`~slm_lib.tiny.train.fit_` loop, the same one ``train`` uses: same steps,
    same schedule, each on its own loss. The teacher is not modified. Its logits for each transfer window are
    computed once and reused, so a distillation step costs about as much as a hard-label step. A non-finite
    loss stops that student and sets its ``*_diverged`` flag; ``should_stop()`` ends both at the current step.
    """
    start = time.perf_counter()
    eval_config = eval_config or LAB_EVAL
    dev = model_device(teacher)
    teacher = copy.deepcopy(teacher).eval()  # never touch the caller's (possibly shared) model
    windows = _transfer_windows(load_corpus().train[: config.transfer_chars], teacher.config.block_size)
    gen = torch.Generator().manual_seed(config.seed)
    order = torch.randint(0, len(windows), (config.steps, config.batch), generator=gen)  # same batches for both
    layers = matched_layers(teacher.config.n_layer, config.preset) if config.hidden_weight > 0 else ()
    teacher_out = _CachedTeacher(teacher, windows, layers)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        chunk = windows[order[step]].to(dev)  # (B, T + 1)
        return chunk[:, :-1], chunk[:, 1:].flatten()  # (B, T), (B*T,)

    ce_now: dict[str, float] = {}  # each student's cross-entropy on the current batch

    def soft_loss(model: torch.nn.Module, step: int) -> torch.Tensor:
        x, y = batch(step)
        logits, states = forward_with_states(model, x, range(len(layers)))  # (B, T, V), (L, B, T, C)
        logits = logits.flatten(0, 1)  # (B*T, V)
        ce_now["distilled"] = F.cross_entropy(logits, y).item()
        t_logits, t_states = teacher_out(order[step])
        loss = distillation_loss(logits, t_logits.flatten(0, 1), y, config.temperature, config.alpha)
        if layers:
            loss = loss + config.hidden_weight * hidden_state_loss(states, t_states.to(states.device))
        return loss

    def hard_loss(model: torch.nn.Module, step: int) -> torch.Tensor:
        x, y = batch(step)
        ce = F.cross_entropy(model(x).flatten(0, 1), y)
        ce_now["baseline"] = ce.item()
        return ce

    init = make_student(teacher, config.preset, seed=config.seed)
    init_accuracy = evaluate(init, "val", eval_config).accuracy
    students = {"distilled": copy.deepcopy(init).train(), "baseline": copy.deepcopy(init).train()}
    curves: dict[str, list[float]] = {"distilled": [], "baseline": []}
    val_curve: list[tuple[int, float, float]] = []
    quick = EvalConfig(max_windows=16)

    def record(step: int, losses: dict[str, float]) -> None:
        for name in losses:  # the students that took this step
            curves[name].append(ce_now[name])
        val = None
        if config.eval_every and ((step + 1) % config.eval_every == 0 or step + 1 == config.steps):
            val = tuple(evaluate(students[n], "val", quick).loss for n in ("distilled", "baseline"))
            val_curve.append((step + 1, val[0], val[1]))
        if on_step is not None:
            d_ce = curves["distilled"][-1] if curves["distilled"] else math.nan
            b_ce = curves["baseline"][-1] if curves["baseline"] else math.nan
            kd = losses.get("distilled", math.nan)
            on_step(DistillProgress(step, config.steps, kd, d_ce, b_ce, val))  # type: ignore[arg-type]

    schedule = FitConfig(config.steps, config.lr, warmup_steps=max(1, config.steps // 20), weight_decay=0.01)
    pair = {"distilled": (students["distilled"], soft_loss), "baseline": (students["baseline"], hard_loss)}
    run = fit_(pair, schedule, on_step=record, should_stop=should_stop)
    for model in students.values():
        model.eval()
    measured = {
        name: measure_model(model, eval_config, new_tokens=config.latency_tokens, repeats=3)
        for name, model in (("teacher", teacher), *students.items())
    }
    t_accuracy = measured["teacher"].accuracy
    return DistillResult(
        config=config,
        teacher=replace(_report(teacher, measured["teacher"], t_accuracy), retained=1.0),
        distilled=_report(students["distilled"], measured["distilled"], t_accuracy),
        baseline=_report(students["baseline"], measured["baseline"], t_accuracy),
        initial_accuracy=init_accuracy,
        distilled_model=students["distilled"],
        baseline_model=students["baseline"],
        distilled_ce=tuple(curves["distilled"]),
        baseline_ce=tuple(curves["baseline"]),
        val_curve=tuple(val_curve),
        steps_done=run.steps_done,
        stopped=run.stopped,
        distilled_diverged=run.diverged["distilled"],
        baseline_diverged=run.diverged["baseline"],
        transfer_windows=len(windows),
        seconds=time.perf_counter() - start,
    )
