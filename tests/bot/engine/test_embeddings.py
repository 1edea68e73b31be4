"""The library makes the embedder's vectors in the background and uses them to answer."""

from bot.config import RetrievalSettings
from bot.engine.library import Library
from retrieval.embedder import Embedder
from retrieval.reader import Reader
from tests.conftest import SEEDS

FAQ = (
    b"# XZ FAQ\n\n## What do the letters XZ mean?\n\nNothing. They are just two letters.\n\n"
    b"## How do I report a bug?\n\nOpen an issue on the tracker with the version number.\n"
)


async def open_library(store, **settings) -> Library:
    library = Library(
        store, RetrievalSettings(**settings), reader=Reader(), embedder=Embedder()
    )
    await library.seed(SEEDS)
    await library.load()
    return library


async def test_every_sentence_gets_a_vector_and_new_ones_too(store):
    library = await open_library(store)
    await library.settle()
    await library.documents.add(5, FAQ, filename="faq.md")
    await library.settle()
    index = await library.index(5)
    meaning = library.embeddings.meaning(5, index, "does xz stand for anything", 3)
    assert len(meaning.vectors) == len(index)
    assert meaning.nearest[0][0].text == "What do the letters XZ mean?"


async def test_a_question_sharing_no_word_finds_its_answer_through_meaning(store):
    library = await open_library(store)
    await library.documents.add(5, FAQ, filename="faq.md")
    await library.settle()
    result = await library.ask("wait do those 2 letters stand for something", scope=5, via="cli")
    shown = result.answer.hits or result.answer.closest
    assert shown, result.answer
    assert shown[0].sentence.text in ("Nothing.", "They are just two letters.")
    assert shown[0].section.text == "What do the letters XZ mean?"


async def test_without_the_embedder_setting_there_are_no_vectors(store):
    library = await open_library(store, semantic=False)
    assert library.embeddings is None
    result = await library.ask("how many Special Operations forces?", scope=0, via="cli")
    assert result.answer.hits or result.answer.closest


async def test_without_the_reader_nothing_is_embedded(store):
    library = await open_library(store, reader=False)
    assert library.reader is None and library.embeddings is None
