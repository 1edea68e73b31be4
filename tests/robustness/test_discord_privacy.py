"""Privacy through the real bot: /qa forget, hashed ids with feedback buttons across a restart,
and the retention period applied while the bot runs."""

from __future__ import annotations

import sqlite3

from bot.config import PrivacySettings
from tests.conftest import SEED_QUESTION
from tests.robustness.discord_world import running_world
from tests.robustness.test_privacy import insert_old_row


async def test_qa_forget_deletes_a_members_questions_in_this_server_only(tmp_path):
    async with running_world(tmp_path) as world:
        here, there = world.server("here"), world.server("there")
        elsewhere = there.guild.add_member(here.member.user)
        for _ in range(2):
            await here.member.slash(here.channel, "ask", question=SEED_QUESTION)
        await elsewhere.slash(there.channel, "ask", question=SEED_QUESTION)
        await here.moderator.slash(here.channel, "ask", question=SEED_QUESTION)

        done = await here.moderator.slash(here.channel, "qa forget", user=here.member)

        assert done.ephemeral
        assert done.response.content.startswith("Deleted 2 logged questions of <@")
        left = await world.bot.store.interactions(here.guild.id)
        assert [row.user_id for row in left] == [str(here.moderator.id)]
        assert len(await world.bot.store.interactions(there.guild.id)) == 1


async def test_hashed_ids_feedback_survives_a_restart_and_forget_still_works(tmp_path):
    privacy = PrivacySettings(hash_user_ids=True)
    async with running_world(tmp_path, privacy=privacy) as world:
        server = world.server()
        result = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
        logged = (await world.bot.store.interactions(server.guild.id))[0]
        assert logged.user_id.startswith("h:") and str(server.member.id) not in logged.user_id

        await world.restart()
        clicked = await server.member.click(
            result.response, custom_id=f"verbatim:fb:{logged.id}:up"
        )
        assert "recorded" in clicked.response.content
        assert (await world.bot.store.get_interaction(logged.id)).thumbs_up == 1

        done = await server.moderator.slash(server.channel, "qa forget", user=server.member)
        assert done.response.content.startswith("Deleted 1 logged question of")
        assert await world.bot.store.interactions(server.guild.id) == []
    with sqlite3.connect(tmp_path / "verbatim.db") as db:
        assert str(server.member.id) not in "\n".join(db.iterdump())


async def test_the_running_bot_applies_the_retention_period(tmp_path):
    privacy = PrivacySettings(retention_days=30)
    async with running_world(tmp_path, privacy=privacy) as world:
        server = world.server()
        await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
        insert_old_row(tmp_path / "verbatim.db", days=31, via="dm")
        # The bot's hourly purge (simcord's clock is virtual: an hour passes at once).
        await world.env.advance_time(3_601)
        rows = await world.bot.store.interactions(None)
        assert [row.user_id for row in rows] == [str(server.member.id)]


async def test_an_old_button_never_votes_on_a_later_question_after_a_forget(tmp_path):
    async with running_world(tmp_path) as world:
        server = world.server()
        old = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
        forgotten = (await world.bot.store.interactions(server.guild.id))[0].id
        await server.moderator.slash(server.channel, "qa forget", user=server.member)
        await server.moderator.slash(server.channel, "ask", question=SEED_QUESTION)
        newer = (await world.bot.store.interactions(server.guild.id))[0]
        assert newer.id != forgotten  # ids are never reused (migration 0003)

        await world.restart()
        clicked = await server.member.click(old.response, custom_id=f"verbatim:fb:{forgotten}:up")
        assert "recorded" not in clicked.response.content
        assert (await world.bot.store.get_interaction(newer.id)).thumbs_up == 0
