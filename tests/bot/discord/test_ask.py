"""Members ask through every entry point; replies quote, cite, fit, and never ping."""

from __future__ import annotations

import discord
import pytest

from bot.discord.app import CoolingDown
from bot.discord.render import MESSAGE_LIMIT, NOT_FOUND
from tests.bot.discord.helpers import assert_never_pings, callback_types
from tests.conftest import SEED_QUESTION

SEED_TITLE = "United States plans coalition meeting on battle against ISIS"
UNKNOWN_QUESTION = "what is the best recipe for banana bread?"


def assert_seed_answer(content: str) -> None:
    assert "up to 50 **Special Operations forces** to secret locations" in content
    assert f"*{SEED_TITLE}* — sentence 17" in content
    assert "seeds/coalition\\-meeting\\-isis.txt" in content


async def test_a_mention_is_answered_with_a_citation(world, server):
    asked = await server.member.send(server.channel, f"<@{world.bot.user.id}> {SEED_QUESTION}")

    reply = server.channel.last_message
    assert reply.author.id == world.bot.user.id
    assert reply.reference is not None and reply.reference.message_id == asked.id
    assert_seed_answer(reply.content)
    assert [c.custom_id for c in reply.components[0].children] == [
        f"verbatim:fb:{row.id}:{vote}"
        for row in await world.bot.store.interactions(server.guild.id, limit=1)
        for vote in ("up", "down")
    ]
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert (logged.via, logged.question, logged.answered) == ("mention", SEED_QUESTION, True)
    assert logged.user_id == str(server.member.id)
    assert logged.channel_id == str(server.channel.id)
    assert_never_pings(world.env)


async def test_a_reply_to_the_bot_is_a_question(world, server):
    await server.member.send(server.channel, f"<@{world.bot.user.id}> hello")
    bot_reply = server.channel.last_message
    await server.member.send(server.channel, SEED_QUESTION, reply_to=bot_reply)
    assert_seed_answer(server.channel.last_message.content)


async def test_slash_ask(world, server):
    result = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)

    # Acknowledged at once ("thinking"), answered in a follow-up that everyone sees.
    assert callback_types(world.env) == [5]
    assert result.acknowledged and not result.ephemeral
    assert_seed_answer(result.response.content)
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert (logged.via, logged.answered) == ("slash", True)
    assert_never_pings(world.env)


async def test_a_question_the_documents_do_not_cover_gets_one_short_line(world, server):
    result = await server.member.slash(server.channel, "ask", question=UNKNOWN_QUESTION)

    assert result.response.content == NOT_FOUND
    assert result.response.components == []  # no feedback buttons on "not found"
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert not logged.answered


async def test_ask_verbatim_on_someone_elses_message(world, server):
    question = await server.moderator.send(server.channel, SEED_QUESTION)

    result = await server.member.context_menu(server.channel, "Ask Verbatim", question)

    assert result.response.content.startswith(f"-# Asked in {question.jump_url}\n")
    assert_seed_answer(result.response.content)
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert (logged.via, logged.user_id) == ("context-menu", str(server.member.id))


async def test_a_question_channel_answers_without_a_mention(world, server):
    ignored = server.guild.create_text_channel("chat")
    await world.restart(question_channels=(server.channel.id,))
    assert world.bot.intents.message_content

    await server.member.send(server.channel, SEED_QUESTION)
    assert_seed_answer(server.channel.last_message.content)
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert logged.via == "channel"

    await server.member.send(ignored, SEED_QUESTION)
    assert ignored.last_message.author.id == server.member.id  # no answer outside it


async def test_without_question_channels_the_bot_needs_no_privileged_intent(world):
    assert not world.bot.intents.message_content
    assert not world.bot.intents.members and not world.bot.intents.presences


async def test_direct_messages_use_the_global_documents(world, server):
    await server.member.send_dm(SEED_QUESTION)

    reply = server.member.user.dm_channel.last_message
    assert_seed_answer(reply.content)
    logged = (await world.bot.store.interactions(0))[0]
    assert (logged.via, logged.scope) == ("dm", 0)


async def test_bots_and_plain_chatter_are_never_answered(world, server):
    other_bot = server.guild.add_member(world.env.create_user("helper", bot=True))
    await other_bot.send(server.channel, f"<@{world.bot.user.id}> {SEED_QUESTION}")
    await server.member.send(server.channel, SEED_QUESTION)  # no mention, not a question channel

    authors = [message.author.id for message in server.channel.history()]
    assert world.bot.user.id not in authors
    assert await world.bot.store.interactions(None) == []


async def test_an_empty_mention_gets_a_hint_not_an_error(world, server):
    await server.member.send(server.channel, f"<@{world.bot.user.id}>")
    assert server.channel.last_message.content == "Ask a question: the text is empty."


async def test_per_user_cooldown(world, server):
    await world.restart(cooldown_questions=2, cooldown_seconds=60.0)

    for _ in range(2):
        result = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
        assert not result.ephemeral
    refused = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    assert refused.ephemeral and "try again in" in refused.response.content
    assert [type(e) for e in world.expected_errors()] == [CoolingDown]

    # A mention while cooling down gets a quiet ⏳ instead of a reply.
    asked = await server.member.send(server.channel, f"<@{world.bot.user.id}> {SEED_QUESTION}")
    assert server.channel.last_message.id == asked.id
    assert [str(r.emoji) for r in server.channel.last_message.reactions] == ["⏳"]

    # Someone else is not slowed down by it, and the window passes.
    other = await server.moderator.slash(server.channel, "ask", question=SEED_QUESTION)
    assert not other.ephemeral
    await world.env.advance_time(61)
    again = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    assert not again.ephemeral
    assert len(await world.bot.store.interactions(server.guild.id)) == 4


async def test_a_document_with_mentions_is_quoted_without_pinging_anyone(world, server):
    # The bot could ping everyone if it let itself: the test is only worth something then.
    assert server.guild.me.guild_permissions.mention_everyone
    role = server.guild.create_role("Everyone Important", mentionable=True)
    text = (
        f"Attention @everyone and @here and <@&{role.id}> and <@{server.moderator.id}>: "
        "the widget committee meets on Friday in the east hall.\n"
        "**Bold claims** and [a masked link](https://example.com) and `code` stay literal.\n"
    )
    await server.moderator.slash(
        server.channel, "docs add", file=("notice.txt", text.encode()), title="Notice <@&1> *x*"
    )

    result = await server.member.slash(
        server.channel, "ask", question="when does the widget committee meet?"
    )

    reply = result.response.message
    assert "\\@everyone and \\@here and \\<\\@&" in reply.content
    assert "*Notice \\<\\@&1\\> \\*x\\**" in reply.content
    assert not reply.mention_everyone
    assert reply.role_mentions == [] and reply.mentions == []
    await server.member.send(
        server.channel, f"<@{world.bot.user.id}> masked link bold claims code literal"
    )
    quoted = server.channel.last_message
    # The document's own asterisks stay literal around our bold; its link cannot mask.
    assert "\\*\\***Bold claims**\\*\\*" in quoted.content
    assert "\\[a **masked link**\\]\\(https" in quoted.content
    assert not quoted.mention_everyone and quoted.mentions == []
    assert_never_pings(world.env)


async def test_very_long_sentences_still_fit_in_one_message(world, server):
    filler = "and the committee reviewed many unrelated matters at length "
    sentences = [
        f"Sentence {n} says the widget budget grows {filler * 120}until the end. "
        for n in range(1, 6)
    ]
    document = "".join(sentences) + "\n"
    assert len(document) > 30_000
    await server.moderator.slash(
        server.channel, "docs add", file=("long.txt", document.encode()), title="Long " * 39
    )

    result = await server.member.slash(
        server.channel, "ask", question="how does the widget budget grow?"
    )

    content = result.response.content
    assert len(content) <= MESSAGE_LIMIT
    assert "**widget budget grows**" in content
    assert "…" in content  # an excerpt, marked as cut
    assert "— sentence" in content
    # A mention reply to the same question fits too.
    await server.member.send(server.channel, f"<@{world.bot.user.id}> widget budget grows")
    assert len(server.channel.last_message.content) <= MESSAGE_LIMIT
    assert_never_pings(world.env)


@pytest.mark.parametrize("vote", ["up", "down"])
async def test_feedback_buttons_record_and_survive_a_restart(world, server, vote):
    result = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    interaction_id = (await world.bot.store.interactions(server.guild.id))[0].id
    answer = result.response

    clicked = await server.member.click(answer, custom_id=f"verbatim:fb:{interaction_id}:{vote}")
    assert clicked.ephemeral and "recorded" in clicked.response.content

    await world.restart()
    other_vote = "down" if vote == "up" else "up"
    after = await server.moderator.click(
        answer, custom_id=f"verbatim:fb:{interaction_id}:{other_vote}"
    )
    assert after.ephemeral and "recorded" in after.response.content
    # The same user changing their mind replaces their vote rather than adding one.
    await server.member.click(answer, custom_id=f"verbatim:fb:{interaction_id}:{other_vote}")

    record = await world.bot.store.get_interaction(interaction_id)
    assert (record.thumbs_up, record.thumbs_down) == ((0, 2) if vote == "up" else (2, 0))


async def test_questions_that_cannot_be_asked_are_refused_with_a_reason(world, server):
    blank = await server.member.slash(server.channel, "ask", question="   ")
    assert blank.ephemeral and blank.response.content == "Ask a question: the text is empty."
    assert len(world.expected_errors()) == 1
    assert await world.bot.store.interactions(server.guild.id) == []


def test_reply_view_has_two_persistent_buttons():
    from bot.discord.cogs.ask import FeedbackButton

    button = FeedbackButton(42, 1)
    assert button.custom_id == "verbatim:fb:42:up" and button.is_persistent()
    assert isinstance(button.item, discord.ui.Button)
