"""Plain records shared by the index and the answerer."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """Where a sentence comes from: enough to cite it, and how its title was found."""

    id: int
    title: str
    source: str
    # What the document was read as ("text", "markdown", "html", "pdf"; "" unknown): a
    # title from markup is a heading, plain text's is only a short first line.
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a document, stored verbatim, with its 1-based position."""

    id: int
    document: DocumentRef
    position: int
    text: str
