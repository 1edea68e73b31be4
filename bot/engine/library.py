"""The library: the engine's front door, and how it answers a question from the documents.

Both front ends hold one Library. It owns the scopes' indexes (bot/engine/indexes.py), the
changes to documents (bot/engine/changes.py) and the privacy of the log
(bot/engine/privacy.py), and answers questions itself, each one logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from bot.batching import Batcher
from bot.config import PrivacySettings, RetrievalSettings
from bot.engine.changes import DocumentChanges
from bot.engine.documents import storable, supported_files
from bot.engine.embeddings import Embeddings
from bot.engine.indexes import ScopeIndexes, analyzer_fingerprint
from bot.engine.privacy import Privacy
from bot.errors import InvalidQuestionError
from bot.store import GLOBAL_SCOPE, AskedBefore, LoggedAnswer, Store, StoredDocument
from retrieval import Analyzer, Answer, SentenceIndex, answer_question
from retrieval.embedder import Embedder
from retrieval.followup import answer_follow_up, needs_context
from retrieval.reader import Reader
from retrieval.similar import most_similar

log = logging.getLogger(__name__)
T = TypeVar("T")

_SEEDED_KEY = "seeded"
_TERMS_ANALYZER_KEY = "terms_analyzer"
# Questions asked together, or while others are being answered, are answered together, this
# many at most per hand-off to the answering thread (a batch takes a few milliseconds). Each
# server's questions take turns in a batch (bot/batching.py), and the answering thread
# is the library's own: a server's flood of questions, or documents being read, merged or
# indexed in the shared thread pool, never queue ahead of another server's question.
_ANSWER_BATCH = 16
# "Asked before" compares a question with this many of the server's latest answered ones.
_ASKED_BEFORE_LOOKBACK = 1000


@dataclass(frozen=True, slots=True)
class AskResult:
    """An answer and the id of the log row that records it."""

    answer: Answer
    interaction_id: int
    latency_ms: float


class Library:
    """Documents per scope with their BM25 indexes in memory, backed by the store.

    A question in a scope searches that scope's documents together with the global ones
    (the seeds), never another scope's. Indexes are built from the store at start-up and
    updated in memory after every add, replace or remove, before the next question is answered.
    """

    def __init__(
        self,
        store: Store,
        settings: RetrievalSettings,
        analyzer: Analyzer | None = None,
        *,
        max_document_bytes: int | None = None,
        privacy: PrivacySettings | None = None,
        reader: Reader | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.analyzer = analyzer or Analyzer()
        # None when settings.reader is off: answers then come from the words alone.
        self.reader = reader if settings.reader else None
        # The embedder's view needs the reader's: it is a signal the reading weighs.
        self.embeddings = (
            Embeddings(embedder)
            if embedder is not None and settings.semantic and self.reader is not None
            else None
        )
        self._decision = settings.decision()
        self._weights = settings.rerank_weights()
        self._answering: Batcher[Callable[[], object], object] = Batcher(
            self._run_in_turn, limit=_ANSWER_BATCH
        )
        # Made on first use; its idle thread ends with the library, or at exit.
        self._answer_thread: ThreadPoolExecutor | None = None
        self.indexes = ScopeIndexes(
            k1=settings.k1, b=settings.b, in_turn=self.in_turn, embeddings=self.embeddings
        )
        self.documents = DocumentChanges(store, self.indexes, self.analyzer, max_document_bytes)
        self.privacy = Privacy(store, privacy or PrivacySettings())

    @property
    def max_document_bytes(self) -> int | None:
        """The largest document accepted, in bytes (None: no limit)."""
        return self.documents.max_document_bytes

    # -- start-up ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Read every scope's sentences from the store and build their indexes."""
        # Loading makes millions of long-lived objects: each would trigger full garbage
        # collections that scan them all (half the start-up time at 1M sentences). Pause the
        # collector meanwhile, then freeze what was loaded so later collections skip it.
        collecting = gc.isenabled()
        gc.disable()
        try:
            await self._load()
        finally:
            if collecting:
                gc.enable()
            gc.freeze()

    async def _load(self) -> None:
        started = time.perf_counter()
        total = 0
        fingerprint = analyzer_fingerprint(self.analyzer)
        if await self.store.get_meta(_TERMS_ANALYZER_KEY) != fingerprint:
            await self.store.clear_sentence_terms()
            await self.store.set_meta(_TERMS_ANALYZER_KEY, fingerprint)
        for scope in await self.store.scopes():
            rows = await self.store.scope_sentences_with_terms(scope)
            segment, analyzed = await asyncio.to_thread(
                self.indexes.analyze_rows, self.analyzer, rows
            )
            if analyzed:
                await self.store.save_sentence_terms(analyzed)
            self.indexes.load(scope, segment)
            total += len(rows)
        scopes = self.indexes.scopes()
        for scope in scopes:
            await self.index(scope)
        self.indexes.embed_soon()
        log.info(
            "loaded %d sentences in %d scopes in %.2fs",
            total,
            len(scopes),
            time.perf_counter() - started,
        )

    async def seed(self, folder: Path) -> list[StoredDocument]:
        """Add the seed documents to the global scope of a database that has never had them."""
        if await self.store.get_meta(_SEEDED_KEY) is not None:
            return []
        added = []
        for path in supported_files(folder):
            document = await self.documents.add(
                GLOBAL_SCOPE,
                path.read_bytes(),
                filename=path.name,
                source=f"seeds/{path.relative_to(folder).as_posix()}",
                added_by="seed",
                skip_duplicates=True,
            )
            if document is not None:
                added.append(document)
        await self.store.set_meta(_SEEDED_KEY, str(len(added)))
        return added

    # -- asking -----------------------------------------------------------------------------

    async def ask(
        self,
        question: str,
        *,
        scope: int,
        via: str,
        channel_id: str | None = None,
        user_id: str | None = None,
        top_k: int | None = None,
        min_confidence: float | None = None,
        earlier: str | None = None,
        link: str | None = None,
    ) -> AskResult:
        """Answer a question from the scope's and the global documents, and log it.

        `min_confidence` replaces retrieval.min_confidence for this question (a server's own).
        `earlier`: the question that started the conversation (a thread's first question); a
        follow-up that is short or leans on it is ranked with it (retrieval.followup). `link`:
        where the question can be seen, logged for "asked before" (see asked_before).
        """
        started = time.perf_counter()
        question = self.check_question(question)
        index = await self.index(scope)
        threshold = self.settings.min_confidence if min_confidence is None else min_confidence
        if earlier is not None and (
            earlier.strip() == question or not needs_context(question, self.analyzer)
        ):
            earlier = None
        if self.embeddings is not None:
            await self.embeddings.briefly()
        answer = await self.in_turn(
            scope,
            partial(
                self._answer,
                scope,
                question,
                index,
                top_k or self.settings.top_k,
                threshold,
                earlier,
            ),
        )
        latency_ms = (time.perf_counter() - started) * 1000
        interaction_id = await self.store.log_interaction(
            scope=scope,
            via=via,
            question=question,
            latency_ms=latency_ms,
            channel_id=channel_id,
            user_id=await self.privacy.user_key(user_id),
            link=link,
            answers=[
                LoggedAnswer(h.sentence.id, h.sentence.document.id, h.sentence.position, h.score)
                for h in answer.hits
            ],
        )
        return AskResult(answer, interaction_id, latency_ms)

    async def asked_before(
        self,
        scope: int,
        question: str,
        *,
        not_id: int,
        asker: str | None,
        answered: bool,
        not_in: str | None = None,
    ) -> AskedBefore | None:
        """An earlier question of this server that closely matches this one, with its link.

        Among the server's latest answered questions (and those of posts marked solved), by
        the analyzer and IDF the ranking uses (retrieval.similar); never another server's, and
        none in DMs, whose global scope every user shares. Left out: this question's log row
        (`not_id`), the asker's own questions, a channel's (`not_in`: the thread asked in),
        and, when the documents did not answer this one (`answered`), all but solved posts.
        """
        if scope == GLOBAL_SCOPE:
            return None
        asker = await self.privacy.user_key(asker)
        candidates = [
            each
            for each in await self.store.asked_before(scope, limit=_ASKED_BEFORE_LOOKBACK)
            if each.id != not_id
            and (asker is None or each.user_id != asker)
            and (not_in is None or each.channel_id != not_in)
            and (answered or each.solved)
        ]
        if not candidates:
            return None
        index = await self.index(scope)
        # Each term's IDF once per lookup: the same few terms recur across the questions.
        idf = functools.lru_cache(maxsize=None)(index.idf)
        return await asyncio.to_thread(
            most_similar,
            question,
            [(each, each.question) for each in candidates],
            self.analyzer,
            idf,
        )

    async def in_turn(self, scope: int, job: Callable[[], T]) -> T:
        """What `job` returns, run on the answering thread in the scope's turn (slow: no I/O).

        For a question's own work: answering it, and rendering its reply. The scopes with work
        waiting take turns, one job each per batch (see _ANSWER_BATCH).
        """
        return cast(T, await self._answering.submit(job, key=scope))

    async def _run_in_turn(self, jobs: list[Callable[[], object]]) -> list[object | Exception]:
        if self._answer_thread is None:
            self._answer_thread = ThreadPoolExecutor(1, thread_name_prefix="verbatim-answer")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._answer_thread, _run_each, jobs)

    def _answer(
        self,
        scope: int,
        question: str,
        index: SentenceIndex,
        top_k: int,
        min_confidence: float,
        earlier: str | None,
    ) -> Answer:
        if self.reader is None:
            # Without the reader, confidence is a share of the question's words: its own scale.
            min_confidence = self.settings.words_min_confidence
        # A server's own threshold (/settings threshold) is the reader's answer_at too.
        decision = dataclasses.replace(
            self._decision,
            answer_at=min_confidence,
            closest_at=min(self._decision.closest_at, min_confidence),
        )
        options: dict[str, Any] = {
            "top_k": top_k,
            "min_confidence": min_confidence,
            "context": self.settings.context,
            "weights": self._weights,
            "reader": self.reader,
            "decision": decision,
        }
        if self.embeddings is not None:
            # A follow-up leans on its thread's first question for meaning as for words.
            asked = question if earlier is None else f"{question}\n{earlier}"
            options["semantic"] = self.embeddings.meaning(scope, index, asked, decision.nearest)
        if earlier is None:
            return answer_question(question, index, self.analyzer, **options)
        return answer_follow_up(question, earlier, index, self.analyzer, **options)

    def check_question(self, question: str) -> str:
        """The question stripped of surrounding space; refuses empty and overlong questions."""
        question = storable(question).strip()
        if not question:
            raise InvalidQuestionError("Ask a question: the text is empty.")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise InvalidQuestionError(
                f"That question is {len(question):,} characters long; the limit is {limit:,}."
            )
        return question

    async def index(self, scope: int) -> SentenceIndex:
        """The index over this scope's and the global documents, current as of this call."""
        return await self.indexes.index(scope)

    async def settle(self) -> None:
        """Wait for background work (precomputing, merging, embedding) to finish."""
        await self.indexes.settle()


def _run_each(jobs: Sequence[Callable[[], object]]) -> list[object | Exception]:
    """Each job's result, or the Exception it raised (for its caller alone)."""
    outcomes: list[object | Exception] = []
    for job in jobs:
        try:
            outcomes.append(job())
        except Exception as error:
            outcomes.append(error)
    return outcomes
