"""One private event loop in a daemon thread, for the life of a reward function.

RL trainers call reward functions from synchronous code, sometimes inside a running event loop
(a notebook, an async trainer). The judge client's connections, the limiter and the per-prompt
tasks are bound to the loop that made them, so every call of a reward function runs on the same
long-lived loop in its own thread, whether or not the caller's thread has one running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """Runs coroutines on a private loop thread, started on first use."""

    def __init__(self, name: str = "longjudge-rl") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the private loop and wait for its result in this thread."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a reward function was called from inside its own event loop")
        loop = self._start()
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the private loop from another loop without blocking that loop."""
        loop = self._start()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def close(self) -> None:
        """Stop the loop and its thread (pending work is cancelled)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return
        if thread is not None and thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(_cancel_pending(), loop).result(timeout=30)
            finally:
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
        if not loop.is_running():
            loop.close()


async def _cancel_pending() -> None:
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


__all__ = ["BackgroundLoop"]
