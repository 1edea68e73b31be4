"""The engines the speed benchmark compares, each fed the same analyzed terms."""

from __future__ import annotations

import sqlite3

import numpy as np

from retrieval import DocumentRef, Sentence, SentenceIndex


class Engine:
    """Build over analyzed sentences, then return the rows of the top k for a query."""

    name = ""

    def setup(self, corpus: list[list[str]]) -> None:
        """Untimed preparation of the input (not part of building an index)."""

    def build(self, corpus: list[list[str]]) -> None:
        """Index the corpus (one list of terms per sentence)."""
        raise NotImplementedError

    def search(self, query: list[str], k: int) -> list[int]:
        """Rows of the best k sentences, best first."""
        raise NotImplementedError


class Verbatim(Engine):
    """Our ranker: SentenceIndex (exact BM25Okapi scores)."""

    name = "Verbatim SentenceIndex"

    def setup(self, corpus: list[list[str]]) -> None:
        # The sentences come from the store as they are read; building them is not indexing.
        document = DocumentRef(1, "bench", "bench")
        self.sentences = [Sentence(i, document, i + 1, "") for i in range(len(corpus))]

    def build(self, corpus: list[list[str]]) -> None:
        self.index = SentenceIndex(self.sentences, corpus)

    def search(self, query: list[str], k: int) -> list[int]:
        return [sentence.id for sentence, _ in self.index.search(query, k)]

    def scored(self, query: list[str], k: int) -> list[tuple[int, float]]:
        """Rows and scores."""
        return [(sentence.id, score) for sentence, score in self.index.search(query, k)]


class RankBM25(Engine):
    """rank-bm25's BM25Okapi.get_top_n (what Verbatim used to call)."""

    name = "rank-bm25 get_top_n"

    def build(self, corpus: list[list[str]]) -> None:
        from rank_bm25 import BM25Okapi

        self.bm25 = BM25Okapi(corpus)
        self.rows = list(range(len(corpus)))

    def search(self, query: list[str], k: int) -> list[int]:
        return self.bm25.get_top_n(query, self.rows, n=k)


class BM25S(Engine):
    """bm25s, method "robertson" (its closest to BM25Okapi), k1=1.5, b=0.75."""

    name = "bm25s (robertson)"

    def build(self, corpus: list[list[str]]) -> None:
        import bm25s

        self.retriever = bm25s.BM25(k1=1.5, b=0.75, method="robertson")
        self.retriever.index(corpus, show_progress=False)
        self.vocabulary = self.retriever.vocab_dict

    def search(self, query: list[str], k: int) -> list[int]:
        ids = [self.vocabulary[t] for t in query if t in self.vocabulary]
        if not ids:
            return []
        scores = self.retriever.get_scores(ids)
        touched = np.flatnonzero(scores)
        if len(touched) > k:
            touched = touched[np.argpartition(-scores[touched], k)[:k]]
        return touched[np.argsort(-scores[touched], kind="stable")].tolist()


class Tantivy(Engine):
    """tantivy (Rust, index in RAM), whitespace tokenizer over our terms, OR query."""

    name = "tantivy (in RAM)"

    def build(self, corpus: list[list[str]]) -> None:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        builder.add_integer_field("row", stored=True, fast=True)
        self.index = tantivy.Index(builder.build())
        writer = self.index.writer(heap_size=500_000_000, num_threads=2)
        for row, terms in enumerate(corpus):
            writer.add_document(tantivy.Document(body=" ".join(terms), row=row))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self._rows: dict[tuple[int, int], int] = {}

    def search(self, query: list[str], k: int) -> list[int]:
        import tantivy

        parsed = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self.index.schema, "body", t))
                for t in query
            ]
        )
        hits = self.searcher.search(parsed, k).hits
        return [self._row(address) for _, address in hits]

    def _row(self, address: object) -> int:
        key = (address.segment_ord, address.doc)  # type: ignore[attr-defined]
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = self.searcher.doc(address)["row"][0]
        return row


class FTS5(Engine):
    """SQLite FTS5 (in memory) ranked by bm25(), our terms as space-separated tokens."""

    name = "SQLite FTS5 bm25()"

    def build(self, corpus: list[list[str]]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE t USING fts5(body, tokenize = \"unicode61 tokenchars '.'\")"
        )
        self.db.executemany(
            "INSERT INTO t (rowid, body) VALUES (?, ?)",
            ((row, " ".join(terms)) for row, terms in enumerate(corpus)),
        )
        self.db.commit()

    def search(self, query: list[str], k: int) -> list[int]:
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in query)
        rows = self.db.execute(
            "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?", (match, k)
        ).fetchall()
        return [row[0] for row in rows]
