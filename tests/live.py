"""The whole app on a real port, for tests that drive it from a real browser.

uvicorn runs in a thread with its own event loop, and the runtime (engine, pools, Redis
client) is built inside that loop: asyncio resources belong to the loop that made them.
The listening socket is bound before the thread starts, so the port is known at once and
early connections wait in the backlog instead of failing.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from backend.settings import Settings
from bot.main import build, make_runtime


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self._started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._started.set()


class LiveServer:
    """`with LiveServer(settings) as live:` serves the app at `live.url` until the block ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._started = threading.Event()
        self._server: _Server | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="live-server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self._error = exc
            self._started.set()

    async def _serve(self) -> None:
        runtime = make_runtime(self.settings)
        app, bot, dp = build(runtime)
        config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False)
        self._server = _Server(config, self._started)
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            if dp is not None:
                await dp.storage.close()
                await dp.fsm.events_isolation.close()
            if bot is not None:
                await bot.session.close()
            await runtime.close()

    def __enter__(self) -> "LiveServer":
        self._sock.listen(128)
        self._thread.start()
        if not self._started.wait(timeout=30) or self._error is not None:
            raise RuntimeError(f"the live server did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()
        if self._error is not None:
            raise RuntimeError("the live server failed") from self._error
