"""The Store contract: what every implementation must do, run against each (see conftest)."""

import asyncio

import pytest

from bot.errors import DocumentNotFoundError, DuplicateDocumentError
from bot.store import (
    GLOBAL_SCOPE,
    AskedBefore,
    LoggedAnswer,
    NewDocument,
    Store,
    StoredDocument,
    StoredSentence,
)


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


# -- the rest of the interface, each method directly ------------------------------------


async def add_titled(store: Store, title: str, scope: int = 1) -> StoredDocument:
    document, _ = await store.add_document(
        scope=scope,
        title=title,
        source="",
        kind="text",
        content_hash=f"{title} {scope}",
        added_by="me",
        sentences=["A sentence."],
    )
    return document


def new(content_hash: str, *sentences: str) -> NewDocument:
    return NewDocument(content_hash, "", "text", content_hash, "me", list(sentences))


async def test_meta_values_and_the_first_one_stored_wins(store):
    assert await store.get_meta("key") is None
    await store.set_meta("key", "one")
    await store.set_meta("key", "two")
    assert await store.get_meta("key") == "two"
    assert await store.get_or_set_meta("key", "three") == "two"
    values = await asyncio.gather(*(store.get_or_set_meta("fresh", str(n)) for n in range(10)))
    assert len(set(values)) == 1 and await store.get_meta("fresh") == values[0]
    assert await store.schema_version() >= 1


async def test_documents_are_listed_counted_and_found_by_title(store):
    made = [
        await add_titled(store, title)
        for title in ("Zebra care", "apple pie", "100% cotton", "snake_case")
    ]
    await add_titled(store, "Apple pie", scope=2)
    assert await store.list_documents(1) == made  # oldest first
    assert await store.list_documents(1, limit=2, offset=1) == made[1:3]
    assert (await store.count_documents(1), await store.count_documents(3)) == (4, 0)
    assert await store.scopes() == [1, 2]
    assert await store.titled(1, "APPLE PIE") == [made[1]]
    assert await store.titled(1, "apple") == []
    # The fragment is literal text (% and _ match only themselves); by title, ignoring case.
    assert await store.search_titles(1, "E") == [made[1], made[3], made[0]]
    assert await store.search_titles(1, "E", limit=1) == [made[1]]
    assert await store.search_titles(1, "%") == [made[2]]
    assert await store.search_titles(1, "_") == [made[3]]
    assert await store.search_titles(3, "e") == []


async def test_sentences_are_read_from_a_position_and_their_terms_cached(store):
    document, ids = await store.add_document(
        scope=1,
        title="T",
        source="s",
        kind="text",
        content_hash="h",
        added_by="me",
        sentences=["One.", "Two.", "Three."],
        terms=["one", None, "three"],
    )
    assert [s.text for s in await store.document_sentences(document.id, 2)] == ["Two.", "Three."]
    assert [s.text for s in await store.document_sentences(document.id, 1, 2)] == ["One.", "Two."]
    rows = await store.scope_sentences_with_terms(1)
    assert rows[0][0] == StoredSentence(ids[0], document.id, "T", "s", "text", 1, "One.")
    assert [(s.id, terms) for s, terms in rows] == list(
        zip(ids, ["one", None, "three"], strict=True)
    )
    # Terms of a sentence that is gone are skipped.
    await store.save_sentence_terms([(ids[1], "two"), (ids[2] + 1000, "gone")])
    assert [terms for _, terms in await store.scope_sentences_with_terms(1)] == [
        "one",
        "two",
        "three",
    ]
    await store.clear_sentence_terms()
    assert [terms for _, terms in await store.scope_sentences_with_terms(1)] == [None] * 3
    with pytest.raises(ValueError, match="every sentence needs its terms"):
        await store.add_document(
            scope=1,
            title="U",
            source="s",
            kind="text",
            content_hash="h2",
            added_by="me",
            sentences=["A.", "B."],
            terms=["a"],
        )
    assert await store.count_documents(1) == 1


async def test_a_group_of_documents_is_stored_at_once_refusing_duplicates(store):
    existing = await add(store, content_hash="old")
    results = await store.add_documents(
        1, [new("a", "One.", "Two."), new("old", "X."), new("b", "Three."), new("a", "Again.")]
    )
    (a, a_ids), refused, (b, b_ids), again = results
    assert isinstance(refused, DuplicateDocumentError) and refused.existing == existing
    assert isinstance(again, DuplicateDocumentError) and again.existing == a
    # Ids as adding them one by one would give them.
    assert existing.id < a.id < b.id and a_ids[-1] < b_ids[0]
    assert [d.content_hash for d in await store.list_documents(1)] == ["old", "a", "b"]
    rows = await store.scope_sentences_with_terms(1)
    assert [s.id for s, _ in rows][-3:] == a_ids + b_ids


async def test_a_replacement_is_refused_for_content_already_there_or_a_missing_document(store):
    await add(store, content_hash="h1")
    second = await add(store, content_hash="h2")

    def replace(scope: int, content_hash: str, *sentences: str):
        return store.replace_document(
            second.id,
            scope=scope,
            title="New",
            source="",
            kind="text",
            content_hash=content_hash,
            sentences=list(sentences),
        )

    with pytest.raises(DuplicateDocumentError):
        await replace(1, "h1", "A.")
    with pytest.raises(DocumentNotFoundError):
        await replace(2, "h3", "A.")
    # Its own content again is no duplicate.
    replaced, ids = await replace(1, "h2", "A.", "B.", "C.")
    assert (replaced.sentence_count, len(ids)) == (3, 3)
    assert await store.get_document(1, second.id) == replaced


async def test_the_log_is_read_newest_first_filtered_and_paged(store):
    answered = await log(store, 1)
    unanswered = await log(store, 1, answered=False)
    other = await log(store, 2)
    assert await store.record_feedback(answered, "30", -1)
    with pytest.raises(ValueError):
        await store.record_feedback(answered, "30", 2)
    assert answered < unanswered < other
    assert [r.id for r in await store.interactions(1)] == [unanswered, answered]
    assert [r.id for r in await store.interactions(None)] == [other, unanswered, answered]
    assert [r.id for r in await store.interactions(None, limit=1)] == [other]
    assert [r.id for r in await store.interactions(None, before=other)] == [unanswered, answered]
    assert [r.id for r in await store.interactions(1, unanswered=True)] == [unanswered]
    assert [r.id for r in await store.interactions(None, rated=True)] == [answered]
    assert await store.interactions(None, since="9999") == []
    assert len(await store.interactions(None, since="2000")) == 3
    assert await store.get_interaction(other + 100) is None
    assert await store.first_question(1, "777") == "why?"
    assert await store.first_question(1, "778") is None


async def test_questions_with_a_link_are_offered_as_asked_before(store):
    answered = await log(store, 1)
    unanswered = await log(store, 1, answered=False)
    linked = await store.log_interaction(
        scope=1,
        via="chat",
        question="how?",
        answers=[LoggedAnswer(1, 1, 1, 1.0)],
        latency_ms=1.0,
        channel_id="5",
        user_id="9",
        link="https://example.org/1",
    )
    assert [a.id for a in await store.asked_before(1, limit=5)] == [linked]
    await store.set_link(answered, "https://example.org/2")
    await store.set_link(unanswered, "https://example.org/3")
    assert await store.asked_before(1, limit=5) == [
        AskedBefore(linked, "how?", "https://example.org/1", "5", "9"),
        AskedBefore(answered, "why?", "https://example.org/2", "777", "20"),
    ]
    # An unanswered question counts once its post is marked solved.
    await store.mark_solved("777", 1, None, "20")
    assert [(a.id, a.solved) for a in await store.asked_before(1, limit=5)] == [
        (linked, False),
        (unanswered, True),
        (answered, True),
    ]
    assert len(await store.asked_before(1, limit=1)) == 1
    assert await store.asked_before(2, limit=5) == []


async def test_old_questions_are_purged_and_removed_documents_are_gone(store):
    old = await log(store, 1)
    await store.mark_solved("777", 1, old, "20")
    document = await add(store)
    assert await store.purge_log_before("2000") == 0
    assert await store.purge_log_before("9999") == 1
    assert await store.get_interaction(old) is None
    assert (await store.stats(1)).solved == 0
    assert await store.remove_document(1, document.id) == document
    assert await store.document_sentences(document.id) == []
    with pytest.raises(DocumentNotFoundError):
        await store.get_document(1, document.id)


async def test_forgetting_a_user_removes_their_questions_in_that_scope_only(store):
    await log(store, 1, user="me")
    await log(store, 1, user="me")
    await log(store, 2, user="me")
    await log(store, 1, user="you")
    assert await store.forget_user(1, "me") == 2
    assert [r.user_id for r in await store.interactions(None)] == ["you", "me"]
    assert await store.forget_user(None, "me") == 1
    assert await store.forget_user(None, "me") == 0


async def test_setting_changes_are_the_latest_first(store):
    for value in range(5):
        await store.change_server_setting(1, "min_confidence", str(value / 10), "mod")
    changes = await store.setting_changes(1, limit=2)
    assert [c.value for c in changes] == ["0.4", "0.3"]
    assert await store.server_settings() == [(1, "min_confidence", "0.4")]
    assert await store.setting_changes(2) == []
