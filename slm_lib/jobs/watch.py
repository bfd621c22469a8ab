"""Who is waiting, and should they stop: the caller's ``on_place`` and ``should_stop``, handed down implicitly.

A page asks a model through :func:`slm_lib.chat.ask`; the wait for a free slot happens deep inside a backend
(a job queue, the Ollama gate). Rather than thread two callbacks through every backend signature, ``ask`` sets
them for the current thread with :func:`watching`, and whatever waits reads them with :func:`current_watch`.

Example:
    >>> with watching(on_place=print) as watch:
    ...     current_watch() is watch
    True
    >>> current_watch().on_place is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from slm_lib.jobs.job import Place

__all__ = ["Watch", "current_watch", "watching"]


@dataclass(frozen=True)
class Watch:
    """``on_place(place)`` while waiting (``None`` once started); ``should_stop()`` True to give up."""

    on_place: Callable[[Place | None], None] | None = None
    should_stop: Callable[[], bool] | None = None


_WATCH: ContextVar[Watch] = ContextVar("slm_explorer_watch", default=Watch())  # noqa: B039 (immutable)


@contextmanager
def watching(
    on_place: Callable[[Place | None], None] | None = None, should_stop: Callable[[], bool] | None = None
) -> Iterator[Watch]:
    """Within the block, waits on this thread report to ``on_place`` and give up when ``should_stop()``."""
    watch = Watch(on_place, should_stop)
    token = _WATCH.set(watch)
    try:
        yield watch
    finally:
        _WATCH.reset(token)


def current_watch() -> Watch:
    """The innermost :func:`watching` of this thread (a do-nothing watch outside any)."""
    return _WATCH.get()
