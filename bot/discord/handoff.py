"""Calling a person in: the support role, the only ping the bot sends, and only when needed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.discord.render import MESSAGE_LIMIT
from retrieval import Answer

if TYPE_CHECKING:
    from bot.discord.app import Verbatim

log = logging.getLogger(__name__)

NOT_COVERED = "{role} can you help? The documents do not cover this question."
THUMBS_DOWN = "{role} can you help? This answer was marked unhelpful."


def covered(answer: Answer) -> bool:
    """Whether the documents cover a question: the one place that decides when to call in.

    Only an answer does: "not sure" (the closest passages, which may not answer) calls a
    person in as "not found" does.
    """
    return answer.answered


def pinging_only(role: discord.abc.Snowflake) -> discord.AllowedMentions:
    """Mentions that may ping exactly this role: no one else, no @everyone, no reply ping."""
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role.id)], replied_user=False
    )


def in_question_place(channel: object, question_channels: frozenset[int]) -> bool:
    """A question channel, or a thread of one (a question forum's post)."""
    if isinstance(channel, discord.Thread):
        return channel.parent_id in question_channels
    return getattr(channel, "id", None) in question_channels


def support_role(bot: Verbatim, channel: object) -> discord.Role | None:
    """The role to call in here: set for the server, still there, and this a question place."""
    guild = getattr(channel, "guild", None)
    if not isinstance(guild, discord.Guild):
        return None
    settings = bot.server_settings.of(guild.id)
    if settings.support_role is None or not in_question_place(channel, settings.question_channels):
        return None
    role = guild.get_role(settings.support_role)
    if role is None:
        log.warning("the support role %d is not in server %d", settings.support_role, guild.id)
    return role


def with_line(text: str, line: str, limit: int = MESSAGE_LIMIT) -> str:
    """The reply with one more line last (a call-in, a link), dropping whole lines to fit."""
    lines = text.split("\n")
    while lines and len("\n".join(lines)) + 1 + len(line) > limit:
        lines.pop()
    return "\n".join([*lines, line])
