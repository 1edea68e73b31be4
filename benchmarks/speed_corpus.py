"""The speed benchmark's corpus: real English documents from Debian packages, and queries."""

from __future__ import annotations

import gzip
import os
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from retrieval import Analyzer, split_sentences

PACKAGES = {
    # package: what it gives
    "python3.11-doc": Path("/usr/share/doc/python3.11/html/_sources"),
    "bible-kjv": Path("/usr/bin/bible"),
    "linux-doc-6.1": Path("/usr/share/doc/linux-doc-6.1/Documentation"),
}


@dataclass(frozen=True)
class RealDocument:
    """A document as a user would add it: a file name and its bytes."""

    name: str
    data: bytes


def ensure_packages() -> None:
    """Install the Debian packages the corpus comes from, if missing (needs root and apt)."""
    missing = [name for name, path in PACKAGES.items() if not path.exists()]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise SystemExit(f"install these Debian packages first: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def documents() -> Iterator[RealDocument]:
    """The KJV by book, the Python 3.11 docs' reST sources, then the Linux kernel docs."""
    yield from _bible_books()
    for path in sorted(PACKAGES["python3.11-doc"].rglob("*.txt")):
        yield RealDocument(path.name, path.read_bytes())
    for path in sorted(PACKAGES["linux-doc-6.1"].rglob("*.rst.gz")):
        yield RealDocument(
            path.name.removesuffix(".gz") + ".txt", gzip.decompress(path.read_bytes())
        )


def _bible_books() -> Iterator[RealDocument]:
    text = subprocess.run(
        ["bible", "-l200", "gen1:1-rev22:21"], check=True, capture_output=True, text=True
    ).stdout
    book, lines = "", []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        heading = _CHAPTER.match(stripped)
        if heading is None:
            head, _, rest = stripped.partition(" ")
            if head.isdigit():
                lines.append(rest)
            elif lines:
                lines[-1] += " " + stripped  # a wrapped verse
            continue
        if heading.group(1) != book and lines:
            yield RealDocument(f"{book}.txt", "\n".join(lines).encode())
            lines = []
        book = heading.group(1)
        lines.append("")  # a chapter break is a paragraph break
    if lines:
        yield RealDocument(f"{book}.txt", "\n".join(lines).encode())


_CHAPTER = re.compile(r"^((?:\d )?[A-Z][A-Za-z ]*?) (\d+)$")


def _split(document: RealDocument) -> list[str]:
    from retrieval import extract_text

    try:
        text = extract_text(document.data, filename=document.name).text
    except Exception:  # noqa: BLE001 - a benchmark skips what the product would refuse
        return []
    return split_sentences(text)


def real_sentences(limit: int) -> tuple[list[RealDocument], list[str]]:
    """Documents in order until `limit` sentences, and those sentences (split in 2 processes)."""
    chosen, sentences = [], []
    with get_context("fork").Pool(2) as pool:
        for document, split in zip(
            docs := list(_take_documents(limit * 2)),
            pool.imap(_split, docs, chunksize=8),
            strict=True,
        ):
            if not split:
                continue
            chosen.append(document)
            sentences.extend(split)
            if len(sentences) >= limit:
                break
    return chosen, sentences[:limit]


def _take_documents(budget_sentences: int) -> Iterator[RealDocument]:
    # Roughly 80 bytes per sentence: stop reading files well past what is needed.
    budget = budget_sentences * 160
    for document in documents():
        yield document
        budget -= len(document.data)
        if budget <= 0:
            return


_ANALYZER: Analyzer | None = None


def _analyze_many(texts: list[str]) -> list[list[str]]:
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = Analyzer()
    return [_ANALYZER.analyze(text) for text in texts]


def analyze_all(texts: list[str]) -> list[list[str]]:
    """Analyze texts with our analyzer in two processes (terms are identical either way)."""
    chunks = [texts[i : i + 20_000] for i in range(0, len(texts), 20_000)]
    with get_context("fork").Pool(2) as pool:
        return [terms for part in pool.map(_analyze_many, chunks) for terms in part]


def perturbed_copies(sentences: list[str], total: int, seed: int = 7) -> list[str]:
    """Real sentences, then perturbed copies of them up to `total`.

    A copy is a real sentence with each word replaced, with probability 1/4, by a word drawn
    from the whole corpus, and one random stretch of it reversed: real vocabulary and lengths,
    new combinations of terms.
    """
    rng = random.Random(seed)
    pool = [word for sentence in sentences[:50_000] for word in sentence.split()]
    out = list(sentences)
    while len(out) < total:
        words = rng.choice(sentences).split()
        words = [rng.choice(pool) if rng.random() < 0.25 else w for w in words]
        if len(words) > 3:
            i, j = sorted(rng.sample(range(len(words)), 2))
            words[i:j] = words[i:j][::-1]
        out.append(" ".join(words))
    return out


def make_queries(terms: list[list[str]], count: int, seed: int = 11) -> list[list[str]]:
    """Questions a user might ask: 2 to 4 terms of a random real sentence, in its order."""
    rng = random.Random(seed)
    queries: list[list[str]] = []
    while len(queries) < count:
        words = list(dict.fromkeys(rng.choice(terms)))
        if len(words) < 3:
            continue
        picked = sorted(rng.sample(range(len(words)), rng.randint(2, min(4, len(words)))))
        queries.append([words[i] for i in picked])
    return queries
