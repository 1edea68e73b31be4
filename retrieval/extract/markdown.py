"""Markdown without its markup, parsed within a budget of work (a file of pure markup stops)."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

from retrieval.errors import ExtractionError
from retrieval.extract.html import html_text
from retrieval.extract.limits import MAX_MARKDOWN_WORK


class _MarkdownBudget:
    """Rules that run first wherever markdown-it tries its rules, count, and match nothing.

    The block rule also runs as every terminator check (inside paragraphs, lists, quotes and
    tables, once a line) and sees the block tokens made so far; the inline rule runs at each
    position the inline parser tries, including its look-aheads for a link's closing bracket.
    Past the budget the parse stops with a refusal instead of running on.
    """

    __slots__ = ("blocks", "limit", "steps")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.steps = 0
        self.blocks = 0

    def block(self, state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        self.steps += 1
        self.blocks = len(state.tokens)
        self._check()
        return False

    def inline(self, state: StateInline, silent: bool) -> bool:
        self.steps += 1
        self._check()
        return False

    def _check(self) -> None:
        if self.steps + self.blocks > self.limit:
            raise ExtractionError(
                "The Markdown has too much markup to read (a huge table, markup repeated over "
                "and over, or just very long); split it, or save it as plain text (.txt)."
            )


def _markdown_parser(budget: _MarkdownBudget) -> MarkdownIt:
    parser = MarkdownIt("commonmark").enable("table")
    first_block = parser.block.ruler.get_active_rules()[0]
    terminator_chains = ["paragraph", "reference", "blockquote", "list"]
    parser.block.ruler.before(first_block, "budget", budget.block, {"alt": terminator_chains})
    parser.inline.ruler.before(parser.inline.ruler.get_active_rules()[0], "budget", budget.inline)
    return parser


def markdown_text(source: str, budget: int = MAX_MARKDOWN_WORK) -> tuple[str, str | None]:
    """Markdown without its markup: one block per paragraph, heading, list item or code block.

    The title is the first top-level heading ("# Name"), or else a heading that opens the
    text. A README that starts with a logo and a paragraph has neither: its first "##
    Benchmarks" names a section, not the document.
    """
    tokens = _markdown_parser(_MarkdownBudget(budget)).parse(source)
    blocks: list[str] = []
    top_level: str | None = None
    opening: str | None = None
    heading: str | None = None
    for token in tokens:
        if token.type == "heading_open":
            heading = token.tag
        elif token.type == "heading_close":
            heading = None
        elif token.type == "inline":
            text = "".join(_inline_text(child) for child in token.children or [])
            if text.strip():
                if heading is not None and not blocks:
                    opening = text.strip()
                if heading == "h1" and top_level is None:
                    top_level = text.strip()
                blocks.append(text.strip())
        elif token.type in ("fence", "code_block") and token.content.strip():
            blocks.append(token.content.strip())
        elif token.type == "html_block":
            # A README's '<h1 align="center">Name</h1>' is a top-level heading too.
            inner, html_title = html_text(token.content)
            if html_title and top_level is None:
                top_level = html_title
            if inner.strip():
                blocks.append(inner.strip())
    return "\n\n".join(blocks), top_level or opening


def _inline_text(token: object) -> str:
    kind = getattr(token, "type", "")
    if kind in ("text", "code_inline"):
        return str(getattr(token, "content", ""))
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "\n"
    if kind == "image":
        return "".join(_inline_text(child) for child in getattr(token, "children", None) or [])
    return ""
