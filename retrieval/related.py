"""The terms WordNet relates to a term: first-sense synonyms, derivations, irregular forms.

A question often words its answer's sentence differently: "Who invented ..." against "... its
inventor was", "what did they buy" against "they bought". The re-ranker counts a question term
the sentence lacks as partly met when the sentence holds a term related to it here
(RerankWeights.related; benchmarks/results/quality.md, round 5). The table is derived from
WordNet 3.0 by retrieval/build_related.py and ships in the package (data/, with WordNet's
licence), keyed by the default analyzer's terms (English Snowball stems, stop words left out):
nothing downloads. It is read when this module is imported (about 0.1 s, 7 MB).
"""

from __future__ import annotations

import gzip
import sys
from importlib import resources

_EMPTY: tuple[str, ...] = ()


def _load() -> dict[str, tuple[str, ...]]:
    """The shipped table: each term with its related terms, sorted."""
    data = resources.files("retrieval").joinpath("data/related.tsv.gz").read_bytes()
    table = {}
    for line in gzip.decompress(data).decode().splitlines():
        term, targets = line.split("\t")
        # Interned: the same terms recur across entries (7 MB rather than 11).
        table[sys.intern(term)] = tuple(sys.intern(target) for target in targets.split(" "))
    return table


# Loaded at import, as retrieval.rarity is: the first question is as fast as the rest.
_TABLE = _load()


def related(term: str) -> tuple[str, ...]:
    """The terms WordNet relates to an analyzer term, sorted (none for a word it lacks)."""
    return _TABLE.get(term, _EMPTY)
