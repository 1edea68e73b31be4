"""Calls that arrive while one is running go together, in one hand-off, as the next batch.

Answering a question and logging it each cross to another thread (the answering thread, then
SQLite's). A hand-off costs about as much as the work itself on a small machine, and many
answering threads only fight over the GIL. So with many askers at once, those waiting are
answered in one hand-off and logged in one INSERT, while a lone asker goes straight through.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Runs `run` on one item at a time, or on all that wait (up to `limit`) at once.

    `run` takes a list of items and returns one outcome per item, in order: a result, or
    the Exception that item raised (the others still get theirs). If `run` itself raises,
    every item of that batch gets the error. One batch runs at a time: the next one is
    whatever arrived meanwhile.
    """

    def __init__(
        self, run: Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]], limit: int
    ) -> None:
        self._run = run
        self._limit = limit
        self._waiting: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self._busy = False
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """The outcome of `item`: run now when idle, else in the next batch."""
        if self._busy:
            future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
            self._waiting.append((item, future))
            return await future
        self._busy = True
        try:
            [outcome] = await self._run([item])
        finally:
            self._then_drain()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _then_drain(self) -> None:
        if self._waiting:
            self._draining = asyncio.get_running_loop().create_task(self._drain())
        else:
            self._busy = False

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
            self._busy = False
            self._draining = None
