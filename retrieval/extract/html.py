"""HTML's readable text, once a linear scan has measured the page's nesting and elements."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from retrieval.errors import ExtractionError
from retrieval.extract.limits import MAX_HTML_DEPTH, MAX_HTML_ELEMENTS

# Navigation is also what pages mark as such without <nav>: ARIA's role, and the classes that
# generated documentation uses (DocBook's "navheader"/"navfooter" and its table.nav links
# "<< Previous | Up | Home", Sphinx's "related" bar, breadcrumbs): a member asking how to do
# something is never answered "Up".
_HIDDEN_HTML = (
    "script, style, noscript, template, nav, header, footer, aside, form, svg, iframe, "
    "[role=navigation], .navheader, .navfooter, table.nav, div.related, .breadcrumb, "
    ".breadcrumbs"
)
_BLOCK_HTML = frozenset(
    "p div section article main h1 h2 h3 h4 h5 h6 li ul ol dl dt dd table tr td th caption "
    "blockquote pre br hr figure figcaption address details summary title".split()
)
# No "<" inside a tag: keeps the scan linear on "<a<a<a..." (attributes rarely hold one).
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]{0,40})[^<>]*?(/?)>|<!--")
# Elements that never stay open (void) or that the next sibling closes (optional end tags).
_NOT_NESTING = frozenset(
    "area base br col embed hr img input link meta param source track wbr basefont bgsound "
    "frame keygen p li dt dd tr td th option optgroup thead tbody tfoot colgroup caption rb "
    "rt rtc rp html head body".split()
)
_RAW_TEXT = frozenset("script style textarea title xmp iframe noembed noframes plaintext".split())


# Formatting elements left open are made again inside each later block ("reconstructing the
# active formatting elements" of HTML parsing): 900 open <b a=N> and 5,000 "<p>x" (28 KB) make
# 4.5 million elements. Alike ones (same tag and attributes) are kept at most three times.
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())


def html_shape(
    source: str, max_depth: int = MAX_HTML_DEPTH, max_elements: int = MAX_HTML_ELEMENTS
) -> tuple[int, int]:
    """How deep a page's elements nest and about how many a parser makes, in one linear pass.

    The count of elements is an upper estimate: each start tag and comment, plus the open
    formatting elements a parser may make again at each start tag. Counting stops once either
    figure passes its maximum.
    """
    lowered = source.lower()
    depth = deepest = elements = 0
    foreign = 0  # inside <svg> or <math>, where "<x/>" really is self-closing
    open_formatting: dict[str, list[str]] = {}  # tag name -> the tags (with attributes) open
    alike: dict[str, int] = {}
    active = 0
    position = 0
    while (match := _TAG.search(source, position)) is not None:
        position = match.end()
        if match.group() == "<!--":
            elements += 1
            end = lowered.find("-->", position)
            position = len(source) if end < 0 else end + 3
            if elements > max_elements:
                break
            continue
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if not closing:
            elements += 1 + active
            if elements > max_elements:
                break
        if name in _FORMATTING and not foreign:
            if name == "a" and not closing:
                # A new link closes the one still open: at most one is ever active.
                for tag in open_formatting.pop("a", []):
                    alike[tag] -= 1
                    active -= 1
            if closing:
                if open_formatting.get(name):
                    tag = open_formatting[name].pop()
                    alike[tag] -= 1
                    active -= 1
            elif alike.get(tag := match.group().lower(), 0) < 3:
                alike[tag] = alike.get(tag, 0) + 1
                open_formatting.setdefault(name, []).append(tag)
                active += 1
        if name in _NOT_NESTING or (self_closing and foreign and not closing):
            continue
        if closing:
            depth = max(depth - 1, 0)
            foreign = max(foreign - 1, 0) if name in ("svg", "math") else foreign
            continue
        if name in _RAW_TEXT:
            end = lowered.find(f"</{name}", position)
            position = len(source) if end < 0 else end
            continue
        depth += 1
        foreign += name in ("svg", "math")
        deepest = max(deepest, depth)
        if deepest > max_depth:
            break
    return deepest, elements


def html_text(source: str) -> tuple[str, str | None]:
    """The readable text of a page: scripts, styles and navigation removed, blocks kept apart."""
    depth, elements = html_shape(source)
    if depth > MAX_HTML_DEPTH:
        raise ExtractionError(
            f"The page nests its elements more than {MAX_HTML_DEPTH:,} deep, which no real page "
            "does; save it as plain text or simplify it."
        )
    if elements > MAX_HTML_ELEMENTS:
        raise ExtractionError(
            f"The page has more than {MAX_HTML_ELEMENTS:,} elements, far more than a long real "
            "page; save it as plain text or split it."
        )
    tree = LexborHTMLParser(source)
    title_node = tree.css_first("title") or tree.css_first("h1")
    title = title_node.text(strip=True) if title_node is not None else None
    for node in tree.css(_HIDDEN_HTML):
        node.decompose()
    root = tree.body or tree.root
    if root is None:
        return "", title or None
    parts: list[str] = []
    for node in root.traverse(include_text=True):
        if node.is_text_node:
            parts.append(node.text_content or "")
        elif node.tag in _BLOCK_HTML:
            parts.append("\n\n")
    text = "".join(parts)
    # Inside a block, HTML whitespace (including newlines) is just a space.
    blocks = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return "\n\n".join(block for block in blocks if block), title or None
