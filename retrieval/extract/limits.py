"""What reading one file may cost: every extraction limit in one place, and the length check."""

from __future__ import annotations

from retrieval.errors import ExtractionError

# A PDF or HTML page built to explode when parsed stops here rather than eating memory. Plain
# text and Markdown are (nearly) all text, so they are held to it before they are parsed.
MAX_TEXT_CHARS = 5_000_000
MAX_PDF_PAGES = 2_000
# pypdf interprets about 40,000 operators a second (pure Python): these refuse a PDF whose
# pages decompress past 20 MB (a shared stream counted on every page that uses it) before any
# text is read, and stop one that needs over a million operators after about 25 s.
MAX_PDF_CONTENT_BYTES = 20_000_000
MAX_PDF_OPERATIONS = 1_000_000
# HTML parsers check the stack of open elements at each block tag, so deep nesting costs
# depth squared (200,000 nested divs take minutes); browsers stop nesting at 512.
MAX_HTML_DEPTH = 1_000
# Lexbor keeps ~300 bytes a node: 10 MB of "<p>a" is 5 million nodes and a gigabyte. Counted
# before parsing (elements and comments; text nodes come at most one between two of them).
# A long real page (a book, a big Wikipedia article) has tens of thousands.
MAX_HTML_ELEMENTS = 500_000
# markdown-it-py is pure Python: ordinary Markdown reads at 2-3 MB a second, but a file that is
# nothing but markup ("*a*a*a…", "[[[[…", a table of a million rows) costs 10-20 times that per
# character, in time and memory (a minute and gigabytes for 10 MB). So its parse has a budget of
# work: block tokens made plus the places where the block and the inline parsers try their rules
# (see _MarkdownBudget in markdown.py). Ordinary Markdown takes 80,000-130,000 a MB (this
# project's README, Node.js's and Rust's documentation), so 4-6 MB of it fit; 500,000 is at
# most a few seconds and a few hundred MB.
MAX_MARKDOWN_WORK = 500_000


def check_length(characters: int) -> None:
    """Refuse text longer than MAX_TEXT_CHARS, saying how to fix it."""
    if characters > MAX_TEXT_CHARS:
        raise ExtractionError(
            f"The document's text is too long ({characters:,} characters; "
            f"the limit is {MAX_TEXT_CHARS:,}). Split it into smaller documents."
        )
