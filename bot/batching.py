"""Calls that arrive together, or while one is running, go together in one hand-off.

Answering a question and logging it each cross to another thread (the answering thread, then
SQLite's). A hand-off costs about as much as the work itself on a small machine, and many
answering threads only fight over the GIL. So with many askers at once, those waiting are
answered in one hand-off and logged in one INSERT; a lone asker waits one turn of the event
loop (microseconds) for company, then goes through alone. Callers may name a key (a server):
keys then take turns in each batch, so one with a long queue delays the others by one batch
at most, not by its whole queue.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Runs `run` on the items that wait, up to `limit` at once, one batch at a time.

    `run` takes a list of items and returns one outcome per item, in order: a result, or
    the Exception that item raised (the others still get theirs). If `run` itself raises,
    every item of that batch gets the error. A batch starts on the event loop's next turn,
    so calls made in the same turn (askers woken together by the previous batch) share it;
    the next batch is whatever arrived while one ran. Items wait in one queue per key, oldest
    first; a batch takes one item from each key in turn, the next batch going on from where
    this one stopped.
    """

    def __init__(
        self, run: Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]], limit: int
    ) -> None:
        self._run = run
        self._limit = limit
        self._waiting: dict[Hashable, deque[tuple[Item, asyncio.Future[Result]]]] = {}
        self._turns: deque[Hashable] = deque()  # the keys with items waiting, next first
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: Item, key: Hashable = None) -> Result:
        """The outcome of `item`, run in the next batch that has room for its key's turn."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        queue = self._waiting.get(key)
        if queue is None:
            queue = self._waiting[key] = deque()
            self._turns.append(key)
        queue.append((item, future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

    def _next_batch(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        """Up to `limit` waiting items, one from each key in turn."""
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        while self._turns and len(batch) < self._limit:
            key = self._turns.popleft()
            queue = self._waiting[key]
            each = queue.popleft()
            if queue:
                self._turns.append(key)
            else:
                del self._waiting[key]
            # An asker that gave up (cancelled) is not run.
            if not each[1].done():
                batch.append(each)
        return batch

    async def _drain(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._turns:
                batch = self._next_batch()
                if not batch:
                    continue
                try:
                    outcomes = await self._run([item for item, _ in batch])
                except Exception as error:  # every asker of the batch gets it
                    outcomes = [error] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                batch = []
        finally:
            # Stopped part way (the loop is closing): nobody is left waiting forever.
            waiting = [each for queue in self._waiting.values() for each in queue]
            for _, future in [*batch, *waiting]:
                future.cancel()
            self._waiting.clear()
            self._turns.clear()
            self._draining = None
