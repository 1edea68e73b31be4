"""WordNet's related terms: the shipped table, and the builder on a small WordNet of our own."""

import gzip

from retrieval import Analyzer
from retrieval.build_related import build, write
from retrieval.related import related

HEADER = "  1 This software and database is being provided to you, the LICENSEE, by\n"

# Files in WordNet 3.0's database format (wndb(5WN)): a first sense of "invent" with a
# synonym and a derivation, a second sense whose synonym must not count, a multi-word lemma,
# a word common in English, and an irregular form.
WORDNET = {
    "data.verb": [
        "00000001 36 v 02 invent 0 contrive 0 001 + 00000010 n 0101 | come up with",
        "00000002 32 v 02 invent 1 fabricate 0 000 | make up a story",
        "00000003 40 v 01 buy 0 001 + 00000011 n 0101 | obtain by purchase",
    ],
    "data.noun": [
        "00000010 18 n 01 inventor 0 001 + 00000001 v 0101 | someone who invents",
        "00000011 18 n 01 buyer 0 001 + 00000003 v 0101 | a person who buys",
        "00000012 15 n 02 United_States 0 America 0 000 | a country",
    ],
    "data.adj": [
        "00000020 00 a 01 large 0 001 ! 00000021 a 0101 | above average in size",
        "00000021 00 a 01 small 0 001 ! 00000020 a 0101 | limited in size",
    ],
    "data.adv": [],
    "index.verb": [
        "buy v 1 1 + 1 1 00000003",
        "contrive v 1 0 1 0 00000001",
        "fabricate v 1 0 1 0 00000002",
        "invent v 2 1 + 2 1 00000001 00000002",
    ],
    "index.noun": [
        "america n 1 0 1 0 00000012",
        "buyer n 1 1 + 1 0 00000011",
        "inventor n 1 1 + 1 0 00000010",
        "united_states n 1 0 1 0 00000012",
    ],
    "index.adj": [
        "large a 1 1 ! 1 0 00000020",
        "small a 1 1 ! 1 0 00000021",
    ],
    "index.adv": [],
    "verb.exc": ["bought buy"],
    "noun.exc": [],
    "adj.exc": [],
    "adv.exc": [],
}


def test_the_shipped_table_relates_synonyms_derivations_and_irregular_forms():
    assert "inventor" in related("invent")
    assert "invent" in related("inventor")
    assert "purchas" in related("buy")
    # An irregular form takes its base and the base's relations.
    assert {"buy", "purchas"} <= set(related("bought"))
    assert related("invent") == tuple(sorted(related("invent")))
    assert related("xqzv") == ()


def test_build_reads_first_senses_derivations_and_exceptions(tmp_path):
    for name, lines in WORDNET.items():
        (tmp_path / name).write_text(HEADER + "".join(line + "\n" for line in lines))
    table = build(tmp_path, Analyzer())
    assert table == {
        "invent": {"contriv", "inventor"},
        "contriv": {"invent"},
        "fabric": {"invent"},
        "inventor": {"invent"},
        "buy": {"buyer", "bought"},
        # "buy" is too common in English to be another word's derivation; "bought" still
        # relates to it as its base.
        "bought": {"buy", "buyer"},
    }
    output = tmp_path / "related.tsv.gz"
    write(table, output)
    assert gzip.decompress(output.read_bytes()).decode().splitlines()[:2] == [
        "bought\tbuy buyer",
        "buy\tbought buyer",
    ]
    first = output.read_bytes()
    write(table, output)
    assert output.read_bytes() == first
