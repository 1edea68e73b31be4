"""Batcher: calls made together, or while a batch runs, go together; a lone call alone."""

from __future__ import annotations

import asyncio

import pytest

from bot.batching import Batcher


class Recorder:
    """A batch function that remembers its batches and can be held open."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, items: list[int]) -> list[int | Exception]:
        self.batches.append(list(items))
        await self.gate.wait()
        return [ValueError(item) if item < 0 else item * 10 for item in items]


async def submitted_while_one_runs(run: Recorder, items):
    """A batcher whose first call (1) is held running, and `items` submitted meanwhile."""
    run.gate.clear()
    batcher = Batcher(run, limit=8)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batcher.submit(n)) for n in items]
    await asyncio.sleep(0)
    return batcher, first, rest


async def test_a_lone_call_runs_alone():
    run = Recorder()
    batcher = Batcher(run, limit=8)
    assert await batcher.submit(1) == 10
    assert await batcher.submit(2) == 20
    assert run.batches == [[1], [2]]


async def test_calls_waiting_meanwhile_run_together_in_order():
    run = Recorder()
    _, first, rest = await submitted_while_one_runs(run, range(2, 7))
    run.gate.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50, 60]
    assert run.batches == [[1], [2, 3, 4, 5, 6]]


async def test_calls_made_together_share_a_batch_capped_at_the_limit():
    run = Recorder()
    batcher = Batcher(run, limit=2)
    tasks = [asyncio.create_task(batcher.submit(n)) for n in range(1, 6)]
    assert await asyncio.gather(*tasks) == [10, 20, 30, 40, 50]
    assert run.batches == [[1, 2], [3, 4], [5]]


async def test_an_item_that_fails_fails_alone():
    run = Recorder()
    batcher, first, tasks = await submitted_while_one_runs(run, (2, -3, 4))
    run.gate.set()
    await first
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes[0] == 20 and outcomes[2] == 40
    assert isinstance(outcomes[1], ValueError)
    with pytest.raises(ValueError):
        await batcher.submit(-1)
    assert await batcher.submit(5) == 50  # and the batcher carries on


async def test_a_failing_batch_fails_each_of_its_callers_and_the_next_batch_runs():
    calls: list[list[int]] = []
    release = asyncio.Event()

    async def run(items: list[int]) -> list[int | Exception]:
        calls.append(items)
        await release.wait()
        if 2 in items:
            raise OSError("disk full")
        return list(items)

    batcher = Batcher(run, limit=2)
    tasks = [asyncio.create_task(batcher.submit(n)) for n in (1, 2, 3, 4)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(each, OSError) for each in outcomes[:2])
    assert outcomes[2:] == [3, 4]
    assert calls == [[1, 2], [3, 4]]


async def test_a_caller_that_gives_up_is_not_run():
    run = Recorder()
    _, first, (gone, kept) = await submitted_while_one_runs(run, (2, 3))
    gone.cancel()
    run.gate.set()
    assert await first == 10
    assert await kept == 30
    assert run.batches == [[1], [3]]


async def test_keys_take_turns_so_a_long_queue_holds_others_back_one_batch_at_most():
    run = Recorder()
    run.gate.clear()
    batcher = Batcher(run, limit=4)
    first = asyncio.create_task(batcher.submit(0, key="a"))
    await asyncio.sleep(0)
    # While a batch runs: key a queues 1..10, then b 100 and c 200, 201.
    flood = [asyncio.create_task(batcher.submit(n, key="a")) for n in range(1, 11)]
    others = [
        asyncio.create_task(batcher.submit(100, key="b")),
        asyncio.create_task(batcher.submit(200, key="c")),
        asyncio.create_task(batcher.submit(201, key="c")),
    ]
    await asyncio.sleep(0)
    run.gate.set()
    await asyncio.gather(first, *flood, *others)
    assert run.batches == [[0], [1, 100, 200, 2], [201, 3, 4, 5], [6, 7, 8, 9], [10]]
    assert [task.result() for task in others] == [1000, 2000, 2010]
