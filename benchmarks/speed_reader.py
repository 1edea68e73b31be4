"""Answer latency with the reader, at 100,000 sentences, beside the words-only path, one run.

    python benchmarks/speed_reader.py [--sentences 100000] [--questions 300]

The corpus: SQuAD v1.1 dev's articles split by Verbatim (about 12,000 real sentences), then
perturbed copies of them up to --sentences (speed_corpus.perturbed_copies: real words and
lengths, new combinations). The questions: SQuAD's own, real questions people wrote. Each is
answered by answer_question as the library calls it, once without the reader and once with
it, alternating, on one thread; p50/p95/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from quality_data import load_squad
from speed_corpus import analyze_all, perturbed_copies

from bot.config import RetrievalSettings
from retrieval.analyzer import Analyzer
from retrieval.answer import answer_question
from retrieval.index import SentenceIndex
from retrieval.reader import Reader
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
    decision = settings.decision()
    weights = settings.rerank_weights()
    timings: dict[str, list[float]] = {"words only": [], "with the reader": []}
    for question in questions[:10]:  # warm-up
        answer_question(question, index, analyzer, reader=reader, decision=decision)
    for question in questions:
        for name, use in (("words only", None), ("with the reader", reader)):
            started = time.perf_counter()
            answer_question(
                question,
                index,
                analyzer,
                top_k=settings.top_k,
                min_confidence=0.3 if use is None else settings.min_confidence,
                weights=weights,
                reader=use,
                decision=decision,
            )
            timings[name].append((time.perf_counter() - started) * 1000)
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
