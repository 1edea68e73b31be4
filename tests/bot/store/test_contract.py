"""The Store contract: what every implementation must do, run against each (see conftest)."""

import asyncio

import pytest

from bot.errors import DocumentNotFoundError, DuplicateDocumentError
from bot.store import GLOBAL_SCOPE, LoggedAnswer, Store


async def add(store: Store, scope: int = 1, content_hash: str = "h1", sentences=("A.", "B.")):
    document, _ = await store.add_document(
        scope=scope,
        title="Doc",
        source="https://example.org/doc",
        kind="text",
        content_hash=content_hash,
        added_by="alice",
        sentences=list(sentences),
    )
    return document


async def test_document_with_sentences_round_trips(store):
    document = await add(store, sentences=["First one.", "Second one."])
    assert document.sentence_count == 2
    rows = await store.document_sentences(document.id)
    assert [(r.position, r.text) for r in rows] == [(1, "First one."), (2, "Second one.")]
    assert (await store.get_document(1, document.id)).added_by == "alice"


async def test_same_content_twice_in_one_scope_is_refused_naming_the_first(store):
    first = await add(store)
    with pytest.raises(DuplicateDocumentError, match=f"document {first.id}, 'Doc'"):
        await add(store)
    # Another scope may hold the same content.
    await add(store, scope=2)


async def test_scopes_do_not_see_each_other(store):
    mine = await add(store, scope=1)
    with pytest.raises(DocumentNotFoundError):
        await store.get_document(2, mine.id)
    with pytest.raises(DocumentNotFoundError):
        await store.remove_document(2, mine.id)
    assert await store.list_documents(2) == []


async def test_replace_keeps_the_id_and_swaps_sentences(store):
    document = await add(store)
    replaced, _ = await store.replace_document(
        document.id,
        scope=1,
        title="New",
        source="s",
        kind="text",
        content_hash="h2",
        sentences=["Only this."],
    )
    assert replaced.id == document.id and replaced.title == "New"
    assert [r.text for r in await store.document_sentences(document.id)] == ["Only this."]


async def test_log_and_feedback(store):
    interaction = await store.log_interaction(
        scope=GLOBAL_SCOPE,
        via="cli",
        question="why?",
        latency_ms=1.5,
        answers=[LoggedAnswer(sentence_id=1, document_id=1, position=1, score=2.0)],
        channel_id="10",
        user_id="20",
    )
    assert await store.record_feedback(interaction, "20", 1)
    assert await store.record_feedback(interaction, "21", -1)
    assert await store.record_feedback(interaction, "21", 1)  # changing one's vote
    assert not await store.record_feedback(interaction + 100, "20", 1)
    row = await store.get_interaction(interaction)
    assert row is not None
    assert (row.thumbs_up, row.thumbs_down, row.answered) == (2, 0, True)
    assert row.answers[0].score == 2.0
    stats = await store.stats(GLOBAL_SCOPE)
    assert (stats.questions, stats.answered, stats.thumbs_up) == (1, 1, 2)
    assert await store.stats(5) == type(stats)(0, 0, 0, 0)


async def log(store: Store, scope: int, *, answered: bool = True, user: str = "20") -> int:
    answers = [LoggedAnswer(sentence_id=1, document_id=1, position=1, score=2.0)]
    return await store.log_interaction(
        scope=scope,
        via="forum",
        question="why?",
        latency_ms=1.0,
        answers=answers if answered else [],
        channel_id="777",
        user_id=user,
    )


async def test_solved_posts_are_logged_once_and_credit_their_own_servers_answers(store):
    answer = await log(store, 1)
    elsewhere = await log(store, 2)
    assert await store.post_answer(1, "777") == answer
    assert await store.post_answer(3, "777") is None

    assert await store.mark_solved("777", 1, answer, "20")
    assert not await store.mark_solved("777", 1, answer, "21")  # once per post
    # Another server's answer id is never credited, but the post counts as solved.
    assert await store.mark_solved("888", 1, elsewhere, "20")
    stats = await store.stats(1)
    assert (stats.helpful, stats.solved) == (1, 2)
    assert (await store.stats(2)).helpful == 0


async def test_forgetting_a_user_forgets_the_posts_they_marked_solved(store):
    answer = await log(store, 1, user="asker")
    await store.mark_solved("777", 1, answer, "marker")
    await store.mark_solved("778", 2, None, "marker")

    await store.forget_user(1, "marker")

    assert (await store.stats(1)).solved == 0
    assert (await store.stats(2)).solved == 1  # another server's are not touched here
    await store.forget_user(None, "asker")  # the answer goes; a solved post would stay
    assert (await store.stats(1)).helpful == 0


async def test_a_hand_off_is_noted_once_per_answer(store):
    answer = await log(store, 1)
    assert await store.hand_off_once(answer)
    assert not await store.hand_off_once(answer)
    assert not await store.hand_off_once(answer + 100)  # no such answer


async def test_server_settings_and_their_changes(store):
    await store.change_server_setting(1, "support_role", "42", "mod")
    await store.change_server_setting(1, "support_role", None, "other-mod")
    await store.change_server_setting(2, "min_confidence", "0.5", "mod")

    assert await store.server_settings() == [(2, "min_confidence", "0.5")]
    changes = await store.setting_changes(1)
    assert [(c.key, c.value, c.changed_by) for c in changes] == [
        ("support_role", None, "other-mod"),
        ("support_role", "42", "mod"),
    ]


async def test_questions_logged_at_once_each_get_their_own_row(store):
    questions = [f"question {n}?" for n in range(40)]
    ids = await asyncio.gather(
        *(
            store.log_interaction(
                scope=n % 3, via="chat", question=question, latency_ms=float(n), answers=[]
            )
            for n, question in enumerate(questions)
        )
    )
    assert len(set(ids)) == len(ids)
    for n, (question, interaction_id) in enumerate(zip(questions, ids, strict=True)):
        row = await store.get_interaction(interaction_id)
        assert row is not None
        assert (row.question, row.scope, row.latency_ms) == (question, n % 3, float(n))
