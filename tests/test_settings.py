"""Environment settings: worker mode, idle exit and niceness are parsed and validated with the fix in the message."""

from __future__ import annotations

import pytest

from slm_lib import settings
from slm_lib.settings import WorkerSettings


@pytest.fixture
def env(monkeypatch):
    for name in (
        "SLM_EXPLORER_HOSTED",
        "SLM_EXPLORER_WORKERS",
        "SLM_EXPLORER_WORKER_IDLE_S",
        "SLM_EXPLORER_WORKER_NICE",
        "SLM_EXPLORER_PAGE_CPUS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_workers_default_to_threads_locally_and_processes_when_hosted(env):
    assert settings.workers() == WorkerSettings(mode="thread", idle_exit_s=120.0, nice=10)
    env.setenv("SLM_EXPLORER_HOSTED", "1")
    assert settings.workers().mode == "process"
    env.setenv("SLM_EXPLORER_WORKERS", " Thread ")
    assert settings.workers().mode == "thread"


def test_worker_idle_and_nice_are_read_from_the_environment(env):
    env.setenv("SLM_EXPLORER_WORKER_IDLE_S", "2.5")
    env.setenv("SLM_EXPLORER_WORKER_NICE", "0")
    env.setenv("SLM_EXPLORER_PAGE_CPUS", "2")
    conf = settings.workers()
    assert (conf.idle_exit_s, conf.nice, conf.page_cpus) == (2.5, 0, 2)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SLM_EXPLORER_WORKERS", "fork", "must be 'process' or 'thread'"),
        ("SLM_EXPLORER_WORKER_IDLE_S", "soon", "must be a number"),
        ("SLM_EXPLORER_WORKER_IDLE_S", "0", "must be a number of seconds > 0"),
        ("SLM_EXPLORER_WORKER_NICE", "2.5", "must be a whole number"),
        ("SLM_EXPLORER_WORKER_NICE", "-1", "between 0 and 19"),
        ("SLM_EXPLORER_WORKER_NICE", "20", "between 0 and 19"),
        ("SLM_EXPLORER_PAGE_CPUS", "-1", "0 \\(no split\\) or a number of cores"),
        ("SLM_EXPLORER_PAGE_CPUS", "one", "must be a whole number"),
    ],
)
def test_bad_worker_settings_name_the_variable_and_the_fix(env, name, value, message):
    env.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name}=.*{message}"):
        settings.workers()
