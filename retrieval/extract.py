"""Turn an uploaded file's bytes into plain text: plain text, Markdown, HTML and PDF."""

from __future__ import annotations

import codecs
import io
import logging
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from selectolax.lexbor import LexborHTMLParser

from retrieval.errors import ExtractionError

log = logging.getLogger(__name__)

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
# (see _MarkdownBudget). Ordinary Markdown takes 80,000-130,000 a MB (this project's README,
# Node.js's and Rust's documentation), so 4-6 MB of it fit; 500,000 is at most a few seconds
# and a few hundred MB.
MAX_MARKDOWN_WORK = 500_000
_HIDDEN_HTML = "script, style, noscript, template, nav, header, footer, aside, form, svg, iframe"
_BLOCK_HTML = frozenset(
    "p div section article main h1 h2 h3 h4 h5 h6 li ul ol dl dt dd table tr td th caption "
    "blockquote pre br hr figure figcaption address details summary title".split()
)
_TITLE_LINE = re.compile(r"^[^\n]{1,150}$")
# Lines of reST furniture (comments, an overline) passed over before a plain text's title.
_TITLE_PREAMBLE_LINES = 3
# A title's over- or underline: one punctuation character, repeated (reST and Setext headings).
_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}$")
# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F (fixed by the standard) and
# Cs is the surrogates: one regex finds them at C speed instead of a category lookup per char.
_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # Cc but \t\n\r\f
_SENTENCE_END = re.compile(r"[.!?:;,]['\"”’)\]]*$")
_NOT_TEXT = "This looks like a binary file, not text; upload .txt, .md, .html or .pdf."


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
        text, title = _pdf_text(data)
    else:
        declared = declared_charset(content_type)
        if declared is None and kind == "html":
            declared = declared_charset(data[:4096])
        decoded = decode_text(data, declared)
        if kind != "html":
            # Refused before parsing: a Markdown parse of 10 MB can take minutes (see above).
            _check_length(len(decoded))
        if kind == "html":
            text, title = html_text(decoded)
        elif kind == "markdown":
            text, title = markdown_text(decoded)
        else:
            text, title = plain_text(decoded)
    text = clean_text(text)
    if not text.strip():
        raise ExtractionError("The document has no readable text.")
    _check_length(len(text))
    return Extracted(text=text, title=title, kind=kind)


def _check_length(characters: int) -> None:
    if characters > MAX_TEXT_CHARS:
        raise ExtractionError(
            f"The document's text is too long ({characters:,} characters; "
            f"the limit is {MAX_TEXT_CHARS:,}). Split it into smaller documents."
        )


_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.I)


def declared_charset(declaration: str | bytes | None) -> str | None:
    """The text encoding a Content-Type header or an HTML <meta> names, if Python knows it."""
    if not declaration:
        return None
    if isinstance(declaration, bytes):
        match = _META_CHARSET.search(declaration)
        name = match.group(1).decode("ascii") if match else None
    else:
        found = _CHARSET.search(declaration)
        name = found.group(1) if found else None
    if name is None:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text saved without a byte-order mark: one byte of most pairs is zero."""
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0 : half * 2 : 2].count(0), sample[1 : half * 2 : 2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode text (a BOM, UTF-8, else the declared charset) and refuse binary data."""
    # UTF-32-LE's mark begins with UTF-16-LE's, so it is tested first.
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(data[:8192]) or "utf-8-sig"
    if encoding == "utf-8-sig" and b"\x00" in data[:8192]:
        raise ExtractionError(_NOT_TEXT)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        text = _decode_not_utf8(data, declared, error)
    controls = len(_BINARY_CONTROLS.findall(text, 0, 8192))
    if controls > max(8, len(text[:8192]) // 100):
        raise ExtractionError(_NOT_TEXT)
    return text


def _decode_not_utf8(data: bytes, declared: str | None, error: UnicodeDecodeError) -> str:
    # Valid UTF-8 wins over a declaration (often wrong); otherwise trust what the page or the
    # server's Content-Type says (Latin-1, Shift_JIS, ...), else what the bytes look like.
    if declared is not None and declared != "utf-8":
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    # The lines with non-ASCII bytes are what tells encodings apart; a sample of them keeps
    # detecting a 10 MB file to a tenth of a second and a few MB (over all of it, charset-
    # normalizer took seconds and 400 MB).
    sample = _non_ascii_lines(data)
    # UTF-8 with a few stray bytes read as a code page would turn every accent and curly
    # quote into mojibake ("itâ€™s"): refused, as the UTF-8 it nearly is.
    if _mostly_utf8(sample):
        raise ExtractionError(
            f"The file is not valid UTF-8 text (bad byte at position {error.start}); "
            "save it as UTF-8 and try again."
        ) from None
    detected = detect_encoding(sample)
    if detected is None:
        raise ExtractionError(_NOT_TEXT) from None
    try:
        return data.decode(detected)
    except UnicodeDecodeError as late:  # a byte past the sample that this encoding lacks
        raise ExtractionError(
            f"The file is neither UTF-8 nor {detected} text throughout (bad byte at position "
            f"{late.start}); save it as UTF-8 and try again."
        ) from None


_NON_ASCII = re.compile(rb"[\x80-\xff]")
# An ASCII byte never begins a multi-byte character (Shift_JIS, GBK, Big5, EUC: their first
# bytes are all above 0x80), so a cut just after one splits none.
_CUT_AFTER = re.compile(rb"[\x00-\x7f]")
_SAMPLE_BYTES = 65_536


def _non_ascii_lines(data: bytes, limit: int = _SAMPLE_BYTES) -> bytes:
    """Lines holding non-ASCII bytes, up to about `limit` bytes, in one linear pass.

    Lines are taken whole; one longer than `limit` from its first non-ASCII byte (after
    ASCII, so the start of a character) to about `limit` bytes further, cut where no
    character is cut in two.
    """
    pieces: list[bytes] = []
    size = position = 0
    while size < limit and (found := _NON_ASCII.search(data, position)) is not None:
        start = data.rfind(b"\n", position, found.start()) + 1 or position
        end = data.find(b"\n", found.start()) + 1 or len(data)
        if end - start > limit:
            start = found.start()
            window = data[start : start + limit]
            cut = _CUT_AFTER.search(window[::-1])  # the last such byte of the window
            end = start + len(window) - (cut.start() if cut else 0)
        pieces.append(data[start:end])
        size += end - start
        position = end
    return b"".join(pieces)


_HIGH_BYTES = bytes(range(0x80, 0x100))
# One well-formed UTF-8 sequence of two to four bytes (RFC 3629's table).
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _mostly_utf8(data: bytes) -> bool:
    """Whether most of the non-ASCII bytes form UTF-8 sequences (a code page's rarely do)."""
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    in_sequences = len(data) - len(_UTF8_SEQUENCE.sub(b"", data))  # one copy, not a list
    return in_sequences > high - in_sequences


# The encodings browsers read (the WHATWG Encoding Standard's legacy ones, without the
# classic Mac OS ones, which charset-normalizer preferred for plain Finnish Latin-1): any
# other in a document uploaded today is less likely than a misreading of one of these.
_ENCODINGS = (
    "cp1250 cp1251 cp1252 cp1253 cp1254 cp1255 cp1256 cp1257 cp1258 cp874 cp866 latin_1 "
    "iso8859_2 iso8859_3 iso8859_4 iso8859_5 iso8859_6 iso8859_7 iso8859_8 iso8859_10 "
    "iso8859_13 iso8859_14 iso8859_15 iso8859_16 koi8_r koi8_u "
    "gb18030 gbk big5 euc_jp iso2022_jp shift_jis cp932 euc_kr cp949"
).split()
# The non-ASCII letters of languages written in these code pages: Polish, Czech, Slovak,
# Hungarian, Romanian, Croatian and Slovene; Turkish; Lithuanian, Latvian.
_ALPHABETS = {
    code_page: [frozenset(letters + letters.upper()) for letters in alphabets]
    for code_page, alphabets in {
        "cp1250": (
            "ąćęłńóśźż",
            "áčďéěíňóřšťúůýž",
            "áäčďéíĺľňóôŕšťúýž",
            "áéíóöőúüű",
            "ăâîşţ",
            "čćđšž",
        ),
        "cp1254": ("çğıİöşü",),
        "cp1257": ("ąčęėįšųūž", "āčēģīķļņšūž"),
    }.items()
}
# charset-normalizer rates how chaotic a candidate's text looks; within this, two are alike.
_SAME_CHAOS = 0.01


def detect_encoding(data: bytes) -> str | None:
    """The text encoding bytes that are not UTF-8 are most likely in, or None for binary data.

    charset-normalizer decides, but it rates the Latin code pages alike on most Western text
    (their letters differ only in rarer characters) and then picks the first, so "très" in
    Latin-1 came back as "trčs" (Windows-1250). When Windows-1252 is among the code pages
    whose text looks equally orderly, it wins (what browsers assume for unlabelled legacy
    text: Latin-1's printable characters plus curly quotes, dashes and the euro sign), unless
    another one, fitting a language at least as well, reads at least two letters Windows-1252
    has not that all belong to one language (Hungarian "ő" and "ű"; Turkish "ı", "ş" and
    "ğ"). One letter is no evidence: French "è" read as Windows-1250 is Czech "č"; nor is a
    worse fit: French "à", "è" and "û" read as Windows-1257 are Lithuanian "ą", "č" and "ū".
    """
    # Imported here: only text that is not UTF-8 needs it.
    from charset_normalizer import from_bytes

    matches = from_bytes(data, cp_isolation=_ENCODINGS)
    best = matches.best()
    if best is None:
        return None
    # How well each encoding's text fits a language, for those that look as orderly as the best.
    alike = {
        encoding: match.coherence
        for match in matches
        if abs(match.chaos - best.chaos) < _SAME_CHAOS
        for encoding in match.could_be_from_charset
    }
    if "cp1252" not in alike:
        return best.encoding
    western = set(data.decode("cp1252", "replace"))
    for code_page, alphabets in _ALPHABETS.items():
        if alike.get(code_page, -1) >= alike["cp1252"]:
            own = set(data.decode(code_page, "replace")) - western
            if len(own) >= 2 and any(own <= letters for letters in alphabets):
                return code_page
    return "cp1252"


def clean_text(text: str) -> str:
    """Normalise line endings and drop control characters, keeping the words verbatim."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    return _DROPPED.sub("", text)


def plain_text(text: str) -> tuple[str, str | None]:
    """A short first line with no closing punctuation, followed by more text, is the title.

    reStructuredText's furniture before it is passed over: an overline of one repeated
    symbol ("=====") and comments (".. SPDX-License-Identifier: ..."); an underline below it
    goes with it.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    rest = text.strip()
    for _ in range(_TITLE_PREAMBLE_LINES):
        line, _, after = rest.partition("\n")
        if not (_ADORNMENT.match(line.strip()) or line.startswith(".. ")):
            break
        rest = after.strip()
    first, sep, rest = rest.partition("\n")
    first = first.strip()
    if sep and rest.strip() and _TITLE_LINE.match(first) and not _SENTENCE_END.search(first):
        underline, below, after = rest.strip().partition("\n")
        if _ADORNMENT.match(underline.strip()) and below:
            rest = after
        return rest, first
    return text, None


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
    """Markdown without its markup: one block per paragraph, heading, list item or code block."""
    tokens = _markdown_parser(_MarkdownBudget(budget)).parse(source)
    blocks: list[str] = []
    title: str | None = None
    in_heading = False
    for token in tokens:
        if token.type == "heading_open":
            in_heading = True
        elif token.type == "heading_close":
            in_heading = False
        elif token.type == "inline":
            text = "".join(_inline_text(child) for child in token.children or [])
            if text.strip():
                blocks.append(text.strip())
                if in_heading and title is None:
                    title = text.strip()
        elif token.type in ("fence", "code_block") and token.content.strip():
            blocks.append(token.content.strip())
        elif token.type == "html_block":
            inner, _ = html_text(token.content)
            if inner.strip():
                blocks.append(inner.strip())
    return "\n\n".join(blocks), title


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


def _pdf_text(data: bytes) -> tuple[str, str | None]:
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
