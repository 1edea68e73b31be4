"""Moderators review the question log with /qa: this server only, ephemeral, moderators only."""

from __future__ import annotations

import csv
import io

import pytest

from bot.discord.checks import NOT_MODERATOR, NotModerator
from tests.conftest import SEED_QUESTION

UNKNOWN = "what is the best recipe for banana bread?"


# Another question the seed article answers.
ANSWERED = "how many Special Operations forces is the US sending?"


async def ask_some(server) -> None:
    await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    await server.member.slash(server.channel, "ask", question=UNKNOWN)
    await server.moderator.slash(server.channel, "ask", question=ANSWERED)


async def test_recent_and_unanswered(world, server):
    await ask_some(server)

    recent = await server.moderator.slash(server.channel, "qa recent")
    assert recent.ephemeral
    lines = recent.response.content.splitlines()
    assert lines[0] == "**Recent questions**"
    assert [line.rsplit(" · ", 1)[1] for line in lines[1:]] == [
        ANSWERED,
        UNKNOWN,
        SEED_QUESTION,
    ]
    assert "**not found**" in lines[2] and "· slash ·" in lines[1]

    unanswered = await server.moderator.slash(server.channel, "qa unanswered")
    assert unanswered.response.content.splitlines()[1:] == [lines[2]]


async def test_stats_count_questions_answers_and_feedback(world, server):
    await ask_some(server)
    first = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    latest = (await world.bot.store.interactions(server.guild.id, limit=1))[0].id
    third = server.guild.add_member(world.env.create_user("third"))
    for voter, vote in ((server.member, "up"), (server.moderator, "down"), (third, "up")):
        await voter.click(first.response, custom_id=f"verbatim:fb:{latest}:{vote}")

    stats = await server.moderator.slash(server.channel, "qa stats", days=7)

    assert stats.ephemeral
    assert stats.response.content == (
        "**Last 7 days**: 4 questions, 3 answered (75%); feedback 👍 2 👎 1; "
        "1 helpful answer (a 👍 or a solved post); 0 forum posts marked solved."
    )


async def test_export_is_a_csv_of_this_server_only(world, server):
    other = world.server("elsewhere")
    await ask_some(server)
    await other.member.slash(other.channel, "ask", question="a question from elsewhere?")

    exported = await server.moderator.slash(server.channel, "qa export")

    assert exported.ephemeral
    assert exported.response.content == "3 logged questions."
    (attachment,) = exported.response.attachments
    assert attachment.filename == f"verbatim-log-{server.guild.id}.csv"
    rows = list(csv.DictReader(io.StringIO((await attachment.read()).decode())))
    assert [row["question"] for row in rows] == [ANSWERED, UNKNOWN, SEED_QUESTION]
    assert {row["scope"] for row in rows} == {str(server.guild.id)}
    assert [row["answered"] for row in rows] == ["True", "False", "True"]

    elsewhere = await other.moderator.slash(other.channel, "qa recent")
    assert "a question from elsewhere?" in elsewhere.response.content
    assert SEED_QUESTION not in elsewhere.response.content


async def test_an_empty_log(world, server):
    recent = await server.moderator.slash(server.channel, "qa recent")
    assert recent.response.content == "**Recent questions**: none yet."
    stats = await server.moderator.slash(server.channel, "qa stats")
    assert stats.response.content.startswith("**Last 30 days**: 0 questions, 0 answered (0%)")


@pytest.mark.parametrize("command", ["qa recent", "qa unanswered", "qa stats", "qa export"])
async def test_members_are_refused(world, server, command):
    await ask_some(server)
    world.open_to_everyone(server, "qa")

    result = await server.member.slash(server.channel, command)

    assert result.ephemeral and result.response.content == NOT_MODERATOR
    assert result.response.attachments == []
    assert [type(error) for error in world.expected_errors()] == [NotModerator]
