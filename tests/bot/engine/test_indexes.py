"""The library's indexes stay bit-for-bit BM25Okapi as documents come and go, and on restart."""

from __future__ import annotations

from bot.config import RetrievalSettings
from bot.engine.library import Library
from bot.store import GLOBAL_SCOPE, open_store
from retrieval import Analyzer
from tests.conftest import SEEDS
from tests.retrieval.bm25_reference import expected_top, guarded_bm25


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
