"""The library end to end over a real SQLite file: asking, logging, refusing, adding, removing."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.config import RetrievalSettings
from bot.engine.library import Library
from bot.errors import (
    DocumentNotFoundError,
    DocumentRejectedError,
    DuplicateDocumentError,
    InvalidQuestionError,
)
from bot.store import GLOBAL_SCOPE, open_store
from tests.conftest import SEED_ANSWER, SEED_QUESTION, SEEDS

SERVER = 1234
OTHER = 5678
KETTLE = (
    b"Kettle manual\n"
    b"The kettle boils a full litre of water in ninety seconds. "
    b"Descale the kettle with white vinegar every month.\n"
)
KETTLE_V2 = (
    b"Kettle manual\n"
    b"The kettle boils a full litre of water in forty seconds. "
    b"Descale the kettle with citric acid every month.\n"
)


async def test_seed_question_is_answered_from_a_fresh_database(library):
    result = await library.ask(SEED_QUESTION, scope=GLOBAL_SCOPE, via="cli")
    top = result.answer.hits[0]
    assert top.sentence.text == SEED_ANSWER
    assert top.sentence.document.title == (
        "United States plans coalition meeting on battle against ISIS"
    )
    assert top.sentence.position == 17
    assert top.sentence.document.source == "seeds/coalition-meeting-isis.txt"
    logged = await library.store.get_interaction(result.interaction_id)
    assert logged is not None and logged.answered and logged.via == "cli"


async def test_unrelated_question_is_not_found_and_logged_as_unanswered(library):
    result = await library.ask(
        "what is the best recipe for banana bread?", scope=GLOBAL_SCOPE, via="cli"
    )
    assert not result.answer.answered
    assert [r.question for r in await library.store.interactions(None, unanswered=True)] == [
        "what is the best recipe for banana bread?"
    ]


@pytest.mark.parametrize("question", ["", "   \n"])
async def test_empty_question_is_refused(library, question):
    with pytest.raises(InvalidQuestionError, match="empty"):
        await library.ask(question, scope=GLOBAL_SCOPE, via="cli")


async def test_overlong_question_is_refused(library):
    with pytest.raises(InvalidQuestionError, match="limit"):
        await library.ask("why " * 1000, scope=GLOBAL_SCOPE, via="cli")


async def test_seeding_happens_once(library):
    assert await library.seed(SEEDS) == []
    assert len(await library.store.list_documents(GLOBAL_SCOPE)) == 1


async def test_a_document_is_answered_from_at_once_and_only_in_its_scope(library):
    document = await library.documents.add(SERVER, KETTLE, filename="kettle.txt", added_by="mod")
    assert document is not None and document.title == "Kettle manual"
    question = "how long does the kettle take to boil water?"
    mine = await library.ask(question, scope=SERVER, via="slash")
    assert mine.answer.hits[0].sentence.text.startswith("The kettle boils a full litre")
    for scope in (OTHER, GLOBAL_SCOPE):
        other = await library.ask(question, scope=scope, via="slash")
        assert all(h.sentence.document.id != document.id for h in other.answer.hits)
    # The server still sees the global seeds.
    seeded = await library.ask(SEED_QUESTION, scope=SERVER, via="slash")
    assert seeded.answer.hits[0].sentence.text == SEED_ANSWER


async def test_duplicate_is_refused_naming_the_existing_document(library):
    first = await library.documents.add(SERVER, KETTLE, filename="kettle.txt")
    assert first is not None
    with pytest.raises(DuplicateDocumentError, match=f"document {first.id}, 'Kettle manual'"):
        await library.documents.add(SERVER, KETTLE, filename="again.txt")


async def test_replace_and_remove_take_effect_for_the_next_question(library):
    document = await library.documents.add(SERVER, KETTLE, filename="kettle.txt")
    assert document is not None
    question = "what do I descale the kettle with?"
    before = await library.ask(question, scope=SERVER, via="cli")
    assert "vinegar" in before.answer.hits[0].sentence.text
    await library.documents.replace(SERVER, document.id, KETTLE_V2, filename="kettle.txt")
    after = await library.ask(question, scope=SERVER, via="cli")
    assert "citric acid" in after.answer.hits[0].sentence.text
    assert all("vinegar" not in h.sentence.text for h in after.answer.hits)
    await library.documents.remove(SERVER, document.id)
    gone = await library.ask(question, scope=SERVER, via="cli")
    assert all(h.sentence.document.id != document.id for h in gone.answer.hits)
    with pytest.raises(DocumentNotFoundError):
        await library.documents.remove(SERVER, document.id)


async def start_add_held_before_indexing(store):
    """A big document's add, once stored, with its index segment's build held by the gate.

    One worker thread, held by `gate` after the document is prepared: the store gets the
    document, but its segment (built in a thread at this size) waits for the gate.
    """
    library = Library(store, RetrievalSettings())
    await library.load()
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    gate = threading.Event()
    text = "".join(f"Gadget {n} hums a distinct tune at dawn.\n" for n in range(6000))
    adding = asyncio.create_task(library.documents.add(SERVER, text.encode(), filename="big.txt"))
    await asyncio.sleep(0)  # the document's preparation is queued first
    held = loop.run_in_executor(None, gate.wait)
    while not await store.count_documents(SERVER):
        await asyncio.sleep(0.01)
    return library, adding, held, gate


async def test_a_document_removed_while_it_is_being_indexed_stays_removed(store):
    library, adding, held, gate = await start_add_held_before_indexing(store)
    [stored] = await store.list_documents(SERVER)
    removing = asyncio.create_task(library.documents.remove(SERVER, stored.id))
    await asyncio.sleep(0.2)  # long enough for the removal to finish if nothing holds it
    gate.set()
    await asyncio.gather(adding, removing, held)
    await library.settle()
    result = await library.ask("which gadget hums at dawn?", scope=SERVER, via="cli")
    assert result.answer.hits == ()


async def test_an_add_cancelled_after_its_commit_is_still_answered_from(store):
    library, adding, held, gate = await start_add_held_before_indexing(store)
    adding.cancel()
    await asyncio.sleep(0.05)
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await adding
    await held
    result = await library.ask("which gadget hums at dawn?", scope=SERVER, via="cli")
    assert result.answer.hits and "hums a distinct tune" in result.answer.hits[0].sentence.text


async def test_a_removal_cancelled_midway_still_takes_effect(library):
    document = await library.documents.add(SERVER, KETTLE, filename="kettle.txt")
    assert document is not None
    removing = asyncio.create_task(library.documents.remove(SERVER, document.id))
    await asyncio.sleep(0)  # it is waiting on the store now
    removing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await removing
    assert await library.store.count_documents(SERVER) == 0
    result = await library.ask("how do I descale the kettle?", scope=SERVER, via="cli")
    assert not result.answer.answered


async def test_another_scope_cannot_replace_or_remove(library):
    document = await library.documents.add(SERVER, KETTLE, filename="kettle.txt")
    assert document is not None
    with pytest.raises(DocumentNotFoundError):
        await library.documents.remove(OTHER, document.id)
    with pytest.raises(DocumentNotFoundError):
        await library.documents.replace(OTHER, document.id, KETTLE_V2, filename="k.txt")


async def test_unreadable_document_is_rejected_and_nothing_is_stored(library):
    with pytest.raises(DocumentRejectedError, match="could not be read"):
        await library.documents.add(SERVER, b"%PDF-1.7 not really", filename="x.pdf")
    assert await library.store.list_documents(SERVER) == []


async def test_context_gives_neighbouring_sentences(store):
    library = Library(store, RetrievalSettings(context=True))
    await library.seed(SEEDS)
    await library.load()
    hit = (await library.ask(SEED_QUESTION, scope=GLOBAL_SCOPE, via="cli")).answer.hits[0]
    assert hit.before is not None and hit.before.position == 16
    assert hit.after is None  # the last sentence of the article


async def test_a_restart_keeps_every_document_and_log_row(db_path):
    async with open_store(db_path) as store:
        library = Library(store, RetrievalSettings())
        await library.seed(SEEDS)
        await library.load()
        document = await library.documents.add(SERVER, KETTLE, filename="kettle.txt")
        assert document is not None
        asked = await library.ask("how fast does the kettle boil?", scope=SERVER, via="cli")
    async with open_store(db_path) as store:
        library = Library(store, RetrievalSettings())
        assert await library.seed(SEEDS) == []
        await library.load()
        again = await library.ask("how fast does the kettle boil?", scope=SERVER, via="cli")
        assert again.answer.hits[0].sentence == asked.answer.hits[0].sentence
        assert again.answer.hits[0].score == pytest.approx(asked.answer.hits[0].score)
        logged = await store.interactions(SERVER)
        assert [row.id for row in logged] == [again.interaction_id, asked.interaction_id]
        assert [d.id for d in await store.list_documents(SERVER)] == [document.id]


async def test_pasted_text_without_a_title_is_titled_by_its_first_words(library):
    text = (
        "Spare widgets are kept in the blue cabinet beside the loading dock on the ground floor. "
        "Ask a supervisor for the key."
    )
    document = await library.documents.add(SERVER, text.encode(), filename=None)
    assert document is not None
    assert document.title == "Spare widgets are kept in the blue cabinet beside the…"
    one_word = await library.documents.add(SERVER, ("x" * 80 + ".").encode(), filename=None)
    assert one_word is not None and one_word.title == "x" * 60 + "…"


async def test_questions_asked_at_once_each_get_their_own_answer_and_log_row(library):
    await library.documents.add(SERVER, KETTLE, filename="kettle.txt")
    questions = [SEED_QUESTION, "How long does the kettle take to boil?", "   "] * 6
    outcomes = await asyncio.gather(
        *(library.ask(question, scope=SERVER, via="chat") for question in questions),
        return_exceptions=True,
    )
    for question, outcome in zip(questions, outcomes, strict=True):
        if not question.strip():
            assert isinstance(outcome, InvalidQuestionError)
            continue
        assert not isinstance(outcome, BaseException)
        expected = SEED_ANSWER if question == SEED_QUESTION else "ninety seconds"
        assert expected in outcome.answer.hits[0].sentence.text
        logged = await library.store.get_interaction(outcome.interaction_id)
        assert logged is not None and logged.question == question
