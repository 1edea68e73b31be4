"""Calls that arrive together, or while one is running, go together in one hand-off.

Answering a question and logging it each cross to another thread (the answering thread, then
SQLite's). A hand-off costs about as much as the work itself on a small machine, and many
answering threads only fight over the GIL. So with many askers at once, those waiting are
answered in one hand-off and logged in one INSERT; a lone asker waits one turn of the event
loop (microseconds) for company, then goes through alone.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Runs `run` on the items that wait, up to `limit` at once, one batch at a time.

    `run` takes a list of items and returns one outcome per item, in order: a result, or
    the Exception that item raised (the others still get theirs). If `run` itself raises,
    every item of that batch gets the error. A batch starts on the event loop's next turn,
    so calls made in the same turn (askers woken together by the previous batch) share it;
    the next batch is whatever arrived while one ran.
    """

    def __init__(
        self, run: Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]], limit: int
    ) -> None:
        self._run = run
        self._limit = limit
        self._waiting: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """The outcome of `item`, run in the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._waiting:
                count = min(len(self._waiting), self._limit)
                # An asker that gave up (cancelled) is not run.
                batch = [
                    each
                    for each in (self._waiting.popleft() for _ in range(count))
                    if not each[1].done()
                ]
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
            for _, future in [*batch, *self._waiting]:
                future.cancel()
            self._waiting.clear()
            self._draining = None
