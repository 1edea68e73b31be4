"""One server's load never queues ahead of another server's work: its flood of questions takes
turns with the others' questions, documents being read (in asyncio's shared thread pool) never
hold up answering, and a server adding many documents reads one at a time.

Measured by the order in which things finish, not by wall-clock thresholds, which a busy
machine would make flaky.
"""

from __future__ import annotations

import asyncio
import os

from bot.engine.library import Library

SERVER_A = 1
SERVER_B = 2
KETTLE = b"The kettle boils a full litre of water in ninety seconds.\n"
TOASTER = b"The toaster browns two slices of bread in three minutes.\n"
# asyncio.to_thread's pool: min(32, cores + 4) threads (ThreadPoolExecutor's default).
POOL_THREADS = min(32, (os.cpu_count() or 1) + 4)


def slow_markdown(number: int) -> bytes:
    """A document that takes a while to read (a few hundred milliseconds of Markdown parsing)
    but yields little to store: emphasis on every word."""
    return f"# Notes {number}\n\n".encode() + b"*ferry* " * 15_000


async def test_a_server_flooding_questions_does_not_hold_back_another_servers_question(
    library: Library,
):
    await library.documents.add(SERVER_A, KETTLE, filename="kettle.txt")
    await library.documents.add(SERVER_B, TOASTER, filename="toaster.txt")
    finished: list[int] = []

    async def ask(scope: int, question: str) -> None:
        await library.ask(question, scope=scope, via="cli")
        finished.append(scope)

    await ask(SERVER_A, "how long does the kettle take?")
    await ask(SERVER_B, "how long does the toaster take?")
    finished.clear()
    flood = [
        asyncio.create_task(ask(SERVER_A, "how long does the kettle take?")) for _ in range(300)
    ]
    await asyncio.sleep(0)  # all of A's questions are waiting, the first batch is formed
    other = asyncio.create_task(ask(SERVER_B, "how long does the toaster take?"))
    await asyncio.gather(*flood, other)
    # Served in the next batch (16 questions), not after A's 300.
    assert finished.index(SERVER_B) < 40, finished.index(SERVER_B)


async def test_questions_are_answered_while_documents_fill_every_pool_thread(library: Library):
    await library.documents.add(SERVER_B, TOASTER, filename="toaster.txt")
    await library.ask("how long does the toaster take?", scope=SERVER_B, via="cli")
    finished: list[str] = []

    async def add(scope: int) -> None:
        await library.documents.add(scope, slow_markdown(scope), filename="notes.md")
        finished.append("document")

    # More servers adding a document at once than the pool has threads: some wait for one.
    adding = [asyncio.create_task(add(100 + n)) for n in range(POOL_THREADS + 2)]
    await asyncio.sleep(0)  # every document is being read, or waiting for a thread
    await library.ask("how long does the toaster take?", scope=SERVER_B, via="cli")
    finished.append("answer")
    await asyncio.gather(*adding)
    # Answered at once, not once the waiting documents had had their threads.
    assert finished.index("answer") < 2, finished


async def test_a_server_adding_many_documents_reads_them_one_at_a_time(library: Library):
    finished: list[int] = []

    async def add(scope: int, number: int) -> None:
        await library.documents.add(scope, slow_markdown(number), filename=f"{number}.md")
        finished.append(scope)

    many = [asyncio.create_task(add(SERVER_A, n)) for n in range(POOL_THREADS + 2)]
    await asyncio.sleep(0)
    await add(SERVER_B, 0)
    await asyncio.gather(*many)
    # B's document was read beside A's first one, not after A's queue.
    assert finished.index(SERVER_B) < 2, finished
    assert await library.store.count_documents(SERVER_A) == POOL_THREADS + 2
