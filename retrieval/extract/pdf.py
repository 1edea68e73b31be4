"""PDF text through pypdf, refusing encrypted, scanned and built-to-explode files."""

from __future__ import annotations

import io
import logging

from retrieval.errors import ExtractionError
from retrieval.extract.limits import (
    MAX_PDF_CONTENT_BYTES,
    MAX_PDF_OPERATIONS,
    MAX_PDF_PAGES,
    MAX_TEXT_CHARS,
)

log = logging.getLogger(__name__)


def pdf_text(data: bytes) -> tuple[str, str | None]:
    """The text of a PDF's pages and its title, within the limits on pages, content and work."""
    # Imported here: pypdf is only needed for PDFs and costs import time otherwise.
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("The PDF is encrypted; upload a copy without a password.")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise ExtractionError(
                f"The PDF has {len(reader.pages):,} pages; the limit is {MAX_PDF_PAGES:,}."
            )
        content = 0
        for page in reader.pages:
            content += _pdf_content_bytes(page)
            if content > MAX_PDF_CONTENT_BYTES:
                raise ExtractionError(_PDF_TOO_BIG)
        budget = _OperationBudget(MAX_PDF_OPERATIONS)
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            page_text = page.extract_text(visitor_operand_before=budget) or ""
            total += len(page_text)
            if total > MAX_TEXT_CHARS:
                raise ExtractionError(
                    f"The PDF's text is longer than {MAX_TEXT_CHARS:,} characters; split it."
                )
            pages.append(page_text)
        metadata = reader.metadata
        title = str(metadata.title).strip() if metadata and metadata.title else None
    except ExtractionError:
        raise
    except LimitReachedError:
        raise ExtractionError(_PDF_TOO_BIG) from None
    except Exception as error:  # pypdf raises many types for malformed files
        log.info("PDF could not be parsed: %r", error)
        raise ExtractionError(
            "The PDF could not be read (it may be damaged or not really a PDF)."
        ) from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise ExtractionError("The PDF has no text layer (is it a scan?); upload a text version.")
    return text, title or None


_PDF_TOO_BIG = (
    f"The PDF's pages expand to more than {MAX_PDF_CONTENT_BYTES // 1_000_000} MB when "
    "decompressed (built to explode, or far too long); upload its text instead."
)


def _pdf_content_bytes(page: object) -> int:
    """The decompressed size of a page's content streams (pypdf caches what it decodes)."""
    contents = page.get("/Contents")  # type: ignore[attr-defined]
    if contents is None:
        return 0
    contents = contents.get_object()
    streams = contents if isinstance(contents, list) else [contents]
    return sum(len(stream.get_object().get_data()) for stream in streams)


class _OperationBudget:
    """Counts the operators pypdf interprets and stops a PDF that asks for too many."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def __call__(self, *_: object) -> None:
        self.used += 1
        if self.used > self.limit:
            raise ExtractionError(
                f"The PDF takes more than {self.limit:,} drawing operations to read; "
                "upload its text instead."
            )
