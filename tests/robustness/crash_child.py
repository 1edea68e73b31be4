"""A child process for the crash test: writes to the store until it is killed with SIGKILL.

Run as `python -m tests.robustness.crash_child docs|log DATABASE`, or as `... zygote`: a process
that imports everything once, then forks a fresh child for each "MODE DATABASE OUTPUT" line it
reads, answering with the child's pid (so each kill point costs no interpreter start-up; the
zygote has no threads, so forking it is safe). A child prints one line, flushed,
as each step begins and right after each write commits, so the parent knows what must be there:
  docs: "A n" adding, "D id count" added, "P id" replacing, "Q id count" replaced,
        (a document of 12,001 sentences, written through the real Store)
        "X id" removing, "R id" removed
  log:  "I id" a question logged, "F id" feedback recorded on it
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from bot.config import RetrievalSettings
from bot.engine.library import Library
from bot.store import open_store

SCOPE = 7
SENTENCES = 12_000


def say(line: str) -> None:
    print(line, flush=True)


def versions() -> Iterator[tuple[list[str], str]]:
    """Endless distinct versions of one large document (about a megabyte of sentences)."""
    body = [
        f"Sentence {i} says ferry {i * 7} leaves pier {i % 40} at {i % 24} o'clock."
        for i in range(SENTENCES)
    ]
    version = 0
    while True:
        version += 1
        sentences = [f"Version {os.getpid()}-{version}.", *body]
        # The hash the Library gives a document: the check after a kill recomputes it.
        digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()
        yield sentences, digest


async def add_replace_remove(library: Library) -> None:
    store = library.store
    made = versions()
    say("ready")
    # Earlier rounds' documents, all but the newest, go first: the file stays small and removes
    # are killed too.
    leftovers = await store.list_documents(SCOPE)
    for leftover in leftovers[:-1]:
        say(f"X {leftover.id}")
        await store.remove_document(SCOPE, leftover.id)
        say(f"R {leftover.id}")
    previous: int | None = leftovers[-1].id if leftovers else None
    step = 0
    while True:
        step += 1
        sentences, digest = next(made)
        say(f"A {step}")
        document, _ = await store.add_document(
            scope=SCOPE,
            title=f"Big {step}",
            source="crash",
            kind="text",
            content_hash=digest,
            added_by="crash",
            sentences=sentences,
        )
        say(f"D {document.id} {document.sentence_count}")
        sentences, digest = next(made)
        say(f"P {document.id}")
        replaced, _ = await store.replace_document(
            document.id,
            scope=SCOPE,
            title=f"Big {step}b",
            source="crash",
            kind="text",
            content_hash=digest,
            sentences=sentences,
        )
        say(f"Q {replaced.id} {replaced.sentence_count}")
        if previous is not None:
            say(f"X {previous}")
            await store.remove_document(SCOPE, previous)
            say(f"R {previous}")
        previous = document.id


async def log_questions(library: Library) -> None:
    say("ready")
    step = 0
    while True:
        step += 1
        result = await library.ask(
            f"When does ferry {step} leave the pier?", scope=SCOPE, via="crash", user_id=str(step)
        )
        say(f"I {result.interaction_id}")
        if step % 3 == 0:
            await library.privacy.record_feedback(result.interaction_id, str(step), 1)
            say(f"F {result.interaction_id}")


async def main(mode: str, database: Path) -> None:
    async with open_store(database) as store:
        library = Library(store, RetrievalSettings())
        if mode == "docs":
            await add_replace_remove(library)
        else:
            await log_questions(library)


def zygote() -> None:
    # Children are reaped by the kernel; the parent watches them by pid.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    say("zygote")
    for line in sys.stdin:
        mode, database, output = line.split()
        pid = os.fork()
        if pid == 0:
            with open(output, "w") as out:
                os.dup2(out.fileno(), 1)
            os.dup2(os.open(os.devnull, os.O_RDWR), 0)
            sys.stdout = os.fdopen(1, "w")
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                asyncio.run(main(mode, Path(database)))
            except BaseException:
                # os._exit skips the interpreter's own report: the parent shows this one.
                traceback.print_exc(file=sys.stdout)
                sys.stdout.flush()
            finally:
                os._exit(1)
        say(str(pid))


if __name__ == "__main__":
    if sys.argv[1] == "zygote":
        zygote()
    else:
        asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
