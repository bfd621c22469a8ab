"""A virtual visitor: Streamlit's own websocket protocol (BackMsg / ForwardMsg protobufs), no browser.

What a browser tab does, reduced to what a load test needs (read from Streamlit 1.67's
``web/server/starlette/starlette_websocket.py`` and the ``streamlit.proto`` messages):

1. open ``ws://host:port/_stcore/stream`` with the subprotocol ``streamlit``;
2. send ``BackMsg(rerun_script=ClientState(...))`` naming the page (``page_name`` = its URL path, or
   ``page_script_hash`` once the ``navigation`` message has listed the pages) and the widget values it holds;
3. read ``ForwardMsg``s: ``new_session``, ``navigation``, ``delta`` (elements; widgets carry their id,
   ``$$ID-<hash>-<key>`` for a widget with ``key=``), until ``script_finished``.

A widget is set by sending its id with a typed value (``trigger_value`` for a button click,
``string_array_value`` for a multiselect of formatted options, ``double_array_value`` for a slider, …) in the
next ``rerun_script``; like the browser, the client re-sends every value it holds on each rerun.

Example:
    async with Visitor("http://127.0.0.1:8501") as v:
        ready = await v.open("gallery")          # seconds until the page's script finished
        v.set("playground.models", string_array_value=["llama3.2:1b (Ollama)"])
        run = await v.click("playground.run")    # waits for the run (and its st.rerun) to finish
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

__all__ = ["Run", "Visitor"]

FINISHED = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "ok",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile_error",
    ForwardMsg.FINISHED_EARLY_FOR_RERUN: "rerun",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment",
}


@dataclass
class Run:
    """One script run as the visitor saw it: when it finished, and the texts shown on the way (with times)."""

    sent_at: float
    finished_at: float | None = None
    status: str = "running"  # ok | rerun | compile_error | timeout | disconnected
    texts: list[tuple[float, str, str]] = field(default_factory=list)  # (seconds after sending, element, text)
    exceptions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return (self.finished_at or time.monotonic()) - self.sent_at

    def first(self, needle: str) -> tuple[float, str] | None:
        """(seconds after sending, text) of the first element containing ``needle``."""
        return next(((t, text) for t, _, text in self.texts if needle in text), None)


def _text_of(kind: str, element: Any) -> str:  # noqa: ANN401 - a protobuf oneof
    for name in ("body", "label", "text", "message"):
        value = getattr(element, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


class Visitor:
    """One browser session over the websocket; see the module docstring."""

    def __init__(self, base_url: str, timeout_s: float = 600.0) -> None:
        self.url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.timeout_s = timeout_s
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page_hash = ""
        self.widget_ids: dict[str, str] = {}  # user key -> widget id
        self.options: dict[str, list[str]] = {}  # user key -> formatted options (selects)
        self.held: dict[str, WidgetState] = {}  # widget id -> value re-sent on every rerun
        self.runs: list[Run] = []
        self.on_text: Callable[[Run, str], None] | None = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()
        self.disconnected = False

    async def __aenter__(self) -> Visitor:
        self._ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=60)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    # ------------------------------------------------------------------------------------- actions
    async def open(self, page: str = "") -> Run:
        """Navigate to the page at URL path ``page`` ("" = the default page); waits until it finished."""
        if self.pages and page not in self.pages:
            raise ValueError(f"no page at /{page}; this app has {sorted(self.pages)}")
        page_hash = self.pages.get(page, "")
        self.held.clear()  # a new page starts with its own widgets
        return await self._rerun(page_name="" if page_hash else page, page_hash=page_hash)

    def set(self, key: str, **value: Any) -> None:  # noqa: ANN401
        """Hold a value for widget ``key`` (e.g. ``string_array_value=[...]``), sent with the next rerun."""
        state = WidgetState(id=self.widget_ids[key])
        for name, v in value.items():
            if name.endswith("_array_value"):
                getattr(state, name).data.extend(v)
            else:
                setattr(state, name, v)
        self.held[state.id] = state

    async def change(self, key: str, **value: Any) -> Run:  # noqa: ANN401
        """Set a widget and rerun, as the browser does when a value changes."""
        self.set(key, **value)
        return await self._rerun(page_hash=self.page_hash)

    async def click(self, key: str) -> Run:
        """Press button ``key``; waits for the run and any ``st.rerun`` it asks for to finish."""
        trigger = WidgetState(id=self.widget_ids[key], trigger_value=True)
        return await self._rerun(page_hash=self.page_hash, extra=[trigger])

    # ----------------------------------------------------------------------------------- protocol
    async def _rerun(self, page_name: str = "", page_hash: str = "", extra: list[WidgetState] = ()) -> Run:
        msg = BackMsg()
        state = msg.rerun_script
        state.page_name = page_name
        state.page_script_hash = page_hash
        state.widget_states.widgets.extend([*self.held.values(), *extra])
        run = Run(time.monotonic())
        self.runs.append(run)
        self._finished.clear()
        if self.disconnected:
            run.status = "disconnected"
            return run
        await self._ws.send(msg.SerializeToString())
        deadline = time.monotonic() + self.timeout_s
        while run.status in ("running", "rerun"):  # a run ended early for st.rerun: the next one follows
            left = deadline - time.monotonic()
            try:
                await asyncio.wait_for(self._finished.wait(), timeout=max(0.01, left))
            except TimeoutError:
                run.status = "timeout"
                break
            self._finished.clear()
        return run

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.disconnected = True
            if self.runs and self.runs[-1].status in ("running", "rerun"):
                self.runs[-1].status = "disconnected"
            self._finished.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        run = self.runs[-1] if self.runs else None
        if kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
        elif kind == "script_finished" and run is not None:
            status = FINISHED.get(msg.script_finished, "ok")
            run.status = status
            if status != "rerun":
                run.finished_at = time.monotonic()
            self._finished.set()
        elif kind == "delta" and run is not None and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            etype = element.WhichOneof("type")
            body = getattr(element, etype)
            widget_id = getattr(body, "id", "")
            if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
                key = widget_id.split("-", 2)[2]
                self.widget_ids[key] = widget_id
                if hasattr(body, "options"):
                    self.options[key] = list(body.options)
            text = _text_of(etype, body)
            if etype == "exception":
                run.exceptions.append(f"{body.type}: {body.message}")
            elif etype == "alert" and body.format == 1:  # Alert.ERROR
                run.errors.append(text)
            if text:
                run.texts.append((time.monotonic() - run.sent_at, etype, text))
                if self.on_text is not None:
                    self.on_text(run, text)
