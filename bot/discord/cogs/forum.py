"""Forum posts: /solved and the "Solved" button mark a post solved (its author or a moderator)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.solved import SolvedButton, mark_solved

if TYPE_CHECKING:
    from bot.discord.app import Verbatim


class Forum(commands.Cog):
    """Closing forum posts once they are answered."""

    def __init__(self, bot: Verbatim) -> None:
        self.bot = bot

    @app_commands.command(name="solved")
    @app_commands.guild_only()
    @app_commands.describe(archive="Also archive the post (default: the server's configuration)")
    async def solved(
        self, interaction: discord.Interaction[Verbatim], archive: bool | None = None
    ) -> None:
        """Mark this forum post solved (its author or a moderator)."""
        await mark_solved(
            interaction,
            answer_id=None,
            archive=self.bot.settings.discord.archive_solved if archive is None else archive,
        )


async def setup(bot: Verbatim) -> None:
    """Load the cog and make old replies' "Solved" buttons live again."""
    bot.add_dynamic_items(SolvedButton)
    await bot.add_cog(Forum(bot))
