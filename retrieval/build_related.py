"""Build retrieval/data/related.tsv.gz, the table retrieval.related reads, from WordNet 3.0.

    apt-get download wordnet-base && dpkg-deb -x wordnet-base_*.deb wn
    python -m retrieval.build_related wn/usr/share/wordnet

Reads WordNet's database files (the WNDB format: index.*, data.* and *.exc) and writes, for
each term of the default analyzer that WordNet knows, the terms it relates to:

- the other words of the first sense of the word in each part of speech (its synonyms);
- the words of every sense linked to it as derivationally related ("invent", "inventor");
- irregular forms and their base, both ways ("bought", "buy"), the form also taking the
  base's relations;

except that words common in English are never a synonym or derivation (COMMON).

Words WordNet writes as several words ("united_states") and words the analyzer drops (stop
words) are left out; terms whose words stem alike merge. The output is sorted and gzipped
without a timestamp, so the same input always gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from retrieval.analyzer import Analyzer
from retrieval.rarity import rarity

OUTPUT = Path(__file__).parent / "data" / "related.tsv.gz"
PARTS_OF_SPEECH = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
# An adjective satellite's synsets live in data.adj with the adjectives.
_SATELLITE = "s"
_DERIVATION = "+"
_ANTONYM = "!"
# Words more common in English than one in 10,000 (rarity under 2: "take", "set", "state")
# are never another word's synonym or derivation here (an irregular form's base still is):
# they stand for too much to tell, and sit in long posting lists that cost the most to read.
# Measured on the tuning data: the same accuracy as keeping them (1.5: the same; 2.5, or
# giving common words no related terms of their own either: less).
COMMON = 2.0
# A lemma in data.*: an adjective's syntactic marker, e.g. "galore(ip)".
_MARKER = re.compile(r"\(\w+\)$")


Link = tuple[int, tuple[str, str], int]


class Synset(NamedTuple):
    """One synset: its words, and its links as (source word, target synset, target word).

    Derivation links relate the build's terms; antonym links make the reader's near misses
    (build_reader.NearMiss). Word numbers count from 1; 0 means the whole synset (a
    semantic, not lexical, link).
    """

    words: tuple[str, ...]
    derivations: tuple[Link, ...]
    antonyms: tuple[Link, ...] = ()


def _lines(path: Path) -> Iterator[str]:
    """A WNDB file's lines without its licence header (lines starting with two spaces)."""
    with path.open(encoding="latin-1") as file:
        for line in file:
            if not line.startswith("  "):
                yield line


def read_synsets(root: Path) -> dict[tuple[str, str], Synset]:
    """Every synset by (part of speech, byte offset), from the data.* files."""
    synsets = {}
    for name, pos in PARTS_OF_SPEECH.items():
        for line in _lines(root / f"data.{name}"):
            fields = line.split(" | ", 1)[0].split()
            count = int(fields[3], 16)
            words = tuple(_MARKER.sub("", fields[4 + 2 * i]).lower() for i in range(count))
            at = 4 + 2 * count
            links: dict[str, list[Link]] = {_DERIVATION: [], _ANTONYM: []}
            for _ in range(int(fields[at])):
                symbol, offset, target_pos, numbers = fields[at + 1 : at + 5]
                at += 4
                if symbol in links:
                    target = ("a" if target_pos == _SATELLITE else target_pos, offset)
                    links[symbol].append((int(numbers[:2], 16), target, int(numbers[2:], 16)))
            synsets[(pos, fields[0])] = Synset(
                words, tuple(links[_DERIVATION]), tuple(links[_ANTONYM])
            )
    return synsets


def read_senses(root: Path) -> dict[str, list[list[tuple[str, str]]]]:
    """Each lemma's synsets, one list per part of speech, most frequent sense first."""
    senses: dict[str, list[list[tuple[str, str]]]] = defaultdict(list)
    for name, pos in PARTS_OF_SPEECH.items():
        for line in _lines(root / f"index.{name}"):
            fields = line.split()
            pointer_kinds = int(fields[3])
            offsets = fields[4 + pointer_kinds + 2 :]
            senses[fields[0]].append([(pos, offset) for offset in offsets])
    return senses


def derived_words(
    synsets: dict[tuple[str, str], Synset], offset: tuple[str, str], lemma: str
) -> list[str]:
    """The words a derivation link joins to the lemma's word in this synset."""
    words = synsets[offset].words
    found = []
    for number, target, target_number in synsets[offset].derivations:
        if number == 0 or words[number - 1] == lemma:
            linked = synsets[target].words
            found.extend(linked if target_number == 0 else (linked[target_number - 1],))
    return found


def build(root: Path, analyzer: Analyzer) -> dict[str, set[str]]:
    """Each term's related terms (the term itself left out)."""

    def term(word: str) -> str | None:
        terms = analyzer.analyze(word.replace("_", " "))
        return terms[0] if len(terms) == 1 else None

    synsets = read_synsets(root)
    related: dict[str, set[str]] = defaultdict(set)
    for lemma, by_pos in read_senses(root).items():
        source = term(lemma)
        if source is None:
            continue
        for offsets in by_pos:
            words = list(synsets[offsets[0]].words)
            for offset in offsets:
                words += derived_words(synsets, offset, lemma)
            for word in words:
                target = term(word) if rarity(word) >= COMMON else None
                if target is not None and target != source:
                    related[source].add(target)
    derived = {source: set(targets) for source, targets in related.items()}
    for name in PARTS_OF_SPEECH:
        for line in _lines(root / f"{name}.exc"):
            form, *bases = line.split()
            form_term = term(form)
            for base in bases:
                base_term = term(base)
                if form_term is None or base_term is None or form_term == base_term:
                    continue
                related[form_term].add(base_term)
                related[form_term].update(derived.get(base_term, set()) - {form_term})
                related[base_term].add(form_term)
    return related


def write(related: dict[str, set[str]], path: Path) -> None:
    """One line per term: the term, a tab, its related terms separated by spaces."""
    lines = "".join(
        f"{source}\t{' '.join(sorted(targets))}\n"
        for source, targets in sorted(related.items())
        if targets
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(lines.encode(), compresslevel=9, mtime=0))


def main() -> None:
    """Build the table from a folder of WordNet's database files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wordnet", type=Path, help="the folder of WordNet 3.0's database files")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    related = build(args.wordnet, Analyzer())
    write(related, args.output)
    pairs = sum(len(targets) for targets in related.values())
    print(f"{args.output}: {len(related):,} terms, {pairs:,} relations")


if __name__ == "__main__":
    main()
