"""Split text into sentences with NLTK's Punkt, using our own parameters and no downloaded data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from nltk.tokenize.punkt import (
    PunktLanguageVars,
    PunktParameters,
    PunktSentenceTokenizer,
    PunktToken,
)

# Punkt normally learns these from a trained model that nltk.download() would fetch. We cannot
# download at run time, and a fixed list makes splitting deterministic everywhere.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft rev gen col lt sgt capt cmdr maj adm gov sen rep pres hon
    messrs mmes msgr fr supt insp det atty
    u.s u.k u.n e.u u.s.a u.s.s.r d.c a.m p.m e.g i.e etc vs v al cf ca approx est
    no nos n° vol vols pp p ch chap sec fig figs eq eqs ed eds op cit ibid
    inc ltd co corp bros assn dept univ inst natl intl govt
    jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri sat sun
    ave blvd rd hwy
    b.a b.s m.a m.s ph.d m.d d.d.s j.d ll.b
    """.split()
)
# Words that, after an abbreviation such as "U.S.", show a new sentence has begun.
SENTENCE_STARTERS = frozenset(
    """
    the a an this that these those it its he she they we i you there here his her their our
    in on at for but and or so yet if when while after before however although because since
    what who which where why how as to by from with of one some many most all no not
    did do does is are was were has have had can could would should will may might must
    then thus also still later today yesterday meanwhile instead
    """.split()
)
# Punkt's orthographic heuristic, which training would fill in: these words are seen lowercase
# mid-sentence and capitalised only at a sentence's start. It lets "you and I. Did you …" break
# after the initial-like "I." while "Albert I. Jones" does not.
_ORTHO_BEG_UC = 1 << 1
_ORTHO_MID_LC = 1 << 5
_ORTHO_STARTER = _ORTHO_BEG_UC | _ORTHO_MID_LC

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
# A paragraph whose lines are all this short is a list, one item a line: no text is wrapped
# this narrow (extract/plain.py keeps a title line above such a list).
LIST_LINE_CHARS = 40
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•‣◦▪⁃–—]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+")
# A line that ends as a sentence does (closing quotes and brackets aside).
ENDS_SENTENCE = re.compile(r"[.!?:;,…]['\"”’)\]]*\s*$")
_HAS_WORD = re.compile(r"\w")
# A list written on one line: "1.) First 2.) Second", "• 9. First • 10. Second", "a. One b. Two".
_BULLETS = "•‣◦▪⁃*-"
_LIST_START = re.compile(
    r"(?P<bullet>[•‣◦▪⁃*-][ \t]*)?(?P<label>\d{1,3}|[a-z])(?P<mark>\.\)|\)|\.)[ \t]+"
    r"|(?P<bare>[•‣◦▪⁃])[ \t]*"
)
# Spaced ellipses (". . .", ". . . ."): Punkt would end a sentence at each dot.
_SPACED_ELLIPSIS = re.compile(r"\.(?:[ \u00a0]\.){2,}")
_NEXT_CAPITAL = re.compile(r"\s+[\"'“‘(\[]?[A-Z]")
# Upper-case "P.M." followed by a capitalised word ends a sentence; lower-case "a.m." does not.
_CLOCK_END = re.compile(r"\b[AP]\.M\.(?=\s+[A-Z])")
_LOWER_START = re.compile(r"[\"'“‘(\[]*[a-z]")
# A candidate sentence end that is certainly one: a plain word, a period, a capitalised word.
_PLAIN_BREAK = re.compile(r"([^\W\d_]{2,})\.\s+[A-Z]\S*")
# A stand-in for masked characters: not a sentence end, not whitespace, same length.
_MASK = "_"
# The longest sentence kept whole. A reply (2,000 characters) quotes up to three sentences, so
# ~600 characters of each are shown at most and a longer one is always excerpted; and a
# "sentence" of megabytes (a file with no full stops) made every question that quoted it cost
# seconds. Real ones rarely come near: 3 of SQuAD's 10,278 are longer, all lists run together
# with semicolons. A longer one is cut into pieces of at most this length, each a span of the
# text: at a clause boundary if there is one, else between words.
MAX_SENTENCE_CHARS = 1_000
# Where a long sentence is best cut: after a semicolon, colon or dash, else after a comma or a
# closing bracket (each followed by a space; a dash may touch the next word).
_STRONG_CUT = re.compile(r"[;:—–]['\"”’)\]]*(?=\s)|—")
_WEAK_CUT = re.compile(r"[,)\]]['\"”’)\]]*(?=\s)")
_SPACES = re.compile(r"\s+")


class _FastLanguageVars(PunktLanguageVars):
    """Punkt's own patterns, compiled with the standard library's engine.

    NLTK 3.10 runs every pattern through its ReDoS guard (the third-party regex engine plus a
    timeout per call), which made splitting several times slower. These patterns are NLTK's,
    unchanged, and linear since NLTK fixed them (nltk#2866); the guard is for patterns a
    caller supplies, and here none is.
    """

    re_boundary_realignment = re.compile(  # type: ignore[assignment]
        PunktLanguageVars.re_boundary_realignment.pattern, re.MULTILINE
    )

    def _word_tokenizer_re(self) -> re.Pattern[str]:  # type: ignore[override]
        try:
            return self._fast_word_tokenizer
        except AttributeError:
            self._fast_word_tokenizer: re.Pattern[str] = re.compile(
                self._word_tokenize_fmt
                % {
                    "NonWord": self._re_non_word_chars,
                    "MultiChar": self._re_multi_char_punct,
                    "WordStart": self._re_word_start,
                },
                re.UNICODE | re.VERBOSE,
            )
            return self._fast_word_tokenizer

    def period_context_re(self) -> re.Pattern[str]:  # type: ignore[override]
        """The pattern of a possible sentence end and the token after it."""
        try:
            return self._fast_period_context
        except AttributeError:
            self._fast_period_context: re.Pattern[str] = re.compile(
                self._period_context_fmt
                % {"NonWord": self._re_non_word_chars, "SentEndChars": self._re_sent_end_chars},
                re.UNICODE | re.VERBOSE,
            )
            return self._fast_period_context


class _FastToken(PunktToken):
    """Punkt's token with its patterns compiled by the standard library (see above)."""

    __slots__ = ()
    _RE_ELLIPSIS = re.compile(r"\.\.+$")  # type: ignore[assignment]
    _RE_NUMERIC = re.compile(r"^-?[\.,]?\d[\d,\.-]*\.?$")  # type: ignore[assignment]
    _RE_INITIAL = re.compile(r"[^\W\d]\.$", re.UNICODE)  # type: ignore[assignment]
    _RE_ALPHA = re.compile(r"[^\W\d]+$", re.UNICODE)  # type: ignore[assignment]


class _FastPunkt(PunktSentenceTokenizer):
    """Punkt with two hot spots answered faster, giving the same splits."""

    def text_contains_sentbreak(self, text: str) -> bool:
        """Punkt's decision for one candidate, answered early in its most common case.

        "word. Next" where "word" is two or more letters and not a known abbreviation is a
        break whatever else Punkt knows: not an initial, number, ellipsis or collocation
        (we have none), so its second pass never revisits it. Everything else goes to Punkt.
        """
        match = _PLAIN_BREAK.fullmatch(text)
        if match is not None and match.group(1).lower() not in self._params.abbrev_types:
            return True
        return super().text_contains_sentbreak(text)

    def _get_last_whitespace_index(self, text: str) -> int:
        # NLTK scans the text before every candidate period character by character in Python;
        # rfind over string.whitespace gives the same index (0 when there is none).
        find = text.rfind
        return max(0, find(" "), find("\n"), find("\t"), find("\r"), find("\x0b"), find("\x0c"))


@lru_cache(maxsize=1)
def _tokenizer() -> PunktSentenceTokenizer:
    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    params.sent_starters = set(SENTENCE_STARTERS)
    for word in SENTENCE_STARTERS:
        params.ortho_context[word] = _ORTHO_STARTER
    return _FastPunkt(params, lang_vars=_FastLanguageVars(), token_cls=_FastToken)


def split_sentences(text: str) -> list[str]:
    """Sentences of the text, in order, each with its whitespace collapsed to single spaces."""
    return [" ".join(text[start:end].split()) for start, end in split_sentence_spans(text)]


def paragraph_pieces(text: str, size: int) -> list[str]:
    """The text cut at paragraph breaks into pieces that split exactly as the whole does.

    Each piece but the last holds at least `size` characters. split_sentences(text) is the
    concatenation of split_sentences(piece) over the pieces: no sentence crosses a paragraph
    break, each paragraph is split on its own (Punkt's parameters are fixed, it learns
    nothing from the text), and the cuts are breaks found in the whole text, which a piece's
    own search finds again between its ends. So a long document can be split in several
    processes.
    """
    pieces: list[str] = []
    start = 0
    for separator in _PARAGRAPH_BREAK.finditer(text):
        if separator.start() - start >= size:
            pieces.append(text[start : separator.start()])
            start = separator.end()
    pieces.append(text[start:])
    return pieces


def split_sentence_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) character offsets of each sentence in the text, in order."""
    tokenizer = _tokenizer()
    spans: list[tuple[int, int]] = []
    for offset, block in _blocks(text):
        for sentence_start, sentence_end in _split_block(tokenizer, block):
            for start, end in _capped(block, sentence_start, sentence_end):
                if _HAS_WORD.search(block, start, end):
                    spans.append((offset + start, offset + end))
    return spans


def _capped(block: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The sentence, or pieces of about equal length cut from it if it is too long."""
    while end - start > MAX_SENTENCE_CHARS:
        cut, resume = _cut(block, start, end)
        yield start, cut
        start = resume
    yield start, end


def _cut(block: str, start: int, end: int) -> tuple[int, int]:
    """Where the first piece of a long sentence ends, and where the rest starts.

    The piece ends as near as can be to an even share of the sentence, no shorter than half of
    it and no longer than the maximum: after the best kind of clause boundary found there,
    else before a space, else (one word that long) at the even share itself.
    """
    length = end - start
    share = -(-length // -(-length // MAX_SENTENCE_CHARS))  # ceil(length / pieces)
    target = start + share
    low, high = start + share // 2, start + MAX_SENTENCE_CHARS
    cut = target
    for pattern in (_STRONG_CUT, _WEAK_CUT):
        # One character past `high`, so that the space after a cut there is seen.
        cuts = [m.end() for m in pattern.finditer(block, low, high + 1) if m.end() <= high]
        if cuts:
            cut = min(cuts, key=lambda at: (abs(at - target), at))
            break
    else:
        spaces = [m.start() for m in _SPACES.finditer(block, low, high + 1)]
        if spaces:
            cut = min(spaces, key=lambda at: (abs(at - target), at))
    gap = _SPACES.match(block, cut)
    return cut, gap.end() if gap else cut


def _split_block(tokenizer: PunktSentenceTokenizer, block: str) -> list[tuple[int, int]]:
    """Sentence spans of one block: list items apart, then Punkt, then our repairs."""
    masked = _mask_ellipses(block) if ". ." in block else block
    spans: list[tuple[int, int]] = []
    for start, end, marker_end in _list_items(block):
        item = masked[start:end]
        if marker_end > start:
            # The list label's period ("1." in "1. First") is not a sentence end.
            item = item[: marker_end - start].replace(".", _MASK) + item[marker_end - start :]
        item_spans = [(start + s, start + e) for s, e in tokenizer.span_tokenize(item)]
        if len(item_spans) > 1:
            item_spans = _merge_lowercase_starts(block, item_spans)
        spans.extend(item_spans)
    if "M." in block:
        spans = _split_clock_ends(block, spans)
    return spans


def _list_items(block: str) -> list[tuple[int, int, int]]:
    """(start, end, end of the list label) of each item of a list written inline.

    A block that does not start with a list label is one item with no label. A block that
    does is cut before each following label of the same style and the next number or letter.
    """
    first = _LIST_START.match(block)
    if first is None:
        return [(0, len(block), 0)]
    if first.group("bare"):
        bullet = first.group("bare")
        cuts = [m.start() + 1 for m in re.finditer(rf"\s{re.escape(bullet)}", block)]
        # Matched in place: slicing the block at each cut made long bullet lines quadratic.
        marker = re.compile(rf"{re.escape(bullet)}[ \t]*")
        ends = [marker.match(block, c) for c in [0, *cuts]]
        return _items([0, *cuts], len(block), [e.end() if e else 0 for e in ends])
    label, mark, bullet = first.group("label"), first.group("mark"), first.group("bullet") or ""
    # "a." alone could be a sentence's initial; only a following "b." makes it a list.
    if (
        label.isalpha()
        and mark == "."
        and not re.search(rf"\s{re.escape(chr(ord(label) + 1))}\.[ \t]", block)
    ):
        return [(0, len(block), 0)]
    starts, label_ends = [0], [first.end()]
    position = first.end()
    while True:
        label = str(int(label) + 1) if label.isdigit() else chr(ord(label) + 1)
        bullet_pattern = rf"{re.escape(bullet.strip())}[ \t]*" if bullet.strip() else ""
        pattern = rf"\s({bullet_pattern}{re.escape(label)}{re.escape(mark)}[ \t]+)"
        following = re.compile(pattern).search(block, position)
        if following is None:
            break
        starts.append(following.start(1))
        label_ends.append(following.end(1))
        position = following.end(1)
    return _items(starts, len(block), label_ends)


def _items(starts: list[int], length: int, label_ends: list[int]) -> list[tuple[int, int, int]]:
    ends = [*starts[1:], length]
    return list(zip(starts, ends, label_ends, strict=True))


def _mask_ellipses(block: str) -> str:
    """Hide the dots of spaced ellipses from Punkt, keeping those that end a sentence.

    ". . ." marks words left out inside a sentence. Four dots end one: "done. . . . Next"
    ends after "done." (the ellipsis opens the next sentence) and "a period . . . . Next"
    ends after the fourth dot.
    """
    chars = list(block)
    for match in _SPACED_ELLIPSIS.finditer(block):
        start, end = match.span()
        dots = [i for i in range(start, end) if block[i] == "."]
        attached = start > 0 and not block[start - 1].isspace()
        keep: int | None = None
        if len(dots) >= 4 and _NEXT_CAPITAL.match(block, end):
            keep = dots[0] if attached else dots[-1]
        for i in dots:
            if i != keep:
                chars[i] = _MASK
    return "".join(chars)


def _merge_lowercase_starts(block: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join a "sentence" that starts in lower case to the one before: Punkt cut too early.

    Quotes and asides ('"This is great." she said', 'Yahoo! in the', '(… engineer.) at')
    end with sentence punctuation without ending the sentence.
    """
    merged = [spans[0]]
    for start, end in spans[1:]:
        if _LOWER_START.match(block, start):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _split_clock_ends(block: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cut after an upper-case "A.M."/"P.M." that a capitalised word follows."""
    result: list[tuple[int, int]] = []
    for start, end in spans:
        for match in _CLOCK_END.finditer(block, start, end):
            following = _NEXT_CAPITAL.match(block, match.end())
            if following is None or following.end() > end:
                continue
            result.append((start, match.end()))
            start = match.end() + len(following.group()) - len(following.group().lstrip())
        result.append((start, end))
    return result


def _blocks(text: str) -> Iterator[tuple[int, str]]:
    """Paragraphs, headings and list items, with their offsets: units no sentence may cross."""
    paragraph_start = 0
    for separator in [*_PARAGRAPH_BREAK.finditer(text), None]:
        paragraph_end = separator.start() if separator else len(text)
        yield from _paragraph_blocks(text, paragraph_start, paragraph_end)
        if separator:
            paragraph_start = separator.end()


def _paragraph_blocks(text: str, start: int, end: int) -> Iterator[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    position = start
    for line in text[start:end].split("\n"):
        if line.strip():
            lines.append((position, line))
        position += len(line) + 1
    if not lines:
        return
    longest = max(len(line.strip()) for _, line in lines)
    # Short lines are a list without bullets ("No spam", "Be kind"), as rules pasted into
    # Discord come, unless a line goes on in lower case.
    unbulleted_list = longest <= LIST_LINE_CHARS
    current: list[tuple[int, str]] = []
    for number, (offset, line) in enumerate(lines):
        starts_item = _LIST_ITEM.match(line) or (
            unbulleted_list and not _LOWER_START.match(line.lstrip())
        )
        if starts_item and current:
            yield _joined(text, current)
            current = []
        current.append((offset, line))
        if _is_heading(line, number, len(lines), longest):
            yield _joined(text, current)
            current = []
    if current:
        yield _joined(text, current)


def _joined(text: str, lines: list[tuple[int, str]]) -> tuple[int, str]:
    """The block spanning these lines, as it stands in the text (line breaks included)."""
    first, last = lines[0], lines[-1]
    return first[0], text[first[0] : last[0] + len(last[1])]


def _is_heading(line: str, number: int, line_count: int, longest: int) -> bool:
    """A short first line with no closing punctuation, above longer lines, is a heading."""
    stripped = line.strip()
    return (
        number == 0
        and line_count > 1
        and len(stripped) <= 120
        and len(stripped) < 0.8 * longest
        and not ENDS_SENTENCE.search(stripped)
    )
