"""The embedder's vector of every loaded sentence: made in the background, kept in memory.

A new document is answerable at once through BM25; its sentences join the embedder's side
(retrieval.semantic) as their vectors are made. Vectors are not stored: a restart makes them
again in the background, while questions are answered from what is ready.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

from retrieval.embedder import Embedder
from retrieval.index import SentenceIndex
from retrieval.postings import Segment
from retrieval.semantic import Semantic, SentenceVectors
from retrieval.types import Sentence

log = logging.getLogger(__name__)

# Sentences embedded per hand-off to a thread: progress shows to questions between batches,
# and a process that ends waits for one batch at most.
_BATCH = 16
# Batches embedded at once, each on a thread of its own (and so a core).
_WORKERS = 2
# New vectors are shown to questions this many at a time (see _embed).
_PUBLISH = 1024
# A question waits this long after embedding starts for it to finish: the first question of
# a small corpus (the CLI's one-off `ask` over the seeds) gets the embedder's view too.
_WAIT_SECONDS = 3.0


class Embeddings:
    """Sentence vectors by sentence id, and per scope the table a question is compared with."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._vectors: dict[int, np.ndarray] = {}
        self._version = 0
        self._task: asyncio.Task[None] | None = None
        self._started = 0.0
        # Used on the answering thread only: per scope, the index and version it was built for.
        self._tables: dict[int, tuple[SentenceIndex, int, SentenceVectors | None]] = {}

    def start(self, segments: Callable[[], Sequence[Segment]]) -> None:
        """Embed, in the background, the sentences of `segments()` that have no vector yet."""
        if self._task is None or self._task.done():
            self._started = time.monotonic()
            self._task = asyncio.get_running_loop().create_task(self._embed(segments))
            self._task.add_done_callback(_report)

    async def settle(self) -> None:
        """Wait until every sentence known when embedding last started has its vector."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def briefly(self) -> None:
        """Wait for embedding to finish, but no later than a few seconds after it started."""
        task = self._task
        left = self._started + _WAIT_SECONDS - time.monotonic()
        if task is not None and not task.done() and left > 0:
            await asyncio.wait([task], timeout=left)

    async def _embed(self, segments: Callable[[], Sequence[Segment]]) -> None:
        while True:
            # Segments are gathered here, on the event loop; their sentences never change.
            pending = await asyncio.to_thread(self._pending, list(segments()))
            if not pending:
                return
            # Two batches at a time, one a core: a vector does not depend on its batch.
            step = _BATCH * _WORKERS
            for start in range(0, len(pending), step):
                chunks = [
                    pending[at : at + _BATCH] for at in range(start, start + step, _BATCH)
                ]
                done = await asyncio.gather(
                    *(
                        asyncio.to_thread(self.embedder.embed, [s.text for s in chunk])
                        for chunk in chunks
                        if chunk
                    )
                )
                for chunk, vectors in zip(chunks, done, strict=False):
                    for sentence, vector in zip(chunk, vectors, strict=True):
                        self._vectors[sentence.id] = vector
                # A new version makes the next question rebuild its scope's table (a copy of
                # every vector): so every _PUBLISH sentences, and at the end, not every batch.
                made = start + step
                if made % _PUBLISH < step or made >= len(pending):
                    self._version += 1

    def _pending(self, segments: Sequence[Segment]) -> list[Sentence]:
        vectors = self._vectors
        return [s for segment in segments for s in segment.sentences if s.id not in vectors]

    def meaning(
        self, scope: int, index: SentenceIndex, question: str, nearest: int
    ) -> Semantic | None:
        """On the answering thread: the question against the index's embedded sentences."""
        version = self._version
        cached = self._tables.get(scope)
        if cached is not None and cached[0] is index and cached[1] == version:
            table = cached[2]
        else:
            get = self._vectors.get
            found = [(s, get(s.id)) for s in index.sentences]
            embedded = [(s, v) for s, v in found if v is not None]
            table = (
                SentenceVectors.of([s for s, _ in embedded], [v for _, v in embedded])
                if embedded
                else None
            )
            self._tables[scope] = (index, version, table)
        if table is None:
            return None
        return table.meaning(self.embedder.embed([question])[0], nearest)


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("embedding sentences failed", exc_info=task.exception())
