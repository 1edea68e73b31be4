"""The records a store takes and gives back, and the conventions they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

# The scope of the CLI and of direct messages, whose documents every server sees too; a
# Discord server's scope is its id.
GLOBAL_SCOPE = 0


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string, the format every timestamp is stored in."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document's row, without its sentences."""

    id: int
    scope: int
    title: str
    source: str
    kind: str
    content_hash: str
    sentence_count: int
    added_by: str
    added_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class NewDocument:
    """A document for add_documents: its row's fields, its sentences and their cached terms."""

    title: str
    source: str
    kind: str
    content_hash: str
    added_by: str
    sentences: Sequence[str]
    # Each sentence's analyzed terms, space-joined (None: not cached); None: none cached.
    terms: Sequence[str | None] | None = None


@dataclass(frozen=True, slots=True)
class StoredSentence:
    """A sentence with enough of its document to cite it."""

    id: int
    document_id: int
    title: str
    source: str
    kind: str
    position: int
    text: str


@dataclass(frozen=True, slots=True)
class LoggedAnswer:
    """One sentence given in an answer, as the log keeps it."""

    sentence_id: int
    document_id: int
    position: int
    score: float


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """A logged question and what was answered, with its feedback counts."""

    id: int
    asked_at: str
    scope: int
    channel_id: str | None
    user_id: str | None
    via: str
    question: str
    answered: bool
    answers: tuple[LoggedAnswer, ...]
    latency_ms: float
    thumbs_up: int
    thumbs_down: int


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts over a period of the log."""

    questions: int
    answered: int
    thumbs_up: int
    thumbs_down: int
    # Answers with a 👍 or credited by a solved forum post; forum posts marked solved.
    helpful: int = 0
    solved: int = 0

    @property
    def answered_rate(self) -> float:
        """The share of questions that got an answer."""
        return self.answered / self.questions if self.questions else 0.0


@dataclass(frozen=True, slots=True)
class AskedBefore:
    """A question asked and answered before, with where it can be seen."""

    id: int
    question: str
    link: str
    channel_id: str | None
    user_id: str | None
    # Asked in a forum post since marked solved (people answered it, if not the documents).
    solved: bool = False


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One change a moderator made to a server's settings (value None: back to the default)."""

    scope: int
    key: str
    value: str | None  # JSON
    changed_by: str
    changed_at: str
