"""The base of the moderator-only command groups (/docs, /qa): checked in code, this server only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import require_moderator
from bot.discord.render import NO_MENTIONS

if TYPE_CHECKING:
    from bot.discord.app import Verbatim


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ModeratorGroupCog(commands.GroupCog):
    """A slash-command group for this server's moderators; subclasses name the group.

    The default permissions hide the group from members, but they are only a hint server admins
    can change, so `interaction_check` checks every invocation. discord.py reads both decorators
    with `getattr`, so subclasses inherit them.
    """

    def __init__(self, bot: Verbatim) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Verbatim], /) -> bool:
        """Refuse anyone who is not a moderator of this server (raises with a safe message)."""
        return require_moderator(interaction, self.bot.settings.discord.moderator_roles)


def server_scope(interaction: discord.Interaction) -> int:
    """The scope of the server the command was used in."""
    # guild_only() and the moderator check make sure there is a guild here.
    assert interaction.guild_id is not None
    return interaction.guild_id


async def tell(interaction: discord.Interaction, text: str) -> None:
    """Reply only to the moderator, before or after the interaction was deferred."""
    send = (
        interaction.followup.send
        if interaction.response.is_done()
        else interaction.response.send_message
    )
    await send(text, ephemeral=True, allowed_mentions=NO_MENTIONS, suppress_embeds=True)
