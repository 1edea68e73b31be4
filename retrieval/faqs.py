"""Question-and-answer entries of real FAQs, for the reader's training (retrieval/build_reader.py).

An FAQ's questions are written the way people ask about software, and the sentences after
them answer in a manual's words: the kind of pair members bring to a server's documents,
which the public sets (Wikipedia questions) lack. Two formats are read, as Debian ships them:
Perl's perlfaq1-9 (POD, package perl-doc) and Python's FAQ (reStructuredText sources, package
python3.X-doc). Code blocks, directives and markup are left out; prose is kept as a member
would see it rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from retrieval.sentences import split_sentences

# POD's formatting codes, innermost first: C<x>, C<< x >>, L<text|target>, E<gt>, ...
_POD_CODE = re.compile(r"([A-Z])<(?:<+\s(.*?)\s>+|([^<>]*))>")
_POD_ESCAPES = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/"}
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")
# :role:`text <target>` or :role:`text`, `text <url>`_, ``literal``, *emphasis*, **strong**.
_RST_ROLE = re.compile(r":[\w:.-]+:`([^`<]*?)(?:\s*<[^`>]*>)?`")
_RST_LINK = re.compile(r"`([^`<]*?)\s*<[^`>]*>`_{1,2}")
_RST_MARKUP = re.compile(r"``(.+?)``|\*\*(.+?)\*\*|\*(.+?)\*|`(.+?)`_{0,2}")
_CONTRIBUTED = re.compile(r"^\(contributed by [^)]*\)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Entry:
    """One FAQ question and the sentences of its answer's prose, in order."""

    question: str
    sentences: tuple[str, ...]


def _pod_code(match: re.Match[str]) -> str:
    code, text = match.group(1), match.group(2) if match.group(2) is not None else match.group(3)
    if code == "E":
        return _POD_ESCAPES.get(text, "")
    if code in ("X", "Z"):  # index entries and zero-width marks show nothing
        return ""
    if code == "L":
        # L<text|target> shows text; L<perlfunc/open> shows "open" in perlfunc.
        if "|" in text:
            return text.split("|", 1)[0]
        name, _, section = text.partition("/")
        return f'"{section.strip(chr(34))}" in {name}' if name and section else (section or name)
    return text


def _pod_text(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _POD_CODE.sub(_pod_code, text)
    return " ".join(text.split())


def _paragraphs(text: str) -> list[str]:
    return [block for block in re.split(r"\n[ \t]*\n", text) if block.strip()]


def perl_faq(path: Path) -> Iterator[Entry]:
    """The =head2 questions of a perlfaq POD file, with the prose of each answer."""
    question: str | None = None
    prose: list[str] = []
    for block in _paragraphs(path.read_text("utf-8")):
        if block.startswith("=head"):
            if question is not None:
                yield _entry(question, prose)
            heading = _pod_text(block.split(None, 1)[1]) if " " in block.strip() else ""
            question = heading if block.startswith("=head2") and heading.endswith("?") else None
            prose = []
        elif block.startswith("=") or block[0] in " \t":  # commands, verbatim code
            continue
        elif question is not None:
            prose.append(_CONTRIBUTED.sub("", _pod_text(block)))
    if question is not None:
        yield _entry(question, prose)


def _rst_text(text: str) -> str:
    text = _RST_ROLE.sub(lambda m: m.group(1), text)
    text = _RST_LINK.sub(lambda m: m.group(1), text)
    text = _RST_MARKUP.sub(lambda m: next(g for g in m.groups() if g is not None), text)
    text = text.replace("::", ":")
    return " ".join(text.split())


def python_faq(path: Path) -> Iterator[Entry]:
    """The section titles ending in "?" of a reStructuredText FAQ, with each answer's prose."""
    lines = path.read_text("utf-8").splitlines()
    titles = [
        n for n in range(len(lines) - 1)
        if lines[n].strip() and _RST_UNDERLINE.match(lines[n + 1])
        and len(lines[n + 1].strip()) >= len(lines[n].strip())
        and not (n > 0 and _RST_UNDERLINE.match(lines[n - 1]))
    ]
    for at, title in enumerate(titles):
        question = _rst_text(lines[title])
        if not question.endswith("?"):
            continue
        end = titles[at + 1] if at + 1 < len(titles) else len(lines)
        body = "\n".join(lines[title + 2 : end])
        prose = [
            _rst_text(block) for block in _paragraphs(body)
            if block[0] not in " \t" and not block.startswith("..")
        ]
        yield _entry(question, prose)


def _entry(question: str, prose: list[str]) -> Entry:
    sentences = tuple(s for block in prose if block for s in split_sentences(block))
    return Entry(question, sentences)


def faq_entries(path: Path) -> list[Entry]:
    """An FAQ file's entries that have an answer in prose, by its format (.pod or .rst)."""
    read = perl_faq if path.name.endswith(".pod") else python_faq
    return [entry for entry in read(path) if entry.sentences]
