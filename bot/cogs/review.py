"""Moderators review: /qa recent, unanswered, stats, export and forget, for this server only."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.cogs.moderated import ModeratorGroupCog, server_scope, tell
from bot.export import interactions_csv
from bot.render import NO_MENTIONS, escape, fit_lines, shorten
from bot.store import InteractionRecord
from bot.wording import counted

if TYPE_CHECKING:
    from bot.app import Verbatim

# An export is one attachment; this many rows stay well under Discord's upload limit.
EXPORT_LIMIT = 20_000


def since(days: int) -> str:
    """The stored-timestamp form of `days` days ago."""
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")


def question_line(row: InteractionRecord) -> str:
    """One logged question as a line: id, when, how, answered or not, votes, the question."""
    state = "answered" if row.answered else "**not found**"
    votes = (
        f" · 👍 {row.thumbs_up} 👎 {row.thumbs_down}" if row.thumbs_up or row.thumbs_down else ""
    )
    try:
        when = f"<t:{int(datetime.fromisoformat(row.asked_at).timestamp())}:R>"
    except ValueError:
        when = escape(row.asked_at[:16])
    return f"`{row.id}` {when} · {row.via} · {state}{votes} · {escape(shorten(row.question, 200))}"


class Review(
    ModeratorGroupCog, group_name="qa", group_description="Review the questions asked here"
):
    """The question log of this server: moderators only."""

    @app_commands.command(name="recent")
    @app_commands.describe(limit="How many questions")
    async def recent(
        self, interaction: discord.Interaction[Verbatim], limit: app_commands.Range[int, 1, 50] = 15
    ) -> None:
        """The latest questions and whether they were answered."""
        rows = await self.bot.store.interactions(server_scope(interaction), limit=limit)
        await self.show(interaction, "Recent questions", rows)

    @app_commands.command(name="unanswered")
    @app_commands.describe(limit="How many questions")
    async def unanswered(
        self, interaction: discord.Interaction[Verbatim], limit: app_commands.Range[int, 1, 50] = 15
    ) -> None:
        """Questions the documents could not answer: what to add next."""
        rows = await self.bot.store.interactions(
            server_scope(interaction), limit=limit, unanswered=True
        )
        await self.show(interaction, "Questions the documents did not answer", rows)

    @app_commands.command(name="stats")
    @app_commands.describe(days="The period, in days up to now")
    async def stats(
        self,
        interaction: discord.Interaction[Verbatim],
        days: app_commands.Range[int, 1, 3650] = 30,
    ) -> None:
        """Questions, the share answered, 👍/👎 counts and solved posts over a period."""
        counts = await self.bot.store.stats(server_scope(interaction), since=since(days))
        await tell(
            interaction,
            f"**Last {days} days**: {counts.questions} questions, {counts.answered} answered "
            f"({counts.answered_rate:.0%}); "
            f"feedback 👍 {counts.thumbs_up} 👎 {counts.thumbs_down}; "
            f"{counted(counts.helpful, 'helpful answer')} (a 👍 or a solved post); "
            f"{counted(counts.solved, 'forum post')} marked solved.",
        )

    @app_commands.command(name="export")
    @app_commands.describe(days="Only the last this many days (default: everything)")
    async def export(
        self,
        interaction: discord.Interaction[Verbatim],
        days: app_commands.Range[int, 1, 3650] | None = None,
    ) -> None:
        """The question log of this server as a CSV file."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        rows = await self.bot.store.interactions(
            server_scope(interaction),
            limit=EXPORT_LIMIT,
            since=since(days) if days is not None else None,
        )
        # Formatting the newest 20,000 rows takes most of a second: not on the event loop.
        data = await asyncio.to_thread(_csv_bytes, rows)
        note = f" (the newest {EXPORT_LIMIT:,})" if len(rows) == EXPORT_LIMIT else ""
        await interaction.followup.send(
            f"{len(rows)} logged questions{note}.",
            file=discord.File(
                io.BytesIO(data), filename=f"verbatim-log-{interaction.guild_id}.csv"
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="forget")
    @app_commands.describe(user="Whose questions and votes to delete from this server's log")
    async def forget(self, interaction: discord.Interaction[Verbatim], user: discord.User) -> None:
        """Delete someone's logged questions and votes in this server (privacy requests)."""
        removed = await self.bot.library.forget_user(server_scope(interaction), str(user.id))
        await tell(
            interaction,
            f"Deleted {removed} logged question{'s' if removed != 1 else ''} of {user.mention} "
            "and their votes in this server.",
        )

    async def show(
        self,
        interaction: discord.Interaction[Verbatim],
        heading: str,
        rows: list[InteractionRecord],
    ) -> None:
        """A heading and one line per question, within one message."""
        if not rows:
            await tell(interaction, f"**{heading}**: none yet.")
            return
        await tell(interaction, fit_lines([f"**{heading}**"] + [question_line(r) for r in rows]))


def _csv_bytes(rows: list[InteractionRecord]) -> bytes:
    return interactions_csv(rows).encode("utf-8")


async def setup(bot: Verbatim) -> None:
    """Load the cog."""
    await bot.add_cog(Review(bot))
