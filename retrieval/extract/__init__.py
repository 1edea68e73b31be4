"""Turn an uploaded file's bytes into plain text: plain text, Markdown, HTML and PDF."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from retrieval.errors import ExtractionError
from retrieval.extract.encoding import declared_charset, decode_text
from retrieval.extract.html import html_text
from retrieval.extract.limits import check_length
from retrieval.extract.markdown import markdown_text
from retrieval.extract.pdf import pdf_text
from retrieval.extract.plain import plain_text

Kind = Literal["text", "markdown", "html", "pdf"]

SUPPORTED_SUFFIXES: dict[str, Kind] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
_CONTENT_TYPES: dict[str, Kind] = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
}
# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F (fixed by the standard) and
# Cs is the surrogates: one regex finds them at C speed instead of a category lookup per char.
_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Extracted:
    """Readable text of a document and the title it suggests for itself, if any."""

    text: str
    title: str | None
    kind: Kind


def detect_kind(data: bytes, filename: str | None = None, content_type: str | None = None) -> Kind:
    """Decide how to read a file: by its name, then its declared type, then its first bytes."""
    if filename:
        suffix = PurePath(filename).suffix.lower()
        if suffix in SUPPORTED_SUFFIXES:
            return SUPPORTED_SUFFIXES[suffix]
        if suffix:
            raise ExtractionError(
                f"'{PurePath(filename).name}' is not a supported file type; "
                "use .txt, .md, .html or .pdf."
            )
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media in _CONTENT_TYPES:
            return _CONTENT_TYPES[media]
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf-"):
        return "pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if content_type and not content_type.lower().startswith("text/"):
        raise ExtractionError(
            f"Content of type '{content_type.split(';')[0]}' is not supported; "
            "use plain text, Markdown, HTML or PDF."
        )
    return "text"


def extract_text(
    data: bytes, *, filename: str | None = None, content_type: str | None = None
) -> Extracted:
    """Extract readable text, raising ExtractionError with an actionable message on bad input."""
    if not data or not data.strip():
        raise ExtractionError("The document is empty.")
    kind = detect_kind(data, filename, content_type)
    if kind == "pdf":
        text, title = pdf_text(data)
    else:
        declared = declared_charset(content_type)
        if declared is None and kind == "html":
            declared = declared_charset(data[:4096])
        decoded = decode_text(data, declared)
        if kind != "html":
            # Refused before parsing: a Markdown parse of 10 MB can take minutes (limits.py).
            check_length(len(decoded))
        if kind == "html":
            text, title = html_text(decoded)
        elif kind == "markdown":
            text, title = markdown_text(decoded)
        else:
            text, title = plain_text(decoded)
    text = clean_text(text)
    if not text.strip():
        raise ExtractionError("The document has no readable text.")
    check_length(len(text))
    return Extracted(text=text, title=title, kind=kind)


def clean_text(text: str) -> str:
    """Normalise line endings and drop control characters, keeping the words verbatim."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    return _DROPPED.sub("", text)
