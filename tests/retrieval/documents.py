"""One document's sentences, as a real index, for the tests of what answers them."""

from retrieval.analyzer import Analyzer
from retrieval.index import SentenceIndex
from retrieval.types import DocumentRef, Sentence


def index_of(
    texts: list[str], analyzer: Analyzer, title: str = "doc", kind: str = "text"
) -> SentenceIndex:
    """The texts as the sentences of one document, ids and positions from 1, in order."""
    ref = DocumentRef(1, title, f"{title}.txt", kind)
    sentences = [Sentence(i + 1, ref, i + 1, text) for i, text in enumerate(texts)]
    return SentenceIndex(sentences, [analyzer.analyze(text) for text in texts])
