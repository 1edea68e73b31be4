"""Answer latency with the embedder and the reader at 100,000 sentences, beside words only.

    python benchmarks/speed_reader.py [--sentences 100000] [--questions 300]
                                      [--beside FILE --beside-pool 8+3]

The corpus: SQuAD v1.1 dev's articles split by Verbatim (about 12,000 real sentences), then
perturbed copies of them up to --sentences (speed_corpus.perturbed_copies: real words and
lengths, new combinations). The real sentences get the embedder's vectors; the copies get
random unit vectors (their values do not change the work, and embedding 88,000 sentences would
take minutes). The questions: SQuAD's own, real questions people wrote. Each is answered by
answer_question as the library calls it (embedding the question and comparing it with the
vectors included): words only, with everything as shipped, round 9's way (numpy's BLAS on two
threads) and round 8's way (BLAS on two threads, every vector compared in full, the reader's
pool 8 + 3), in turns of 20 questions under each, on the answering thread (the reader uses two
cores); p50/p95/p99 in milliseconds. Then the shipped path as a quiet server meets it: each
question after a pause. Also: the embedder's speed, where a shipped answer's time goes
(embedding the question, comparing it with the vectors, the reader, the rest) with the
reader's pool at its size and others (how many candidates it reads is what its time follows),
and how often the shortlist of the vectors (retrieval.semantic) finds the exact nearest over
the real sentences. --beside times another reader file (say, the last shipped one) with its
own pool in the same run, in the same turns.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from decision_learn import squad2_articles
from quality_data import load_selqa, load_squad
from speed_corpus import analyze_all, perturbed_copies
from threadpoolctl import threadpool_limits

from bot.config import RetrievalSettings
from retrieval.analyzer import Analyzer
from retrieval.answer import Decision, answer_question
from retrieval.build_reader import reader_of_file
from retrieval.embedder import DIMENSIONS, Embedder
from retrieval.index import SentenceIndex
from retrieval.reader import Reader
from retrieval.semantic import SentenceVectors
from retrieval.types import DocumentRef, Sentence

QUESTIONS_A_RUN = 20
QUESTIONS_AFTER_A_PAUSE = 100
# OpenBLAS's threads spin for 2**28 cycles after a product (THREAD_TIMEOUT in its
# blas_server.c): about a tenth of a second here.
BLAS_SPIN_SECONDS = 0.3


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--beside", type=Path, help="another reader-int8.onnx to time beside")
    parser.add_argument("--beside-pool", default="8+3", help="its pool + nearest_pool")
    args = parser.parse_args()
    articles = load_squad()
    real = [s for article in articles for s in article.sentences]
    texts = perturbed_copies(real, args.sentences)[: args.sentences]
    ref = DocumentRef(1, "corpus", "")
    settings = RetrievalSettings()
    index = SentenceIndex(
        [Sentence(i, ref, i + 1, t) for i, t in enumerate(texts)],
        analyze_all(texts),
        k1=settings.k1,
        b=settings.b,
    )
    index.prepare()
    analyzer = Analyzer()
    questions = [q.text for article in articles for q in article.questions]
    questions = random.Random(5).sample(questions, args.questions)
    reader = Reader()
    reader.load()
    embedder = Embedder()
    started = time.perf_counter()
    real_vectors = embedder.embed(real[: len(texts)])
    embed_rate = len(real_vectors) / (time.perf_counter() - started)
    sample = real[:4000]
    started = time.perf_counter()
    embedded_on_two_threads(embedder, sample)
    embed_rate_two = len(sample) / (time.perf_counter() - started)
    rng = np.random.default_rng(3)
    copies = rng.standard_normal((len(texts) - len(real_vectors), DIMENSIONS)).astype(np.float32)
    copies /= np.linalg.norm(copies, axis=1, keepdims=True)
    vectors = SentenceVectors.of(index.sentences, [*real_vectors, *copies])
    # Round 8's way, beside it: the question compared with every vector.
    every_vector = SentenceVectors.of(
        index.sentences, [*real_vectors, *copies], exact_up_to=len(texts)
    )
    decision = settings.decision()
    weights = settings.rerank_weights()

    beside: Reader | None = None
    if args.beside:
        beside = reader_of_file(args.beside)
        beside.load()
        pool, nearest_pool = (int(n) for n in args.beside_pool.split("+"))
        beside_decision = dataclasses.replace(decision, pool=pool, nearest_pool=nearest_pool)

    def answer(
        question: str,
        everything: bool,
        chosen: Decision = decision,
        using: Reader = reader,
        table: SentenceVectors = vectors,
    ) -> None:
        semantic = (
            table.meaning(embedder.embed([question])[0], chosen.nearest) if everything else None
        )
        answer_question(
            question,
            index,
            analyzer,
            top_k=settings.top_k,
            min_confidence=settings.min_confidence if everything else 0.3,
            weights=weights,
            reader=using if everything else None,
            decision=chosen,
            semantic=semantic,
        )

    def on_two_blas_threads(path: Callable[[str], None], question: str) -> None:
        with threadpool_limits(limits=2, user_api="blas"):
            path(question)

    paths: dict[str, Callable[[str], None]] = {
        "words only": partial(answer, everything=False),
        "embedder and reader (shipped)": partial(answer, everything=True),
        "round 9's way: numpy's BLAS on two threads": partial(
            on_two_blas_threads, partial(answer, everything=True)
        ),
        "round 8's way: BLAS on two threads, every vector compared, pool 8 + 3": partial(
            on_two_blas_threads,
            partial(
                answer,
                everything=True,
                chosen=dataclasses.replace(decision, pool=8, nearest_pool=3),
                table=every_vector,
            ),
        ),
    }
    if beside is not None:
        paths[f"embedder and {args.beside.name} at {args.beside_pool} (beside)"] = partial(
            answer, everything=True, chosen=beside_decision, using=beside
        )
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for question in questions[:10]:  # warm-up
        for path in paths.values():
            path(question)
    # A run of questions under one path, then under the next: numpy's BLAS threads, once a
    # path has woken them, spin on into whatever comes next, so that each path pays for its
    # own threads only, as a busy server would. Short runs, every path in turn, so that the
    # machine's slow moments fall on all of them alike.
    for start in range(0, len(questions), QUESTIONS_A_RUN):
        for name, path in paths.items():
            time.sleep(BLAS_SPIN_SECONDS)  # the last run's threads stop spinning first
            # Untimed, a question of the last turn: the first answer after a pause is slower
            # (the cores have gone to sleep), which the quiet server's figure below measures.
            path(questions[start - 1])
            for question in questions[start : start + QUESTIONS_A_RUN]:
                started = time.perf_counter()
                path(question)
                timings[name].append((time.perf_counter() - started) * 1000)
    # A quiet server: each question after a pause, when the cores have gone to sleep.
    after_a_pause: list[float] = []
    for question in questions[:QUESTIONS_AFTER_A_PAUSE]:
        time.sleep(BLAS_SPIN_SECONDS)
        started = time.perf_counter()
        paths["embedder and reader (shipped)"](question)
        after_a_pause.append((time.perf_counter() - started) * 1000)
    print(
        f"embedder: {embed_rate:,.0f} sentences/s on one thread ({len(real_vectors):,} real), "
        f"{embed_rate_two:,.0f}/s on two (as the library embeds in the background)"
    )
    print(f"{len(texts):,} sentences, {len(questions)} SQuAD questions, one thread")
    print("| path | mean ms | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name, samples in timings.items():
        print(
            f"| {name} | {statistics.fmean(samples):.1f} | {percentile(samples, 0.5):.1f} "
            f"| {percentile(samples, 0.95):.1f} | {percentile(samples, 0.99):.1f} |"
        )
    print(
        f"\nShipped, each question {BLAS_SPIN_SECONDS} s after the last (a quiet server), "
        f"{len(after_a_pause)} questions: p50 {percentile(after_a_pause, 0.5):.1f} ms, "
        f"p95 {percentile(after_a_pause, 0.95):.1f} ms"
    )
    print()

    print(where_the_time_goes(questions, partial(answer, everything=True), reader, decision))
    print()
    print(embedding_parts(questions, embedder, vectors))
    with threadpool_limits(limits=2, user_api="blas"):  # as round 8 compared every vector
        print(embedding_parts(questions, embedder, every_vector))
    print()
    print(shortlist_recall(questions, embedder, real[: len(real_vectors)], real_vectors, ref))
    print(
        shortlist_recall(
            questions, embedder, *more_real_sentences(real, real_vectors, embedder), ref
        )
    )


def where_the_time_goes(
    questions: list[str],
    answer: Callable[..., None],
    reader: Reader,
    decision: Decision,
) -> str:
    """A shipped answer's milliseconds by part, with the reader's pool shrunk step by step."""
    read = reader.score
    spent: list[float] = []
    pairs: list[float] = []

    def timed(question: str, passages: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        logits = read(question, passages)
        spent.append((time.perf_counter() - started) * 1000)
        pairs.append(len(passages))
        return logits

    lines = [
        "Where a shipped answer's time goes (p50 ms; the reader's pool: the re-ranker's best "
        "`pool` and the embedder's nearest `nearest_pool`):",
        "",
        "| pool + nearest_pool | pairs read (p50) | reader | whole answer | whole answer p99 |",
        "|---|---|---|---|---|",
    ]
    shipped = (decision.pool, decision.nearest_pool)
    # The shipped pool first, then round 6's (10 + 5) and smaller ones.
    pools = [shipped, *(p for p in ((10, 5), (8, 3), (6, 2), (5, 1)) if p != shipped)]
    chosen = [dataclasses.replace(decision, pool=p, nearest_pool=n) for p, n in pools]
    read_ms: list[list[float]] = [[] for _ in pools]
    read_pairs: list[list[float]] = [[] for _ in pools]
    whole: list[list[float]] = [[] for _ in pools]
    reader.score = timed  # type: ignore[method-assign]
    try:
        # Interleaved, each question under every pool in turn (the order rotating), so that
        # the machine's slow moments fall on all of them alike.
        for number, question in enumerate(questions):
            for step in range(len(pools)):
                which = (number + step) % len(pools)
                spent.clear()
                pairs.clear()
                started = time.perf_counter()
                answer(question, chosen=chosen[which])
                whole[which].append((time.perf_counter() - started) * 1000)
                read_ms[which] += spent
                read_pairs[which] += pairs
    finally:
        reader.score = read  # type: ignore[method-assign]
    for (pool, nearest_pool), reading, counts, times in zip(
        pools, read_ms, read_pairs, whole, strict=True
    ):
        lines.append(
            f"| {pool} + {nearest_pool} | {percentile(counts, 0.5):.0f} "
            f"| {percentile(reading, 0.5):.1f} | {percentile(times, 0.5):.1f} "
            f"| {percentile(times, 0.99):.1f} |"
        )
    return "\n".join(lines)


def embedding_parts(questions: list[str], embedder: Embedder, vectors: SentenceVectors) -> str:
    """The question's vector, and its comparison with the sentences' vectors (p50 ms)."""
    embedding, comparing = [], []
    for question in questions:
        started = time.perf_counter()
        vector = embedder.embed([question])[0]
        embedded = time.perf_counter()
        vectors.meaning(vector, 10)
        comparing.append((time.perf_counter() - embedded) * 1000)
        embedding.append((embedded - started) * 1000)
    how = "every vector" if vectors.axes is None else "the vectors by their shortlist"
    return (
        f"Embedding the question: {percentile(embedding, 0.5):.1f} ms; comparing it with "
        f"{how} ({len(vectors):,}): {percentile(comparing, 0.5):.1f} ms (p50)."
    )


def more_real_sentences(
    real: Sequence[str], real_vectors: np.ndarray, embedder: Embedder
) -> tuple[list[str], np.ndarray]:
    """SQuAD v1.1's, SQuAD 2.0's tuning half's and SelQA's sentences, with their vectors.

    About 28,000 real sentences: the shortlist measured at a larger scale than SQuAD's alone.
    SQuAD v1.1's (`real`) keep the vectors already made for them (`real_vectors`, a row each):
    a text is embedded on its own, so making them again would give the same rows.
    """
    first: dict[str, int] = {}
    for row, text in enumerate(real[: len(real_vectors)]):
        first.setdefault(text, row)
    more = [s for _, _, article in squad2_articles() for s in article.sentences]
    more += [c for split in ("dev", "test") for q in load_selqa(split) for c in q.candidates]
    new = [text for text in dict.fromkeys(more) if text not in first]
    known = real_vectors[list(first.values())]
    return [*first, *new], np.vstack([known, embedded_on_two_threads(embedder, new)])


def embedded_on_two_threads(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """The texts' vectors, made as the library makes them in the background.

    Two batches of 16 at once, a thread (a core) each.
    """
    with ThreadPoolExecutor(2) as pool:
        chunks = [texts[i : i + 16] for i in range(0, len(texts), 16)]
        return np.vstack(list(pool.map(embedder.embed, chunks)))


def shortlist_recall(
    questions: list[str],
    embedder: Embedder,
    texts: Sequence[str],
    vectors: np.ndarray,
    ref: DocumentRef,
) -> str:
    """How often the shortlist finds the exact nearest, over the real sentences' vectors only.

    The copies' random vectors would make it look easy: they are near no question.
    """
    sentences = [Sentence(i, ref, i + 1, t) for i, t in enumerate(texts)]
    listed = SentenceVectors.of(sentences, list(vectors), exact_up_to=0)
    exact = SentenceVectors.of(sentences, list(vectors), exact_up_to=len(sentences))
    nearest = RetrievalSettings().decision().nearest
    same = found = 0
    for question in questions:
        vector = embedder.embed([question])[0]
        shortlisted = [s.id for s, _ in listed.meaning(vector, nearest).nearest]
        truth = [s.id for s, _ in exact.meaning(vector, nearest).nearest]
        same += shortlisted == truth
        found += len(set(shortlisted) & set(truth))
    return (
        f"The shortlist over the {len(sentences):,} real sentences alone: the same nearest "
        f"{nearest} as comparing every vector for {same} of {len(questions)} questions; "
        f"{100 * found / (nearest * len(questions)):.2f}% of the exact nearest found."
    )


if __name__ == "__main__":
    main()
