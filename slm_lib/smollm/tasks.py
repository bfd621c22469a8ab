"""Measuring the real SLM's variants as a job task (see :mod:`slm_lib.jobs`): minutes of CPU per variant.

Example:
    job = pool.submit("train", "slm_lib.smollm.tasks:build_variant_task", {"name": "int8"})
    for fraction, message in job.events():
        print(f"{fraction:.0%} {message}")
    print(job.result().perplexity)
"""

from __future__ import annotations

from slm_lib.jobs import JobCancelled, JobContext
from slm_lib.smollm.compress import VariantResult, build_variant

__all__ = ["build_variant_task"]


def build_variant_task(ctx: JobContext, name: str) -> VariantResult:
    """Build and measure variant ``name`` (cached on disk); emits ``(fraction, message)``; stops at the next step."""

    def progress(fraction: float, message: str) -> None:
        if ctx.stopped():
            raise JobCancelled(f"measuring {name} was stopped")
        ctx.emit((fraction, message))

    return build_variant(name, on_progress=progress)
