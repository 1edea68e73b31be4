"""Text for the terminal: what members and documents wrote is shown, its control codes never run."""

from __future__ import annotations

import json
from typing import Any

# Line breaks and tabs inside one field would break a table's rows: a space shows them well
# enough. Every other control character (ESC starts the sequences that set the title, write
# the clipboard or clear the screen; C1's CSI and OSC do the same alone) is shown as an
# escape, and so are the bidirectional overrides that make a line read other than it is.
_SPACES = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029"
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROLS = [*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), *_BIDI]


def _shown(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_PRINTABLE = str.maketrans(
    {char: " " if char in _SPACES else _shown(char) for char in [*_CONTROLS, *_SPACES]}
)
# JSON escapes C0 itself; the rest, written as \uXXXX, decodes to the very same text.
_JSON_SAFE = str.maketrans(
    {char: f"\\u{ord(char):04x}" for char in [*_CONTROLS, "\u2028", "\u2029"] if ord(char) >= 0x7F}
)


def printable(text: str) -> str:
    r"""`text` on one line without control characters: breaks as spaces, the rest as `\x1b`."""
    return text.translate(_PRINTABLE)


def json_line(data: Any) -> str:
    """`data` as one line of JSON with no raw control character in it (the text is kept)."""
    return json.dumps(data, ensure_ascii=False).translate(_JSON_SAFE)
