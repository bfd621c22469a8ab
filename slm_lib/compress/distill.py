"""Knowledge distillation: train a small student to copy a teacher's softened next-character distribution.

``distill`` trains two students side by side from the same initial weights, on the same batches for the same
steps: one on the teacher's soft targets (plus a little hard-label loss), one on hard labels only. The
difference between them is what distillation bought, measured rather than claimed.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from slm_lib.settings import limits
from slm_lib.tiny import (
    LAB_EVAL,
    EvalConfig,
    TinyConfig,
    TinyLM,
    evaluate,
    load_corpus,
    lr_at,
    make_optimizer,
    measure_latency,
    model_device,
    param_count,
    stored_bytes,
)

__all__ = [
    "PRESETS",
    "TEACHER_CACHE_BYTES",
    "DistillConfig",
    "DistillProgress",
    "DistillResult",
    "SoftTargets",
    "StudentPreset",
    "StudentReport",
    "distill",
    "distillation_loss",
    "make_student",
    "soft_targets",
]


@dataclass(frozen=True)
class StudentPreset:
    """How a student is built: from some of the teacher's layers, or a narrower model from scratch."""

    label: str
    from_teacher: bool  # True: copy embeddings, chosen blocks, final norm and head from the teacher
    layer_step: int = 2  # from_teacher: keep blocks 0, step, 2*step, ... (DistilBERT keeps one in two)
    mlp_fraction: float = 1.0  # from_teacher: keep this share of each MLP's neurons (largest weights first)
    n_layer: int = 2  # from scratch only
    width_fraction: float = 0.5  # from scratch only: the student's width as a share of the teacher's


# "half" keeps the embeddings and output head whole, so half the layers is more than half the parameters
# (52.6% of this teacher). "half_slim" also keeps only 3/4 of each MLP's neurons (depth and width pruning
# before distillation, as in NVIDIA's Minitron) and lands under half (44.7%).
PRESETS: dict[str, StudentPreset] = {
    "half_slim": StudentPreset("Half the layers and ¾ of each MLP, copied from the teacher", True, 2, 0.75),
    "half": StudentPreset("Half the layers, copied from the teacher's alternate layers (DistilBERT)", True),
    "narrow": StudentPreset("Narrower student from scratch (2 layers, half the width)", False),
}
TEACHER_CACHE_BYTES = 64 * 2**20  # cap on the teacher logits kept between steps (fp16)


def _keep_neurons_(block: torch.nn.Module, fraction: float) -> None:
    """Keep the MLP neurons with the largest in- and out-weights (in place, on a copy the caller owns)."""
    fc, proj = block.mlp.fc, block.mlp.proj
    k = max(1, round(fc.out_features * fraction))
    score = fc.weight.norm(dim=1) * proj.weight.norm(dim=0)  # (hidden,): how much each neuron can matter
    keep = score.topk(k).indices.sort().values
    new_fc = torch.nn.Linear(fc.in_features, k).to(fc.weight.device)
    new_proj = torch.nn.Linear(k, proj.out_features).to(proj.weight.device)
    with torch.no_grad():
        new_fc.weight.copy_(fc.weight[keep])
        new_fc.bias.copy_(fc.bias[keep])
        new_proj.weight.copy_(proj.weight[:, keep])
        new_proj.bias.copy_(proj.bias)
    block.mlp.fc, block.mlp.proj = new_fc, new_proj


def make_student(teacher: TinyLM, preset: str, seed: int = 0) -> TinyLM:
    """Build (not train) a student for ``preset``; the teacher is not modified.

    Example:
        >>> from slm_lib.tiny import load_teacher
        >>> make_student(load_teacher(), "half").config.n_layer
        2
    """
    spec = PRESETS[preset]
    tc = teacher.config
    torch.manual_seed(seed)
    if not spec.from_teacher:
        width = max(tc.n_head, round(tc.n_embd * spec.width_fraction / tc.n_head) * tc.n_head)
        config = TinyConfig(tc.vocab_size, spec.n_layer, tc.n_head, width, tc.block_size)
        return TinyLM(config).to(model_device(teacher))
    keep = list(range(0, tc.n_layer, spec.layer_step))  # e.g. [0, 2] of a 4-layer teacher
    hidden = max(1, round(tc.mlp_hidden * spec.mlp_fraction))
    config = TinyConfig(tc.vocab_size, len(keep), tc.n_head, tc.n_embd, tc.block_size, hidden, tc.tie_head)
    student = copy.deepcopy(teacher)  # embeddings, final norm and head come along unchanged
    student.config = config
    student.blocks = torch.nn.ModuleList(student.blocks[i] for i in keep)
    if spec.mlp_fraction < 1:
        for block in student.blocks:
            _keep_neurons_(block, spec.mlp_fraction)
    return student.train()


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """``alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, targets)`` (Hinton et al. 2015).

    Logits are (N, V), targets (N,). Dividing logits by T > 1 flattens both distributions, so the student also
    learns how the teacher ranks the *wrong* characters; T^2 keeps the soft term's gradients the same size as
    T changes.
    """
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (N, V)
    log_p_teacher = F.log_softmax(teacher_logits / temperature, dim=-1)  # (N, V)
    soft = F.kl_div(log_p_student, log_p_teacher, log_target=True, reduction="batchmean")
    hard = F.cross_entropy(student_logits, targets)
    return alpha * temperature**2 * soft + (1 - alpha) * hard


@dataclass(frozen=True)
class DistillConfig:
    """One distillation run.

    ``transfer_chars`` is the student's data budget: the first N characters of the training split, cut into
    fixed windows. Little data is the classic setting where soft targets help most.
    """

    preset: str = "half_slim"
    temperature: float = 2.0
    alpha: float = 0.9
    steps: int = 150
    lr: float = 1e-3
    batch: int = 32
    transfer_chars: int = 50_000
    seed: int = 0
    eval_every: int = 25  # steps between the small held-out checks drawn on the live chart (0 = never)
    latency_tokens: int = 16  # characters generated per latency measurement

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


def _report(model: TinyLM, teacher_accuracy: float, eval_config: EvalConfig, tokens: int) -> StudentReport:
    scores = evaluate(model, "val", eval_config)
    latency = measure_latency(model, new_tokens=tokens, repeats=3)
    return StudentReport(
        params=param_count(model),
        stored_bytes=stored_bytes(model),
        accuracy=scores.accuracy,
        perplexity=scores.perplexity,
        ms_per_token=latency.ms_per_token,
        retained=scores.accuracy / teacher_accuracy if teacher_accuracy > 0 else float("nan"),
    )


def distill(
    teacher: TinyLM,
    config: DistillConfig,
    on_step: Callable[[DistillProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    eval_config: EvalConfig | None = None,
) -> DistillResult:
    """Train a distilled student and a hard-label baseline from the same start; measure both.

    The teacher is not modified. Its logits for each transfer window are computed once and reused, so a
    distillation step costs about as much as a hard-label step. A non-finite loss stops that student and sets
    its ``*_diverged`` flag; ``should_stop()`` ends both at the current step.
    """
    start = time.perf_counter()
    eval_config = eval_config or LAB_EVAL
    dev = model_device(teacher)
    teacher = copy.deepcopy(teacher).eval()  # never touch the caller's (possibly shared) model
    corpus = load_corpus()
    block = teacher.config.block_size
    data = corpus.train[: config.transfer_chars]
    stride = block // 2  # overlapping windows: each character is seen with two different contexts
    n_windows = max(1, (len(data) - block - 1) // stride + 1)
    starts = torch.arange(n_windows) * stride
    windows = data[starts[:, None] + torch.arange(block + 1)[None, :]]  # (n_windows, block + 1)
    gen = torch.Generator().manual_seed(config.seed)
    order = torch.randint(0, n_windows, (config.steps, config.batch), generator=gen)  # same batches for both
    teacher_cache: dict[int, torch.Tensor] = {}

    per_window = block * teacher.config.vocab_size * 2  # bytes of one window's logits in fp16

    def teacher_logits(ids: torch.Tensor) -> torch.Tensor:
        # The teacher is frozen, so its logits for a window never change: compute each window once and keep
        # it (in fp16, up to TEACHER_CACHE_BYTES); later batches reuse it instead of running the teacher.
        missing = sorted({int(i) for i in ids} - teacher_cache.keys())
        fresh: dict[int, torch.Tensor] = {}
        if missing:
            with torch.inference_mode():
                out = teacher(windows[missing, :-1].to(dev))  # (m, T, V)
            fresh = dict(zip(missing, out.half(), strict=True))
            room = max(0, TEACHER_CACHE_BYTES // per_window - len(teacher_cache))
            teacher_cache.update(dict(list(fresh.items())[:room]))
        rows = [teacher_cache[i] if i in teacher_cache else fresh[i] for i in map(int, ids)]
        return torch.stack(rows).float()  # (B, T, V)

    init = make_student(teacher, config.preset, seed=config.seed)
    init_accuracy = evaluate(init, "val", eval_config).accuracy
    students = {"distilled": copy.deepcopy(init).train(), "baseline": copy.deepcopy(init).train()}
    optims = {name: make_optimizer(m, config.lr, 0.01) for name, m in students.items()}
    curves: dict[str, list[float]] = {"distilled": [], "baseline": []}
    diverged = {"distilled": False, "baseline": False}
    val_curve: list[tuple[int, float, float]] = []
    quick = EvalConfig(max_windows=16)
    stopped = False
    steps_done = 0
    warmup = max(1, config.steps // 20)
    for step in range(config.steps):
        if should_stop is not None and should_stop():
            stopped = True
            break
        if all(diverged.values()):
            break
        ids = order[step]
        chunk = windows[ids].to(dev)
        x, y = chunk[:, :-1], chunk[:, 1:].flatten()  # (B, T), (B*T,)
        kd_value = math.nan
        for name, model in students.items():
            if diverged[name]:
                continue
            for group in optims[name].param_groups:
                group["lr"] = lr_at(step, config.steps, config.lr, warmup)
            logits = model(x).flatten(0, 1)  # (B*T, V)
            ce = F.cross_entropy(logits, y)
            if name == "distilled":
                t_logits = teacher_logits(ids).flatten(0, 1)  # (B*T, V)
                loss = distillation_loss(logits, t_logits, y, config.temperature, config.alpha)
                kd_value = loss.item()
            else:
                loss = ce
            if not math.isfinite(loss.item()):
                diverged[name] = True
                continue
            optims[name].zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optims[name].step()
            curves[name].append(ce.item())
        val = None
        if config.eval_every and ((step + 1) % config.eval_every == 0 or step + 1 == config.steps):
            val = tuple(evaluate(students[n], "val", quick).loss for n in ("distilled", "baseline"))
            val_curve.append((step + 1, val[0], val[1]))
        if on_step is not None:
            d_ce = curves["distilled"][-1] if curves["distilled"] else math.nan
            b_ce = curves["baseline"][-1] if curves["baseline"] else math.nan
            on_step(DistillProgress(step, config.steps, kd_value, d_ce, b_ce, val))  # type: ignore[arg-type]
        steps_done = step + 1
    t_scores = evaluate(teacher, "val", eval_config)
    t_latency = measure_latency(teacher, new_tokens=config.latency_tokens, repeats=3)
    teacher_report = StudentReport(
        params=param_count(teacher),
        stored_bytes=stored_bytes(teacher),
        accuracy=t_scores.accuracy,
        perplexity=t_scores.perplexity,
        ms_per_token=t_latency.ms_per_token,
        retained=1.0,
    )
    for model in students.values():
        model.eval()
    return DistillResult(
        config=config,
        teacher=teacher_report,
        distilled=_report(students["distilled"], t_scores.accuracy, eval_config, config.latency_tokens),
        baseline=_report(students["baseline"], t_scores.accuracy, eval_config, config.latency_tokens),
        initial_accuracy=init_accuracy,
        distilled_model=students["distilled"],
        baseline_model=students["baseline"],
        distilled_ce=tuple(curves["distilled"]),
        baseline_ce=tuple(curves["baseline"]),
        val_curve=tuple(val_curve),
        steps_done=steps_done,
        stopped=stopped,
        distilled_diverged=diverged["distilled"],
        baseline_diverged=diverged["baseline"],
        transfer_windows=n_windows,
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class SoftTargets:
    """The teacher's next-character distribution after ``context`` at each temperature."""

    context: str
    chars: tuple[str, ...]  # the vocabulary, in id order
    temperatures: tuple[float, ...]
    probs: tuple[tuple[float, ...], ...]  # probs[i][j]: P(chars[j]) at temperatures[i]


@torch.inference_mode()
def soft_targets(teacher: TinyLM, context: str, temperatures: Sequence[float] = (0.5, 1.0, 2.0, 4.0)) -> SoftTargets:
    """What "soft targets" are: softmax(logits / T) for the character after ``context``.

    Example:
        >>> from slm_lib.tiny import load_teacher
        >>> st = soft_targets(load_teacher(), "The retur", (1.0, 4.0))
        >>> st.chars[max(range(len(st.chars)), key=st.probs[0].__getitem__)]
        'n'
    """
    if not context:
        raise ValueError("context is empty: type a few characters for the teacher to continue")
    if any(t <= 0 for t in temperatures):
        raise ValueError(f"temperatures={tuple(temperatures)} must all be > 0")
    corpus = load_corpus()
    was_training = teacher.training
    teacher.eval()
    try:
        ids = corpus.encode(context)[-teacher.config.block_size :]
        logits = teacher(torch.tensor([ids], device=model_device(teacher)))[0, -1].float().cpu()  # (V,)
    finally:
        teacher.train(was_training)
    probs = tuple(tuple(torch.softmax(logits / t, dim=-1).tolist()) for t in temperatures)
    return SoftTargets(context=context, chars=corpus.chars, temperatures=tuple(temperatures), probs=probs)
