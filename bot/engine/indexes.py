"""Each scope's documents as BM25 index segments in memory, and the index a question searches.

An add appends a small segment and a removal marks rows dead in a copy of its segment, so both
take effect at once; a background merge keeps the number of segments small.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nltk

from bot.engine.documents import PreparedDocument
from bot.engine.embeddings import Embeddings
from bot.store import GLOBAL_SCOPE, StoredDocument, StoredSentence
from retrieval import Analyzer, DocumentRef, Sentence, SentenceIndex
from retrieval.postings import Segment

log = logging.getLogger(__name__)

# Indexes up to this size are precomputed before the question that built them is answered.
_PREPARE_INLINE_ROWS = 50_000
# A new document's segment is made on the event loop up to this many sentences (well under a
# millisecond per thousand), in a thread beyond.
_SEGMENT_INLINE_ROWS = 5_000
# More segments than this in a scope (or a quarter of its rows removed) starts a merge.
_MAX_SEGMENTS = 8
# The same during a bulk add (merges_deferred): each merge then takes many documents at once.
_MAX_DEFERRED_SEGMENTS = 32

# Runs a slow job on the answering thread in the scope's turn (Library.in_turn).
InTurn = Callable[[int, Callable[[], None]], Awaitable[None]]


@dataclass(slots=True)
class _ScopeDocuments:
    """One scope's documents as index segments; each document lives in exactly one segment."""

    segments: list[Segment] = field(default_factory=list)
    generation: int = 0
    merging: bool = False


class ScopeIndexes:
    """Every scope's segments, the cached index per scope, and the background work on them.

    A question in a scope searches that scope's documents together with the global ones (the
    seeds), never another scope's.
    """

    def __init__(
        self, *, k1: float, b: float, in_turn: InTurn, embeddings: Embeddings | None
    ) -> None:
        self._k1 = k1
        self._b = b
        self._in_turn = in_turn
        self._embeddings = embeddings
        self._scopes: dict[int, _ScopeDocuments] = {}
        self._indexes: dict[int, tuple[int, int, SentenceIndex]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._terms: dict[str, str] = {}
        # Scopes in a bulk add (see merges_deferred): how many bulk adds each is in.
        self._deferring: dict[int, int] = {}

    def scopes(self) -> list[int]:
        """The scopes that have documents in memory."""
        return list(self._scopes)

    def own_segments(self, scope: int) -> list[Segment]:
        """The scope's own segments (not the global ones it is searched with)."""
        documents = self._scopes.get(scope)
        return list(documents.segments) if documents else []

    def load(self, scope: int, segment: Segment) -> None:
        """Set a scope's documents at start-up, as one segment."""
        self._scopes[scope] = _ScopeDocuments([segment])

    async def index(self, scope: int) -> SentenceIndex:
        """The index over this scope's and the global documents, current as of this call.

        Building it only gathers segments (no await in between, so it is consistent). Its
        per-posting contributions are precomputed in a thread: at once for small indexes, in
        the background for large ones, which meanwhile score exactly from term frequencies.
        """
        key = (self._generation(GLOBAL_SCOPE), self._generation(scope))
        cached = self._indexes.get(scope)
        if cached is not None and cached[:2] == key:
            return cached[2]
        index = SentenceIndex.from_segments(self.segments_of(scope), k1=self._k1, b=self._b)
        self._indexes[scope] = (*key, index)
        if len(index) <= _PREPARE_INLINE_ROWS:
            await self._in_turn(scope, index.prepare)
        else:
            self._in_background(asyncio.to_thread(index.prepare))
        return index

    async def settle(self) -> None:
        """Wait for background work (precomputing, merging, embedding) to finish."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._embeddings is not None:
            await self._embeddings.settle()

    def segments_of(self, scope: int) -> list[Segment]:
        """The segments a question in the scope searches: its own and the global ones."""
        scopes = [GLOBAL_SCOPE] if scope == GLOBAL_SCOPE else [GLOBAL_SCOPE, scope]
        return [
            segment
            for each in scopes
            if each in self._scopes
            for segment in self._scopes[each].segments
        ]

    def all_segments(self) -> list[Segment]:
        """Every scope's segments."""
        return [segment for each in self._scopes.values() for segment in each.segments]

    def embed_soon(self) -> None:
        """Make the embedder's vectors of sentences that have none, in the background."""
        if self._embeddings is not None:
            self._embeddings.start(self.all_segments)

    async def place(
        self,
        scope: int,
        stored: Sequence[tuple[StoredDocument, PreparedDocument, list[int]]],
        *,
        replaced: int | None = None,
    ) -> None:
        """Make stored documents' segment from their prepared postings and place it.

        The ids come from the transaction that stored the sentences, so the segment holds
        exactly what was stored, without reading it back. `replaced`: the id of a document
        whose old sentences the segment replaces.
        """
        if len(stored) == 1 and len(stored[0][2]) <= _SEGMENT_INLINE_ROWS:
            # Cheap (no analysis, no sorting): one object per sentence and two small arrays.
            segment = _segment_of(stored)
        else:
            segment = await asyncio.to_thread(_segment_of, stored)
        documents = self._scopes.setdefault(scope, _ScopeDocuments())
        kept = documents.segments
        if replaced is not None:
            # A replaced document keeps its id: its old sentences go, the new ones come.
            kept = [s.without(replaced) for s in kept]
        documents.segments = [s for s in kept if s.live_count or s.documents] + [segment]
        self._changed(scope)

    def remove(self, scope: int, document_id: int) -> None:
        """Take a removed document's sentences out; the next question no longer sees them."""
        documents = self._scopes.get(scope)
        if documents is not None:
            documents.segments = [s.without(document_id) for s in documents.segments]
            self._changed(scope)

    @asynccontextmanager
    async def merges_deferred(self, scope: int) -> AsyncIterator[None]:
        """Adds to the scope meanwhile merge segments less often; the last merge is awaited.

        Every added document is a segment of its own and crowded segments are merged in the
        background: across a bulk add of many small documents that would merge and re-merge
        the same rows over and over, on the cores preparing the next ones. Questions asked
        meanwhile search more segments, with the same exact scores.
        """
        self._deferring[scope] = self._deferring.get(scope, 0) + 1
        try:
            yield
        finally:
            self._deferring[scope] -= 1
            if not self._deferring[scope]:
                del self._deferring[scope]
                documents = self._scopes.get(scope)
                if documents is not None and not documents.merging and self._crowded(scope):
                    # Merged before the bulk add returns: its first question finds few segments.
                    documents.merging = True
                    await self._merge(scope)

    def analyze_rows(
        self, analyzer: Analyzer, rows: Sequence[tuple[StoredSentence, str | None]]
    ) -> tuple[Segment, list[tuple[int, str]]]:
        """A segment of stored sentences, and the analyses that were not cached yet."""
        sentences: list[Sentence] = []
        terms: list[list[str]] = []
        analyzed: list[tuple[int, str]] = []
        refs: dict[int, DocumentRef] = {}
        analyze = analyzer.analyze
        # One string object per distinct term, shared by every sentence and scope.
        canonical = self._terms.setdefault
        for row, cached in rows:
            ref = refs.get(row.document_id)
            if ref is None:
                ref = refs[row.document_id] = DocumentRef(
                    row.document_id, row.title, row.source, row.kind
                )
            sentences.append(Sentence(row.id, ref, row.position, row.text))
            if cached is not None:
                terms.append([canonical(t, t) for t in cached.split(" ")] if cached else [])
                continue
            found = analyze(row.text)
            terms.append(found)
            joined = " ".join(found)
            # Only cache what splits back exactly (an analyzer could emit terms with spaces).
            if joined.split(" ") == found or not found:
                analyzed.append((row.id, joined))
        return Segment.build(sentences, terms), analyzed

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background index work failed", exc_info=task.exception())

    def _generation(self, scope: int) -> int:
        documents = self._scopes.get(scope)
        return documents.generation if documents else 0

    def _changed(self, scope: int) -> None:
        """Count a change to the scope, and merge its segments in the background if needed."""
        self._scopes[scope].generation += 1
        self._merge_if_crowded(scope)
        self.embed_soon()

    def _merge_if_crowded(self, scope: int) -> None:
        documents = self._scopes[scope]
        if not documents.merging and self._crowded(scope):
            documents.merging = True
            self._in_background(self._merge(scope))

    def _crowded(self, scope: int) -> bool:
        documents = self._scopes[scope]
        limit = _MAX_DEFERRED_SEGMENTS if scope in self._deferring else _MAX_SEGMENTS
        rows = sum(len(segment) for segment in documents.segments)
        dead = sum(segment.dead_count for segment in documents.segments)
        return len(documents.segments) > limit or dead * 4 > rows

    async def _merge(self, scope: int) -> None:
        documents = self._scopes[scope]
        try:
            for _ in range(3):
                segments = list(documents.segments)
                start = _merge_from(segments)
                merged = await asyncio.to_thread(Segment.merge, segments[start:])
                current = documents.segments
                # Only additions may have landed meanwhile: they follow the merged ones.
                if all(a is b for a, b in zip(current, segments, strict=False)):
                    documents.segments = [
                        *segments[:start],
                        merged,
                        *current[len(segments) :],
                    ]
                    documents.generation += 1
                    return
        finally:
            documents.merging = False


def _segment_of(stored: Sequence[tuple[StoredDocument, PreparedDocument, list[int]]]) -> Segment:
    """One segment for stored documents: each one's own segment, merged if there are several."""
    segments = [
        Segment.of_document(
            DocumentRef(document.id, document.title, document.source, document.kind),
            ids,
            prepared.sentences,
            prepared.postings,
        )
        for document, prepared, ids in stored
    ]
    return segments[0] if len(segments) == 1 else Segment.merge(segments)


def _merge_from(segments: Sequence[Segment]) -> int:
    """Where the merge starts: the newest segments, unless removals call for a full merge.

    Merging only the small recent segments (while they total less than the segment before
    them) keeps each row merged about log(n) times, not once per added document.
    """
    if any(segment.dead_count for segment in segments):
        return 0
    start = len(segments) - 1
    tail = len(segments[start])
    while start > 0 and len(segments[start - 1]) <= 2 * tail:
        start -= 1
        tail += len(segments[start])
    return max(0, min(start, len(segments) - 2))


def analyzer_fingerprint(analyzer: Analyzer) -> str:
    """Changes whenever the analyzer's code, stopwords or NLTK change: cached terms expire."""
    digest = hashlib.sha256()
    module = sys.modules[type(analyzer).__module__]
    source = getattr(module, "__file__", None)
    if source:
        digest.update(Path(source).read_bytes())
    digest.update(type(analyzer).__qualname__.encode())
    digest.update(repr(sorted(getattr(analyzer, "_stopwords", ()))).encode())
    digest.update(nltk.__version__.encode())
    return digest.hexdigest()
