"""Verbatim's pure retrieval layer: text in, ranked cited sentences out."""

from retrieval.analyzer import Analyzer
from retrieval.answer import Answer, Hit, answer_question
from retrieval.errors import ExtractionError
from retrieval.extract import Extracted, extract_text
from retrieval.index import SentenceIndex
from retrieval.sentences import split_sentences
from retrieval.types import DocumentRef, Sentence

__all__ = [
    "Analyzer",
    "Answer",
    "DocumentRef",
    "Extracted",
    "ExtractionError",
    "Hit",
    "Sentence",
    "SentenceIndex",
    "answer_question",
    "extract_text",
    "split_sentences",
]
