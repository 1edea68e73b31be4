"""Who may curate and review: Manage Server permission or a configured moderator role."""

from __future__ import annotations

from collections.abc import Collection

import discord
from discord import app_commands

NOT_MODERATOR = "Only moderators can do that (Manage Server permission or a moderator role)."
GUILD_ONLY = "This command only works in a server."


class NotModerator(app_commands.CheckFailure):
    """The user is not a moderator of this server; the message is safe to show."""

    def __init__(self) -> None:
        super().__init__(NOT_MODERATOR)


def is_moderator(interaction: discord.Interaction, moderator_roles: Collection[int]) -> bool:
    """Whether the user may manage this server's documents and read its log.

    `interaction.permissions` are the user's permissions as Discord resolved them for this
    interaction, so they hold even when a server changes the command's default permissions.
    """
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        return False
    permissions = interaction.permissions
    if permissions.administrator or permissions.manage_guild:
        return True
    return any(role.id in moderator_roles for role in interaction.user.roles)


def require_moderator(interaction: discord.Interaction, moderator_roles: Collection[int]) -> bool:
    """The run-time check for moderator commands: raises with a safe message when refused."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage(GUILD_ONLY)
    if not is_moderator(interaction, moderator_roles):
        raise NotModerator()
    return True
