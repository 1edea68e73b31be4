"""Every score SentenceIndex returns is bit-for-bit BM25Okapi.get_scores; top-k ties by order.

Over one segment or several, with removals and merges, and through the library as it adds,
replaces and removes documents. The reference is rank-bm25 (tests/retrieval/bm25_reference.py).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.config import RetrievalSettings
from bot.engine.library import Library
from bot.store import GLOBAL_SCOPE, open_store
from retrieval import Analyzer, DocumentRef, Sentence, SentenceIndex
from retrieval.postings import Segment
from retrieval.term_table import followers
from tests.conftest import SEEDS
from tests.retrieval.bm25_reference import (
    WORDS,
    assert_exact,
    expected_top,
    guarded_bm25,
    make_sentences,
    random_corpus,
)


def test_empty_corpus_finds_nothing_and_does_not_crash():
    index = SentenceIndex([], [])
    assert index.search(["anything"], 3) == []
    assert index.idf("anything") == 0.0
    assert len(index) == 0


def test_sentences_without_terms_find_nothing():
    corpus: list[list[str]] = [[], []]
    index = SentenceIndex(make_sentences(corpus), corpus)
    assert index.search(["w1"], 3) == []


@pytest.mark.parametrize("seed", range(6))
def test_random_small_corpora_match_rank_bm25_exactly(seed):
    rng = random.Random(seed)
    for _ in range(40):
        corpus = random_corpus(rng, rng.randint(1, 40))
        index = SentenceIndex(make_sentences(corpus), corpus)
        bm25 = guarded_bm25(corpus) if any(corpus) else None
        for _ in range(8):
            query = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
            assert_exact(index, bm25, query, rng.randint(1, 6))


def test_ties_go_to_the_earlier_sentence():
    corpus = [["x", "y"]] * 7 + [["z"]] * 8
    index = SentenceIndex(make_sentences(corpus), corpus)
    assert [s.id for s, _ in index.search(["x"], 3)] == [0, 1, 2]
    assert_exact(index, guarded_bm25(corpus), ["x", "z"], 9)


def test_segments_with_removals_and_merges_equal_one_fresh_collection():
    rng = random.Random(7)
    next_id = 0
    for _ in range(60):
        documents: dict[int, list[tuple[Sentence, list[str]]]] = {}
        for number in range(1, rng.randint(2, 9)):
            ref = DocumentRef(number, "t", "s")
            rows = []
            for position in range(1, rng.randint(2, 7)):
                next_id += 1
                terms = random_corpus(rng, 1, 30)[0]
                rows.append((Sentence(next_id, ref, position, "x"), terms))
            documents[number] = rows
        ids = list(documents)
        rng.shuffle(ids)  # segments need not be in document order
        cut = rng.randint(1, len(ids))
        segments = []
        for group in (ids[:cut], ids[cut:]):
            rows = [row for number in group for row in documents[number]]
            if rows:
                segments.append(Segment.build([s for s, _ in rows], [t for _, t in rows]))
        removed = set(rng.sample(ids, rng.randint(0, len(ids) - 1)))
        for number in removed:
            segments = [segment.without(number) for segment in segments]
        if rng.random() < 0.4:
            segments = [Segment.merge(segments)]
        live = [
            row
            for number in sorted(documents)
            if number not in removed
            for row in documents[number]
        ]
        corpus = [terms for _, terms in live]
        bm25 = guarded_bm25(corpus) if any(corpus) else None
        index = SentenceIndex.from_segments(segments)
        for prepared in (False, True):
            if prepared:
                index.prepare()
            for _ in range(4):
                query = [rng.choice(WORDS[:30]) for _ in range(rng.randint(1, 3))]
                k = rng.randint(1, 5)
                got = [(s.id, v) for s, v in index.search(query, k)]
                want = [(live[i][0].id, v) for i, v in expected_top(bm25, query, k)]
                assert got == want
                assert_followers_exact(index, bm25, live, query)


def assert_followers_exact(index, bm25, live, query):
    """Each live sentence's follower is the next one of its document, scored as rank-bm25 does."""
    scores = bm25.get_scores(query) if bm25 is not None else np.zeros(len(live))
    for row, (sentence, _) in enumerate(live):
        following = live[row + 1][0] if row + 1 < len(live) else None
        if following is not None and following.document.id != sentence.document.id:
            following = None
        expected = [] if following is None else [(following.id, float(scores[row + 1]))]
        got = [(s.id, score) for s, score in followers(index, [sentence], query)]
        assert got == expected, query


async def library_matches_rank_bm25(library: Library, scope: int, queries: list[str]) -> None:
    """The library's answers in a scope equal BM25Okapi over global + scope, in document order."""
    store = library.store
    rows = [row for row, _ in await store.scope_sentences_with_terms(GLOBAL_SCOPE)]
    if scope != GLOBAL_SCOPE:
        rows += [row for row, _ in await store.scope_sentences_with_terms(scope)]
    rows.sort(key=lambda row: (row.document_id, row.position))
    analyzer = library.analyzer
    corpus = [analyzer.analyze(row.text) for row in rows]
    settings = library.settings
    bm25 = guarded_bm25(corpus, settings.k1, settings.b) if any(corpus) else None
    index = await library.index(scope)
    assert len(index) == len(rows)
    for question in queries:
        terms = analyzer.analyze(question)
        got = [(s.id, v) for s, v in index.search(terms, 5)]
        want = [(rows[i].id, v) for i, v in expected_top(bm25, terms, 5)]
        assert got == want, question


QUESTIONS = [
    "how many Special Operations forces?",
    "coalition meeting against ISIS",
    "the river flows to the sea",
    "sea salt and river stones",
    "stones in the garden",
    "what does the lighthouse keeper do at night",
]


TEXT_A = "The river flows to the sea. Salt comes from the sea. Stones sit in the river bed."


TEXT_B = "A lighthouse keeper works at night. The keeper watches the sea. Ships pass the stones."


TEXT_C = "Gardens need stones and water. The river feeds the garden. Night falls on the garden."


async def test_library_adds_replaces_and_removes_stay_exact(db_path):
    async with open_store(db_path) as store:
        library = Library(store, RetrievalSettings(), Analyzer())
        await library.seed(SEEDS)
        await library.load()
        await library_matches_rank_bm25(library, 5, QUESTIONS)
        a = await library.documents.add(5, TEXT_A.encode(), filename="a.txt")
        b = await library.documents.add(5, TEXT_B.encode(), filename="b.txt")
        await library.documents.add(9, TEXT_C.encode(), filename="c.txt")  # another scope
        assert a is not None and b is not None
        await library_matches_rank_bm25(library, 5, QUESTIONS)
        await library_matches_rank_bm25(library, 9, QUESTIONS)
        await library.documents.replace(5, a.id, TEXT_C.encode(), filename="a2.txt")
        await library_matches_rank_bm25(library, 5, QUESTIONS)
        await library.documents.remove(5, b.id)
        await library_matches_rank_bm25(library, 5, QUESTIONS)
        await library.documents.add(GLOBAL_SCOPE, TEXT_B.encode(), filename="g.txt")
        await library_matches_rank_bm25(library, 5, QUESTIONS)
        await library_matches_rank_bm25(library, GLOBAL_SCOPE, QUESTIONS)
        # Many small adds: more segments than the limit start a background merge.
        for number in range(12):
            text = f"Note {number} about the river and stone number {number}. Sea {number}."
            await library.documents.add(5, text.encode(), filename=f"n{number}.txt")
        await library_matches_rank_bm25(library, 5, QUESTIONS)
        await library.settle()
        assert len(library.indexes.own_segments(5)) <= 8  # merged in the background
        await library_matches_rank_bm25(library, 5, QUESTIONS)
    # A restart reads the cached terms and ranks the same.
    async with open_store(db_path) as store:
        restarted = Library(store, RetrievalSettings(), Analyzer())
        await restarted.load()
        await library_matches_rank_bm25(restarted, 5, QUESTIONS)
        await library_matches_rank_bm25(restarted, 9, QUESTIONS)
        await restarted.settle()


async def test_cached_terms_are_dropped_when_the_analyzer_changes(db_path):
    async with open_store(db_path) as store:
        library = Library(store, RetrievalSettings())
        await library.load()
        await library.documents.add(1, TEXT_A.encode(), filename="a.txt")
        await store.set_meta("terms_analyzer", "an older analyzer")
        await store.save_sentence_terms(
            [(row.id, "stale") for row, _ in await store.scope_sentences_with_terms(1)]
        )
        fresh = Library(store, RetrievalSettings())
        await fresh.load()
        cached = [terms for _, terms in await store.scope_sentences_with_terms(1)]
        assert "stale" not in cached and all(terms is not None for terms in cached)
        await library_matches_rank_bm25(fresh, 1, QUESTIONS)
