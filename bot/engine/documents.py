"""A document read, split and analyzed, ready to store and index: pure work, no store."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.errors import DocumentRejectedError
from retrieval import Analyzer, ExtractionError, extract_text, split_sentences
from retrieval.extract import SUPPORTED_SUFFIXES
from retrieval.postings import Postings

MAX_TITLE_CHARS = 200
# How long a title made of a pasted text's first words may be.
_OPENING_TITLE_CHARS = 60

# Text -> its sentences and each sentence's terms (see prepare_document).
SplitAndAnalyze = Callable[[str], tuple[list[str], list[list[str]]]]


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document read, split and analyzed, ready to store and index."""

    title: str
    kind: str
    content_hash: str
    sentences: list[str]
    # The sentences' postings, and their terms joined for the store's cache (None: a sentence
    # whose terms are not cached).
    postings: Postings
    joined_terms: list[str | None]


def prepare_document(
    data: bytes,
    *,
    filename: str | None,
    content_type: str | None,
    title: str | None,
    analyzer: Analyzer,
    max_bytes: int | None = None,
    split_and_analyze: SplitAndAnalyze | None = None,
) -> PreparedDocument:
    """Extract, split and analyze a document: pure work, no store (slow: not on the loop).

    Library.prepare calls it in a thread; the bulk path (bot/engine/ingest.py) in worker processes.
    `split_and_analyze` (text -> sentences and their terms) replaces splitting with
    split_sentences and analyzing with `analyzer`; it must give what they give (bot/engine/ingest.py
    spreads a long text's paragraphs over worker processes).
    """
    limit = max_bytes
    if limit is not None and len(data) > limit:
        # Refused before any parsing: size is the cheapest defence against a hostile file.
        raise DocumentRejectedError(
            f"The file is {_size(len(data))}; the limit is {_size(limit)}. "
            "Split it into smaller documents."
        )
    try:
        extracted = extract_text(data, filename=filename, content_type=content_type)
    except ExtractionError as error:
        raise DocumentRejectedError(str(error)) from None
    if split_and_analyze is None:
        sentences = split_sentences(extracted.text)
        # Analyzed here, in the same hop: the store caches the terms with the sentences and
        # the index takes these postings, so nothing is read back or analyzed twice.
        terms = list(map(analyzer.analyze, sentences))
    else:
        sentences, terms = split_and_analyze(extracted.text)
    if not sentences:
        raise DocumentRejectedError("The document has no sentences to quote.")
    chosen = title or extracted.title or (Path(filename).stem if filename else "")
    chosen = "".join(ch for ch in storable(chosen) if unicodedata.category(ch) != "Cc")
    chosen = " ".join(chosen.split())[:MAX_TITLE_CHARS] or _opening_words(sentences[0])
    digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()
    return PreparedDocument(
        chosen,
        extracted.kind,
        digest,
        sentences,
        Postings.build(terms),
        list(map(_cacheable, terms)),
    )


def _opening_words(sentence: str) -> str:
    """A title for text that brings none (pasted text): its first words, not "Untitled"."""
    words = "".join(ch for ch in sentence if unicodedata.category(ch) != "Cc").split()
    title = ""
    for word in words:
        if len(title) + len(word) + 1 > _OPENING_TITLE_CHARS:
            return f"{title}…" if title else f"{word[:_OPENING_TITLE_CHARS]}…"
        title = f"{title} {word}" if title else word
    return title or "Untitled"


def _cacheable(terms: list[str]) -> str | None:
    """Terms joined for the store's cache; None if they would not split back exactly."""
    joined = " ".join(terms)
    return joined if not terms or joined.split(" ") == terms else None


def storable(text: str) -> str:
    """Text SQLite can store: lone surrogates (from JSON escapes or argv) become '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _size(count: int) -> str:
    if count < 1_000_000:
        return f"{count:,} bytes"
    return f"{count / 1_000_000:.1f} MB".replace(".0 MB", " MB")


def supported_files(folder: Path) -> list[Path]:
    """Every file of a supported type under a folder (or the file itself), in name order."""
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
