"""One supervisor for the messenger's background tasks.

Every task the messenger starts runs under it. The first unexpected failure stops all of them
and is kept as a :class:`MessengerFailed` naming its cause: callers waiting on the messenger get
it, later calls raise it, and :meth:`Supervisor.stop` hands it back for ``stop()`` to raise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import Counter

from pystatus.errors import ChatError

log = logging.getLogger(__name__)

FAILURES = Counter("chat_messenger_failures", "Messengers stopped by a background failure")


class MessengerFailed(ChatError):
    """The messenger stopped: a background task failed (the cause is chained)."""


class NotRunning(ChatError):
    """The messenger is not started, or was stopped."""


class Supervisor:
    def __init__(self, on_failure: Callable[[MessengerFailed], None]) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_failure = on_failure
        self.failure: MessengerFailed | None = None

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self.failure is not None:
            coro.close()
            raise self.failure
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None or self.failure is not None:
            return
        failure = MessengerFailed(f"the messenger stopped: {task.get_name()} failed: {exc!r}")
        failure.__cause__ = exc
        self.failure = failure
        FAILURES.inc()
        log.error("%s", failure, exc_info=exc)
        for other in self._tasks:
            other.cancel()
        self._on_failure(failure)

    async def stop(self) -> MessengerFailed | None:
        """Cancel every task and wait for them; the failure that stopped them, if any."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.failure
