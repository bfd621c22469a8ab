"""The distillation loss and the soft targets it learns from.

A teacher's softened next-character distribution, ``softmax(logits / T)``, says which wrong answers are
nearly right; :func:`distillation_loss` trains a student to match it (plus a little of the true labels).

Example:
    >>> import torch
    >>> s, t, y = torch.zeros(2, 5), torch.zeros(2, 5), torch.tensor([0, 3])
    >>> round(distillation_loss(s, t, y, temperature=2.0, alpha=0.0).item(), 4)  # hard labels only: ln 5
    1.6094
    >>> round(distillation_loss(s, t, y, temperature=2.0, alpha=1.0).item(), 4)  # student already = teacher
    0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from slm_lib.tiny import TinyLM, load_corpus, model_device

__all__ = ["SoftTargets", "distillation_loss", "forward_with_states", "hidden_state_loss", "soft_targets"]


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


def forward_with_states(model: TinyLM, idx: torch.Tensor, layers: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (B, T, V) and the residual stream after each block in ``layers``: (len(layers), B, T, C).

    The same computation as ``model(idx)``, keeping the intermediate states a student can be taught to match.
    """
    pos = torch.arange(idx.shape[1], device=idx.device)
    x = model.tok_emb(idx) + model.pos_emb(pos)  # (B, T, C)
    states = []
    for i, block in enumerate(model.blocks):
        x = block(x)
        if i in layers:
            states.append(x)
    kept = torch.stack(states) if states else x.new_zeros(0, *x.shape)
    return model.head(model.ln_f(x)), kept


def hidden_state_loss(student_states: torch.Tensor, teacher_states: torch.Tensor) -> torch.Tensor:
    """Mean squared error between matched residual streams, relative to the teacher's mean square.

    Dividing by the teacher's own scale makes 1.0 mean "as far off as predicting zeros", whatever the layer.

    Example:
        >>> t = torch.ones(1, 2, 3, 4)
        >>> hidden_state_loss(torch.zeros_like(t), t).item(), hidden_state_loss(t, t).item()
        (1.0, 0.0)
    """
    return F.mse_loss(student_states, teacher_states) / teacher_states.pow(2).mean().clamp_min(1e-8)


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
