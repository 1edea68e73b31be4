"""Answer latency with the embedder and the reader at 100,000 sentences, beside words only.

    python benchmarks/speed_reader.py [--sentences 100000] [--questions 300]

The corpus: SQuAD v1.1 dev's articles split by Verbatim (about 12,000 real sentences), then
perturbed copies of them up to --sentences (speed_corpus.perturbed_copies: real words and
lengths, new combinations). The real sentences get the embedder's vectors; the copies get
random unit vectors (their values do not change the work, and embedding 88,000 sentences would
take minutes). The questions: SQuAD's own, real questions people wrote. Each is answered by
answer_question as the library calls it (embedding the question and comparing it with every
vector included), once words-only and once with everything, alternating, on the answering thread
(the reader uses two cores); p50/p95/p99 in milliseconds. Also: the embedder's speed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from quality_data import load_squad
from speed_corpus import analyze_all, perturbed_copies

from bot.config import RetrievalSettings
from retrieval.analyzer import Analyzer
from retrieval.answer import answer_question
from retrieval.embedder import DIMENSIONS, Embedder
from retrieval.index import SentenceIndex
from retrieval.reader import Reader
from retrieval.semantic import SentenceVectors
from retrieval.types import DocumentRef, Sentence


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=300)
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
    # As the library embeds in the background: two batches at once, a thread (a core) each.
    sample = real[:4000]
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(embedder.embed, [sample[i : i + 16] for i in range(0, len(sample), 16)]))
    embed_rate_two = len(sample) / (time.perf_counter() - started)
    rng = np.random.default_rng(3)
    copies = rng.standard_normal((len(texts) - len(real_vectors), DIMENSIONS)).astype(np.float32)
    copies /= np.linalg.norm(copies, axis=1, keepdims=True)
    vectors = SentenceVectors.of(index.sentences, [*real_vectors, *copies])
    decision = settings.decision()
    weights = settings.rerank_weights()

    def answer(question: str, everything: bool) -> None:
        semantic = (
            vectors.meaning(embedder.embed([question])[0], decision.nearest)
            if everything
            else None
        )
        answer_question(
            question,
            index,
            analyzer,
            top_k=settings.top_k,
            min_confidence=settings.min_confidence if everything else 0.3,
            weights=weights,
            reader=reader if everything else None,
            decision=decision,
            semantic=semantic,
        )

    timings: dict[str, list[float]] = {"words only": [], "embedder and reader (shipped)": []}
    for question in questions[:10]:  # warm-up
        answer(question, True)
    for question in questions:
        for name, everything in (("words only", False), ("embedder and reader (shipped)", True)):
            started = time.perf_counter()
            answer(question, everything)
            timings[name].append((time.perf_counter() - started) * 1000)
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


if __name__ == "__main__":
    main()
