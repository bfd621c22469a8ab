"""Process-wide settings read from environment variables (one place, documented in README).

| variable | default | meaning |
|---|---|---|
| ``SLM_EXPLORER_HOSTED`` | unset | ``1``/``true``: public deployment (no custom Ollama host, no pulls, lower caps) |
| ``SLM_EXPLORER_CACHE`` | ``~/.cache/slm-explorer`` | converted model weights and other expensive artefacts |
| ``SLM_EXPLORER_DATA`` | ``~/.local/share/slm-explorer`` | user data: the evaluation-run database |
| ``OLLAMA_HOST`` | ``127.0.0.1:11434`` | where the Ollama server listens |
| ``SLM_EXPLORER_WORKERS`` | ``process`` when hosted, else ``thread`` | where model work runs (see below) |
| ``SLM_EXPLORER_WORKER_IDLE_S`` | ``120`` | a worker process idle this long exits and frees its memory |
| ``SLM_EXPLORER_WORKER_NICE`` | ``10`` | niceness added to worker processes: page serving wins a contended CPU |
| ``SLM_EXPLORER_PAGE_CPUS`` | ``1`` | with worker processes: cores kept for serving pages (0: no split) |
| ``SLM_EXPLORER_JUDGES`` | unset | ``backend:model`` ids (comma-separated) that may judge answers |
| ``SLM_EXPLORER_OLLAMA_CONCURRENCY`` | ``1`` | requests an evaluation run sends to Ollama at once |
| ``SLM_EXPLORER_OPENAI_ENDPOINTS`` | unset | OpenAI-compatible servers as JSON (``backends.openai_endpoints``) |
| ``SLM_EXPLORER_RUN_TTL_HOURS`` | ``24`` (hosted) | hosted evaluation runs older than this are deleted |
| ``SLM_EXPLORER_DB_MAX_MB`` | ``64`` (hosted) | size cap of the hosted run database (oldest runs go first) |

Model work (on-board answers, lab training, measuring, scoring answers) runs as queued jobs (``slm_lib.jobs``).
With ``process`` it runs in worker processes: pages stay fast while models work, both cores are used, the page
server keeps to ``SLM_EXPLORER_PAGE_CPUS`` core(s) of its own, and a crashed worker fails its job, not the app.
With ``thread`` it runs on threads of the app's own process: no worker to start, the right choice for tests and
one local user.

``SLM_EXPLORER_JUDGES`` unset: any configured model may judge locally, none on a hosted deployment.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ASSETS_DIR",
    "MAX_LANE_CONCURRENCY",
    "Limits",
    "WorkerSettings",
    "cache_dir",
    "cache_notice",
    "data_dir",
    "is_hosted",
    "judge_models",
    "limits",
    "ollama_concurrency",
    "ollama_host",
    "openai_endpoints_json",
    "workers",
]

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"  # data files shipped with the app
_TRUE = {"1", "true", "yes", "on"}
MAX_LANE_CONCURRENCY = 64  # requests in flight to one server from one run: more threads buy nothing here


def is_hosted() -> bool:
    """True when the app runs as a public deployment (``SLM_EXPLORER_HOSTED=1``)."""
    return os.environ.get("SLM_EXPLORER_HOSTED", "").strip().lower() in _TRUE


_CACHE_CHOSEN: dict[str, tuple[Path, str | None]] = {}  # configured folder -> (folder used, notice)


def _writable(folder: Path) -> bool:
    """True when a file can be created in ``folder`` (tried for real: permissions alone can mislead)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-"):
            return True
    except OSError:
        return False


def cache_dir() -> Path:
    """Per-user cache folder for expensive artefacts (created on demand).

    When the configured folder cannot be written (a read-only mount, wrong owner), a private
    temporary folder is used instead and ``cache_notice()`` says so; decided once per process.
    """
    raw = os.environ.get("SLM_EXPLORER_CACHE") or str(Path.home() / ".cache" / "slm-explorer")
    if raw not in _CACHE_CHOSEN:
        path, notice = Path(raw).expanduser(), None
        if not _writable(path):
            uid = os.getuid() if hasattr(os, "getuid") else "user"
            fallback = Path(tempfile.gettempdir()) / f"slm-explorer-cache-{uid}"
            fallback.mkdir(mode=0o700, exist_ok=True)
            where = "" if is_hosted() else f" ({path})"
            notice = (
                f"The cache folder{where} cannot be written, so a temporary folder is used until the app "
                "restarts: the on-board model is converted again there (~30 s). Fix: make the folder writable "
                "or set SLM_EXPLORER_CACHE."
            )
            path = fallback
        _CACHE_CHOSEN[raw] = (path, notice)
    return _CACHE_CHOSEN[raw][0]


def cache_notice() -> str | None:
    """Why ``cache_dir()`` is a temporary folder, or None when the configured one is in use."""
    cache_dir()
    raw = os.environ.get("SLM_EXPLORER_CACHE") or str(Path.home() / ".cache" / "slm-explorer")
    return _CACHE_CHOSEN[raw][1]


def data_dir() -> Path:
    """Per-user data folder (the run database lives here; created on demand)."""
    default = Path.home() / ".local" / "share" / "slm-explorer"
    path = Path(os.environ.get("SLM_EXPLORER_DATA") or str(default)).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def ollama_host() -> str:
    """The raw ``OLLAMA_HOST`` value (normalised by the Ollama backend)."""
    return os.environ.get("OLLAMA_HOST", "").strip() or "127.0.0.1:11434"


def judge_models() -> tuple[str, ...] | None:
    """Models allowed to judge answers (``SLM_EXPLORER_JUDGES``); None means any configured model.

    Locally an unset variable allows every model; on a hosted deployment it allows none, so the
    operator decides which (possibly costly) models visitors may use as judges.

    Example:
        >>> import os; os.environ["SLM_EXPLORER_JUDGES"] = "ollama:llama3.2:1b, embedded:smollm2-135m"
        >>> judge_models()
        ('ollama:llama3.2:1b', 'embedded:smollm2-135m')
        >>> del os.environ["SLM_EXPLORER_JUDGES"]
    """
    raw = os.environ.get("SLM_EXPLORER_JUDGES", "")
    listed = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if listed:
        return listed
    return () if is_hosted() else None


def ollama_concurrency() -> int:
    """Requests an evaluation run keeps in flight on Ollama (``SLM_EXPLORER_OLLAMA_CONCURRENCY``, default 1).

    1 suits a laptop (Ollama answers one request per model at a time unless ``OLLAMA_NUM_PARALLEL``
    is raised); set it to the server's ``OLLAMA_NUM_PARALLEL`` to use a bigger machine.

    Raises:
        ValueError: naming the value when it is not a whole number from 1 to ``MAX_LANE_CONCURRENCY``.
    """
    raw = os.environ.get("SLM_EXPLORER_OLLAMA_CONCURRENCY", "").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LANE_CONCURRENCY:
        raise ValueError(
            f"SLM_EXPLORER_OLLAMA_CONCURRENCY={raw!r}: use a whole number from 1 to {MAX_LANE_CONCURRENCY}"
        )
    return int(raw)


def openai_endpoints_json() -> str:
    """The raw ``SLM_EXPLORER_OPENAI_ENDPOINTS`` value (parsed by ``backends.openai_endpoints``); "" if unset."""
    return os.environ.get("SLM_EXPLORER_OPENAI_ENDPOINTS", "").strip()


@dataclass(frozen=True)
class Limits:
    """Caps that keep one session from starving the others."""

    max_prompt_chars: int
    max_new_tokens: int
    max_concurrent_generations: int
    max_train_steps: int
    max_answer_chars: int
    max_run_cells: int = 5_000  # answers one evaluation run may ask for
    max_concurrent_trainings: int = 2  # lab training and measuring jobs running at once
    max_waiting_jobs: int = 50  # jobs of one kind that may wait in line; more are refused
    run_ttl_s: float | None = None  # evaluation runs expire after this long (None: kept)
    max_db_bytes: int | None = None  # the run database's data is kept under this (None: no cap)


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment, or ``default`` when unset or unusable."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 and value != float("inf") else default


def limits() -> Limits:
    """Caps for this deployment: tighter when hosted."""
    if is_hosted():
        return Limits(
            max_prompt_chars=2_000,
            max_new_tokens=256,
            max_concurrent_generations=2,
            max_train_steps=300,
            max_answer_chars=8_000,
            max_run_cells=300,
            max_concurrent_trainings=2,
            max_waiting_jobs=50,
            run_ttl_s=_env_number("SLM_EXPLORER_RUN_TTL_HOURS", 24) * 3600,
            max_db_bytes=int(_env_number("SLM_EXPLORER_DB_MAX_MB", 64) * 1024 * 1024),
        )
    return Limits(
        max_prompt_chars=8_000,
        max_new_tokens=1_024,
        max_concurrent_generations=4,
        max_train_steps=2_000,
        max_answer_chars=40_000,
        max_run_cells=5_000,
        max_concurrent_trainings=4,
        max_waiting_jobs=50,
    )


@dataclass(frozen=True)
class WorkerSettings:
    """How model work runs: ``mode`` ``"process"`` or ``"thread"``; worker processes exit after ``idle_exit_s``.

    Each worker process uses ``threads`` torch threads and runs at ``nice`` (lower priority than page serving,
    so a busy model never makes pages slow). With worker processes, the page-serving process keeps to
    ``page_cpus`` cores of its own, so visitors browsing do not take the workers' cores (``jobs.cpus``).
    """

    mode: str
    idle_exit_s: float
    threads: int = 1
    nice: int = 10
    page_cpus: int = 1

    def __post_init__(self) -> None:
        if self.mode not in ("process", "thread"):
            raise ValueError(f"SLM_EXPLORER_WORKERS={self.mode!r} must be 'process' or 'thread'")
        if not self.idle_exit_s > 0:
            raise ValueError(f"SLM_EXPLORER_WORKER_IDLE_S={self.idle_exit_s} must be a number of seconds > 0")
        if not 0 <= self.nice <= 19:
            raise ValueError(f"SLM_EXPLORER_WORKER_NICE={self.nice} must be between 0 and 19")
        if self.page_cpus < 0:
            raise ValueError(f"SLM_EXPLORER_PAGE_CPUS={self.page_cpus} must be 0 (no split) or a number of cores")


def _number(name: str, default: str, kind: type[float] | type[int]) -> float:
    raw = os.environ.get(name, "").strip() or default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} must be a {'whole ' if kind is int else ''}number") from None


def workers() -> WorkerSettings:
    """Where model work runs and how its worker processes behave (``SLM_EXPLORER_WORKER*``, see the table above)."""
    mode = os.environ.get("SLM_EXPLORER_WORKERS", "").strip().lower() or ("process" if is_hosted() else "thread")
    idle = _number("SLM_EXPLORER_WORKER_IDLE_S", "120", float)
    nice = int(_number("SLM_EXPLORER_WORKER_NICE", "10", int))
    page_cpus = int(_number("SLM_EXPLORER_PAGE_CPUS", "1", int))
    return WorkerSettings(mode=mode, idle_exit_s=idle, nice=nice, page_cpus=page_cpus)
