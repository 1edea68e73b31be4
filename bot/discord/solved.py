"""Solved forum posts: who may mark one, the forum's "Solved" tag, archiving, and the log."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord.checks import is_moderator
from bot.discord.render import NO_MENTIONS
from bot.errors import VerbatimError

if TYPE_CHECKING:
    from bot.discord.app import Verbatim

log = logging.getLogger(__name__)

SOLVED_TAG = "solved"
NOT_A_POST = "Only a forum post can be marked solved: use this inside the post."
NOT_AUTHOR = "Only the post's author or a moderator can mark it solved."
ALREADY = "This post is already marked solved."
NO_MANAGE_THREADS = (
    "Marked solved, but I could not tag or archive the post: I need the Manage Threads "
    "permission in this forum."
)
# A post holds at most this many tags (Discord's limit).
_MAX_TAGS = 5


class NotPostAuthor(app_commands.CheckFailure):
    """Someone who neither opened the post nor moderates tried to mark it solved."""

    def __init__(self) -> None:
        super().__init__(NOT_AUTHOR)


def forum_post(channel: object) -> discord.Thread | None:
    """The channel as a forum post (a thread of a forum), or None."""
    if isinstance(channel, discord.Thread) and isinstance(channel.parent, discord.ForumChannel):
        return channel
    return None


def solved_tag(forum: discord.ForumChannel) -> discord.ForumTag | None:
    """The forum's own "Solved" tag, if it has one (none is ever created)."""
    return next((t for t in forum.available_tags if t.name.casefold() == SOLVED_TAG), None)


async def mark_solved(
    interaction: discord.Interaction[Verbatim], *, answer_id: int | None, archive: bool
) -> None:
    """Mark the forum post the interaction came from solved; answers the interaction.

    Logs it (with the bot's answer it credits, if any), says so in the post, then applies the
    forum's "Solved" tag if it has one and archives the post if asked. Raises VerbatimError or
    NotPostAuthor (safe to show) when it may not.
    """
    bot = interaction.client
    post = forum_post(interaction.channel)
    if post is None or interaction.guild is None:
        raise VerbatimError(NOT_A_POST)
    moderator_roles = bot.settings.discord.moderator_roles
    if interaction.user.id != post.owner_id and not is_moderator(interaction, moderator_roles):
        raise NotPostAuthor()
    scope = interaction.guild.id
    if answer_id is None:
        answer_id = await bot.store.post_answer(scope, str(post.id))
    solved_by = await bot.library.privacy.user_key(str(interaction.user.id))
    assert solved_by is not None
    if not await bot.store.mark_solved(str(post.id), scope, answer_id, solved_by):
        raise VerbatimError(ALREADY)
    log.info("post %d of server %d marked solved", post.id, scope)
    await interaction.response.send_message(
        f"✅ Marked solved by {interaction.user.mention}.", allowed_mentions=NO_MENTIONS
    )
    changes: dict[str, Any] = {}
    tag = solved_tag(post.parent) if isinstance(post.parent, discord.ForumChannel) else None
    tags = post.applied_tags
    if tag is not None and tag not in tags and len(tags) < _MAX_TAGS:
        changes["applied_tags"] = [*tags, tag]
    if archive:
        changes["archived"] = True
    if not changes:
        return
    try:
        await post.edit(**changes, reason=f"marked solved by {interaction.user.id}")
    except discord.Forbidden:
        await interaction.followup.send(
            NO_MANAGE_THREADS, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException:
        log.warning("could not tag or archive post %d", post.id, exc_info=True)


class SolvedButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"verbatim:solved:(?P<id>\d+)",
):
    """The "Solved" button under the bot's reply in a forum post, keyed to that reply's log row."""

    def __init__(self, interaction_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Solved",
                emoji="✅",
                style=discord.ButtonStyle.secondary,
                custom_id=f"verbatim:solved:{interaction_id}",
            )
        )
        self.interaction_id = interaction_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> SolvedButton:
        """Rebuild the button from its custom id when it is clicked."""
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Verbatim]) -> None:
        """Mark the post solved, crediting the answer above the button if it answered."""
        record = await interaction.client.store.get_interaction(self.interaction_id)
        guild_id = interaction.guild.id if interaction.guild is not None else None
        answer_id = record.id if record is not None and record.scope == guild_id else None
        try:
            await mark_solved(
                interaction,
                answer_id=answer_id,
                archive=interaction.client.settings.discord.archive_solved,
            )
        except (VerbatimError, app_commands.CheckFailure) as error:
            text = error.message if isinstance(error, VerbatimError) else str(error)
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
