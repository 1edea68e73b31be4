"""Fit the re-ranking weights on the tuning data only: SelQA dev and the even SQuAD articles.

    python benchmarks/quality_learn.py            # ~3 minutes on one core

Every candidate's features come from retrieval.rerank.candidate_features, so the fitted
weights drop straight into RerankWeights. The model is linear; it is fitted with a listwise
softmax loss (the correct sentences' share of each question's softmax), by Adam in numpy.
The held-out SQuAD half and SelQA test are only evaluated, never fitted on. Figures here break
ties by a fixed tiny random jitter, so they differ from quality.py's in the third decimal.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
from quality_data import load_selqa, load_squad
from quality_rank import Engine, EngineConfig

from retrieval.answer import question_weights
from retrieval.rerank import FEATURES, Question, RerankWeights, candidate_features


@dataclass
class Lists:
    """Questions' candidate lists, padded: features (q x n x d), labels and a mask (q x n)."""

    features: np.ndarray
    labels: np.ndarray
    mask: np.ndarray


def question_list(
    engine: Engine, text: str, subset: list[int] | None, answers: frozenset[int], depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """One question's candidates (BM25's best `depth` and followers, or the subset)."""
    bm25 = engine.bm25(text)
    if subset is None:
        order = np.argsort(-bm25, kind="stable")[:depth]
        subset = engine.candidates(text, bm25, order[bm25[order] > 0].tolist())
    candidates = [(engine.sentences[i], float(bm25[i])) for i in subset]
    asked = Question.of(text, engine.analyzer)
    features = candidate_features(
        asked, candidates, engine.index, question_weights(asked, engine.index)
    )
    return features, np.array([i in answers for i in subset], dtype=bool)


def pad(items: list[tuple[np.ndarray, np.ndarray]]) -> Lists:
    """Stack ragged candidate lists into padded arrays."""
    width = max(1, max(len(labels) for _, labels in items))
    features = np.zeros((len(items), width, len(FEATURES)))
    labels = np.zeros((len(items), width), dtype=bool)
    mask = np.zeros((len(items), width), dtype=bool)
    for row, (x, y) in enumerate(items):
        features[row, : len(y)] = x
        labels[row, : len(y)] = y
        mask[row, : len(y)] = True
    return Lists(features, labels, mask)


def collect(depth: int, k1: float = 0.9, b: float = 0.75) -> dict[str, Lists]:
    """Candidate lists of SQuAD (article and paragraph level, both halves) and SelQA."""
    config = EngineConfig("learn", k1=k1, b=b)
    analyzer = config.analyzer()
    items: dict[str, list] = {key: [] for key in ("even", "odd", "para_even", "para_odd")}
    for position, article in enumerate(load_squad()):
        engine = Engine(article.sentences, config, analyzer)
        half = "even" if position % 2 == 0 else "odd"
        for q in article.questions:
            items[half].append(question_list(engine, q.text, None, q.answers, depth))
            paragraph = list(q.paragraph)
            items["para_" + half].append(question_list(engine, q.text, paragraph, q.answers, 0))
    for split in ("dev", "test"):
        groups: dict[str, list] = {}
        for question in load_selqa(split):
            groups.setdefault(question.article, []).append(question)
        found = []
        for group in groups.values():
            sentences = list(dict.fromkeys(s for q in group for s in q.candidates))
            position_of = {s: i for i, s in enumerate(sentences)}
            engine = Engine(sentences, config, analyzer)
            for q in group:
                subset = [position_of[s] for s in q.candidates]
                answers = frozenset(subset[a] for a in q.answers)
                found.append(question_list(engine, q.text, subset, answers, 0))
        items["selqa_" + split] = found
    return {key: pad(value) for key, value in items.items()}


def metrics(lists: Lists, w: np.ndarray) -> tuple[float, float, float]:
    """acc@1, MRR and MAP (a question whose answer is not a candidate counts 0)."""
    rng = np.random.default_rng(3)
    scores = np.where(lists.mask, lists.features @ w, -np.inf)
    scores = scores + rng.random(scores.shape) * 1e-9
    order = np.argsort(-scores, axis=1)
    hits = np.take_along_axis(lists.labels, order, axis=1)
    found = hits.any(axis=1)
    first = np.argmax(hits, axis=1) + 1
    cumulative = np.cumsum(hits, axis=1)
    ranks = np.arange(1, hits.shape[1] + 1)
    ap = (hits * cumulative / ranks).sum(axis=1) / np.maximum(hits.sum(axis=1), 1)
    count = len(found)
    return (
        float(((first == 1) & found).sum() / count),
        float((found / first).sum() / count),
        float(ap.sum() / count),
    )


def fit(sets: list[Lists], steps: int = 800, rate: float = 0.05, l2: float = 1e-3) -> np.ndarray:
    """Weights minimising the listwise softmax loss over the sets (Adam, from BM25 alone)."""
    w = np.zeros(len(FEATURES))
    w[0] = 5.0
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, steps + 1):
        gradient = l2 * w
        for lists in sets:
            scores = np.where(lists.mask, lists.features @ w, -1e18)
            scores -= scores.max(axis=1, keepdims=True)
            p = np.exp(scores) * lists.mask
            p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
            answered = lists.labels.any(axis=1)
            target = lists.labels / np.maximum(lists.labels.sum(axis=1, keepdims=True), 1)
            difference = (p - target) * answered[:, None]
            gradient += np.einsum("ij,ijk->k", difference, lists.features) / answered.sum()
        m = 0.9 * m + 0.1 * gradient
        v = 0.999 * v + 0.001 * gradient * gradient
        w -= rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w


def show(data: dict[str, Lists], w: np.ndarray, label: str) -> None:
    """acc@1/MRR/MAP of every split."""
    parts = [f"{key} " + "/".join(f"{x:.4f}" for x in metrics(data[key], w)) for key in data]
    print(f"{label}:\n  " + "\n  ".join(parts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depth", type=int, default=RerankWeights().candidates)
    parser.add_argument("--k1", type=float, default=0.9)
    parser.add_argument("--b", type=float, default=0.75)
    parser.add_argument(
        "--paragraphs", action="store_true", help="also fit on the even half's paragraph lists"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    data = collect(args.depth, args.k1, args.b)
    print(f"features in {time.perf_counter() - started:.0f}s", flush=True)
    show(data, np.array(RerankWeights().vector()), "shipped weights")
    bm25_only = np.zeros(len(FEATURES))
    bm25_only[0] = 1.0
    show(data, bm25_only, "BM25 order")
    w = fit([data["even"], data["selqa_dev"], *([data["para_even"]] if args.paragraphs else [])])
    w = np.round(w / w[0], 2)
    show(data, w, "fitted on even SQuAD + SelQA dev (scaled so bm25 = 1, rounded)")
    print("  " + ", ".join(f"{name} {weight}" for name, weight in zip(FEATURES, w, strict=True)))


if __name__ == "__main__":
    main()
