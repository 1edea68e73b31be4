"""Domain errors: each carries the safe text shown to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.store.records import StoredDocument


class VerbatimError(Exception):
    """An error caused by the user's input; its message is safe to show them.

    Text it quotes from documents, members or remote servers comes apart from the message, as
    `quoted` values for the message's `{name}` fields, so that each front end escapes it its own
    way (`render`): Discord markdown in replies, control characters on a terminal.
    """

    def __init__(self, message: str, **quoted: str) -> None:
        self.template = message
        self.quoted = quoted
        self.message = message.format(**quoted) if quoted else message
        super().__init__(self.message)

    def render(self, escape: Callable[[str], str]) -> str:
        """The message with every quoted text passed through `escape`."""
        if not self.quoted:
            return self.message
        return self.template.format(**{name: escape(text) for name, text in self.quoted.items()})


class DuplicateDocumentError(VerbatimError):
    """The same content is already a document in this scope."""

    def __init__(self, existing: StoredDocument) -> None:
        super().__init__(
            f"This content is already here as document {existing.id}, '{{title}}'.",
            title=existing.title,
        )
        self.existing = existing


class DocumentNotFoundError(VerbatimError):
    """No document with that id in this scope."""

    def __init__(self, document_id: int) -> None:
        super().__init__(f"There is no document {document_id} here.")
        self.document_id = document_id


class DocumentRejectedError(VerbatimError):
    """A document could not be used: wrong type, too large, unreadable, no sentences."""


class InvalidQuestionError(VerbatimError):
    """The question cannot be asked as written (empty, too long)."""


class ConfigError(VerbatimError):
    """The configuration is invalid; the message names the key."""


class DatabaseUnusableError(VerbatimError):
    """The database file cannot be opened, created or used; the message says what to do."""
