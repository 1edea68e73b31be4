"""Bytes to text: byte-order marks, UTF-8, declared charsets, detected code pages; no binary."""

from __future__ import annotations

import codecs
import re

from retrieval.errors import ExtractionError

_BINARY_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # Cc but \t\n\r\f
_NOT_TEXT = "This looks like a binary file, not text; upload .txt, .md, .html or .pdf."


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
