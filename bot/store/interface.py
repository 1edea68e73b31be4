"""What the rest of Verbatim may ask of a store, whatever database lies behind it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.errors import DuplicateDocumentError
from bot.store.records import (
    AskedBefore,
    InteractionRecord,
    LoggedAnswer,
    NewDocument,
    SettingChange,
    Stats,
    StoredDocument,
    StoredSentence,
)


class Store(Protocol):
    """The documents, their sentences, the question log and the servers' settings.

    Open one with `bot.store.open_store` and pass it in. Everything is kept per scope: a
    Discord server's id, or GLOBAL_SCOPE for the CLI and direct messages. Times are ISO 8601
    UTC strings (`records.utc_now`), so they compare as text. Each write is one transaction,
    all or nothing, committed before the call returns; a read sees only committed data. A
    database that cannot be used (damaged, locked, a full disk) ends `open_store`'s block with
    DatabaseUnusableError saying what to do.
    """

    # -- meta -----------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """A value from the key-value meta table, or None."""
        ...

    async def set_meta(self, key: str, value: str) -> None:
        """Set a value in the key-value meta table."""
        ...

    async def get_or_set_meta(self, key: str, default: str) -> str:
        """The meta value for a key, storing `default` first if there is none (first one wins).

        Atomic: of several callers at once, every one gets the value the first one stored.
        """
        ...

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        ...

    # -- server settings ------------------------------------------------------------------

    async def server_settings(self) -> list[tuple[int, str, str]]:
        """Every server's own settings: (scope, key, JSON value), by scope then key."""
        ...

    async def change_server_setting(
        self, scope: int, key: str, value: str | None, changed_by: str
    ) -> None:
        """Set (JSON `value`) or clear (None) a server's setting, and log who did it, at once."""
        ...

    async def setting_changes(self, scope: int, limit: int = 10) -> list[SettingChange]:
        """A server's latest settings changes, newest first."""
        ...

    # -- documents and their sentences ----------------------------------------------------

    async def add_document(
        self,
        *,
        scope: int,
        title: str,
        source: str,
        kind: str,
        content_hash: str,
        added_by: str,
        sentences: Sequence[str],
        terms: Sequence[str | None] | None = None,
    ) -> tuple[StoredDocument, list[int]]:
        """Store a document and its sentences in one transaction; the sentences' ids in order.

        `terms`, if given, caches each sentence's analyzed terms (space-joined; None: not
        cached) in the same transaction; ValueError unless there is one per sentence. Raises
        DuplicateDocumentError when the same content (`content_hash`) is already in the scope.
        The ids are those stored, so the caller can index exactly what was stored without
        reading the sentences back.
        """
        ...

    async def add_documents(
        self, scope: int, documents: Sequence[NewDocument]
    ) -> list[tuple[StoredDocument, list[int]] | DuplicateDocumentError]:
        """Store several documents and their sentences in ONE transaction, all or nothing.

        One entry per document, in order: what add_document returns for it, or the
        DuplicateDocumentError it would have raised, unstored, when the same content is already
        in the scope or earlier in `documents`; the others are stored all the same. Any other
        error stores none of them. Ids are given as adding them one by one would give them.
        """
        ...

    async def replace_document(
        self,
        document_id: int,
        *,
        scope: int,
        title: str,
        source: str,
        kind: str,
        content_hash: str,
        sentences: Sequence[str],
        terms: Sequence[str | None] | None = None,
    ) -> tuple[StoredDocument, list[int]]:
        """Swap a document's content for new content, keeping its id, in one transaction.

        Returns the document and its new sentences' ids in order, as add_document does.
        DocumentNotFoundError if the scope has no such document; DuplicateDocumentError if
        another document of the scope has this content.
        """
        ...

    async def remove_document(self, scope: int, document_id: int) -> StoredDocument:
        """Delete a document of this scope and its sentences; returns what was deleted.

        DocumentNotFoundError if the scope has no such document.
        """
        ...

    async def get_document(self, scope: int, document_id: int) -> StoredDocument:
        """A document of this scope; DocumentNotFoundError if it is not there."""
        ...

    async def list_documents(
        self, scope: int, *, limit: int = 1000, offset: int = 0
    ) -> list[StoredDocument]:
        """The scope's documents, oldest (lowest id) first, `limit` of them from `offset`."""
        ...

    async def count_documents(self, scope: int) -> int:
        """How many documents the scope has."""
        ...

    async def titled(self, scope: int, title: str) -> list[StoredDocument]:
        """Documents of the scope titled exactly this, ignoring case, oldest first."""
        ...

    async def search_titles(
        self, scope: int, fragment: str, limit: int = 25
    ) -> list[StoredDocument]:
        """Documents of the scope whose title contains the fragment (for autocomplete).

        The fragment is literal text (no wildcards); ignoring case; ordered by title.
        """
        ...

    async def scopes(self) -> list[int]:
        """Every scope that has documents, in order."""
        ...

    async def document_sentences(
        self, document_id: int, start: int = 1, limit: int | None = None
    ) -> list[StoredSentence]:
        """One document's sentences in order, from position `start` (the first is 1).

        At most `limit` of them (None: all). The caller has checked the document's scope.
        """
        ...

    async def scope_sentences_with_terms(
        self, scope: int
    ) -> list[tuple[StoredSentence, str | None]]:
        """Every sentence of a scope, by document then position, with its cached terms.

        The terms are those saved with the sentence (space-joined), or None if absent.
        """
        ...

    async def save_sentence_terms(self, terms: Sequence[tuple[int, str]]) -> None:
        """Cache analyzed terms (sentence id, space-joined terms); sentences gone are skipped."""
        ...

    async def clear_sentence_terms(self) -> None:
        """Forget every cached analysis (the analyzer changed)."""
        ...

    # -- the question log -----------------------------------------------------------------

    async def log_interaction(
        self,
        *,
        scope: int,
        via: str,
        question: str,
        answers: Sequence[LoggedAnswer],
        latency_ms: float,
        channel_id: str | None = None,
        user_id: str | None = None,
        link: str | None = None,
    ) -> int:
        """Record a question and what was answered (no answers: unanswered); its new id.

        `link`: where the question can be seen (a message's or forum post's jump URL). Ids
        grow: a question logged later has a larger id. Committed before this returns.
        """
        ...

    async def first_question(self, scope: int, channel_id: str) -> str | None:
        """The first question logged in a channel or thread of the scope, or None."""
        ...

    async def record_feedback(self, interaction_id: int, user_id: str, value: int) -> bool:
        """Record (or change) one user's 👍 (1) or 👎 (-1); False if the interaction is gone.

        ValueError for any other value.
        """
        ...

    async def set_link(self, interaction_id: int, link: str) -> None:
        """Where a logged question can be seen, once known (the reply to a slash command)."""
        ...

    async def asked_before(self, scope: int, *, limit: int) -> list[AskedBefore]:
        """The scope's latest linkable questions that were answered (or asked in a solved post).

        Newest first; only questions logged with a link.
        """
        ...

    async def get_interaction(self, interaction_id: int) -> InteractionRecord | None:
        """One logged interaction with its feedback counts, or None."""
        ...

    async def interactions(
        self,
        scope: int | None,
        *,
        limit: int = 20,
        unanswered: bool = False,
        rated: bool = False,
        since: str | None = None,
        before: int | None = None,
    ) -> list[InteractionRecord]:
        """Logged interactions, newest first; scope None means every scope (the CLI's view).

        `unanswered`: only those without an answer; `rated`: only those with feedback;
        `since`: asked at or after that time; `before`: older than that interaction id (where
        an earlier page ended).
        """
        ...

    async def stats(self, scope: int | None, *, since: str | None = None) -> Stats:
        """Questions, answers, feedback, helpful answers and solved posts since a time.

        Scope None counts every scope.
        """
        ...

    # -- forum posts and hand-offs --------------------------------------------------------

    async def hand_off_once(self, interaction_id: int) -> bool:
        """Note that the support role was called in for an answer; False if it was already.

        False too when there is no such interaction.
        """
        ...

    async def post_answer(self, scope: int, channel_id: str) -> int | None:
        """The first answer the bot gave in a thread (a forum post), as its log row id."""
        ...

    async def mark_solved(
        self, thread_id: str, scope: int, interaction_id: int | None, solved_by: str
    ) -> bool:
        """Log a forum post as solved, crediting an answer (or none); False if it already was.

        Only an answer of this scope still in the log is credited; any other counts as none.
        """
        ...

    # -- privacy --------------------------------------------------------------------------

    async def forget_user(self, scope: int | None, user_id: str) -> int:
        """Delete a user's logged questions, their votes and who marked which posts solved.

        Only in this scope (None: every scope); returns how many questions were removed.
        Answers a solved post credits stay counted. Nothing deleted stays readable in the
        database's files.
        """
        ...

    async def purge_log_before(self, cutoff: str) -> int:
        """Delete logged questions and solved posts older than the cutoff (the retention period).

        Returns how many questions were removed; as with forget_user, nothing deleted stays
        readable in the database's files.
        """
        ...
