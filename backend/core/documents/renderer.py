"""Template workers: Jinja2 templates are compiled and rendered in separate processes with a
deadline and a memory limit, so one town's template cannot freeze the app for every town.

A few worker processes (`python -m backend.core.documents.sandbox`) are started on first use
and kept; each serves one request at a time from its own thread of a small pool. A worker
that misses the deadline is killed and replaced on the next request; one that dies (out of
memory) likewise. Workers exit when the app does (their stdin closes). POSIX only.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import select
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from backend.settings import ROOT

TIMEOUT = 1.0  # seconds one check or render may take once a worker is up
GRACE = 0.5  # then the worker has this long to report its own deadline before it is killed
START_TIMEOUT = 30.0  # a worker's interpreter start, on a loaded machine
WORKERS = 2
MEMORY_LIMIT = 512 * 1024 * 1024  # address space of a worker, bytes


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.core.documents.sandbox", str(MEMORY_LIMIT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            close_fds=True,
        )
        if self._readline(START_TIMEOUT) != b"ready\n":
            self.kill()
            raise RuntimeError("the template worker did not start")

    def _readline(self, timeout: float) -> bytes | None:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if ready else None

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(request, ensure_ascii=True, default=str).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            return {"ok": False, "kind": "crashed", "detail": ""}
        line = self._readline(timeout + GRACE)
        if line is None:
            self.kill()
            return {"ok": False, "kind": "timeout", "detail": ""}
        try:
            return json.loads(line)
        except ValueError:  # EOF or a torn line: the worker died (out of memory, killed)
            self.kill()
            return {"ok": False, "kind": "crashed", "detail": ""}

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class Renderer:
    """A pool of template workers, usable from any thread or event loop."""

    def __init__(self, *, workers: int = WORKERS, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="template")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        worker: _Worker | None = getattr(self._local, "worker", None)
        if worker is None or not worker.alive:
            if worker is not None:
                worker.kill()  # reap it and close its pipes
                with self._lock:
                    self._workers.discard(worker)
            worker = _Worker()
            self._local.worker = worker
            with self._lock:
                self._workers.add(worker)
        answer = worker.ask({**request, "timeout": self.timeout}, self.timeout)
        if not worker.alive:
            with self._lock:
                self._workers.discard(worker)
        return answer

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for the answer (blocks the calling thread)."""
        return self._pool.submit(self._ask, request).result()

    async def ask_async(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request without blocking the event loop."""
        return await asyncio.wrap_future(self._pool.submit(self._ask, request))

    def close(self) -> None:
        """Stop every worker (at exit; a later request starts new ones)."""
        with self._lock:
            workers, self._workers = self._workers, set()
        for worker in workers:
            worker.kill()


renderer = Renderer()
atexit.register(renderer.close)
