"""Moderators review: /qa recent, unanswered, stats, export and forget, for this server only."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord.cogs.moderated import ModeratorGroupCog, server_scope, tell
from bot.discord.render import NO_MENTIONS, escape, fit_lines, shorten
from bot.engine.export import ExportFile, export_file
from bot.store import InteractionRecord
from bot.wording import counted

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.discord.app import Verbatim

# At most this many rows per export, the newest; `before:` goes on from where one stopped.
EXPORT_LIMIT = 20_000
# Room left under the upload limit for the message and the request's framing around the file.
UPLOAD_HEADROOM = 16_384
# What the CLI can write in one go (`verbatim log --limit`).
CLI_ROWS = 100_000


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
    @app_commands.describe(
        days="Only the last this many days (default: everything)",
        before="Only questions older than this log id (to go on where an export stopped)",
    )
    async def export(
        self,
        interaction: discord.Interaction[Verbatim],
        days: app_commands.Range[int, 1, 3650] | None = None,
        before: app_commands.Range[int, 1] | None = None,
    ) -> None:
        """The question log of this server as a CSV file (zipped if it is large)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        scope = server_scope(interaction)
        rows = await self.bot.store.interactions(
            scope,
            limit=EXPORT_LIMIT + 1,
            since=since(days) if days is not None else None,
            before=before,
        )
        more = len(rows) > EXPORT_LIMIT
        rows = rows[:EXPORT_LIMIT]
        # The file must fit what Discord accepts from this interaction (10 MB in a server
        # without boosts), or Discord refuses the whole reply. Formatting and zipping 20,000
        # rows takes a second or more: not on the event loop.
        limit = interaction.filesize_limit
        exported = await asyncio.to_thread(
            export_file, rows, f"verbatim-log-{scope}", max(limit - UPLOAD_HEADROOM, 0)
        )
        if exported is None:
            await tell(
                interaction,
                "Not even one logged question fits this server's upload limit of "
                f"{_upload_size(limit)}. {_whole_log(scope)}",
            )
            return
        if more or exported.rows < len(rows):
            # Rows are newest first: the next export goes on below the oldest row sent.
            period = f" days:{days}" if days is not None else ""
            note = (
                f"The newest {_holds(exported, limit)}; older ones were left out. "
                f"For the next ones use `/qa export{period} before:{rows[exported.rows - 1].id}`. "
                + _whole_log(scope)
            )
        else:
            note = f"{_holds(exported, limit)}."
        try:
            await interaction.followup.send(
                note,
                file=discord.File(io.BytesIO(exported.data), filename=exported.filename),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as error:
            if error.status != 413:  # 413: the request was too large after all
                raise
            log.warning("Discord refused a %s-byte export as too large", len(exported.data))
            await tell(
                interaction,
                "Discord refused the file as too large for this server: try a shorter `days:`. "
                + _whole_log(scope),
            )

    @app_commands.command(name="forget")
    @app_commands.describe(user="Whose questions and votes to delete from this server's log")
    async def forget(self, interaction: discord.Interaction[Verbatim], user: discord.User) -> None:
        """Delete someone's logged questions and votes in this server (privacy requests)."""
        removed = await self.bot.library.privacy.forget_user(
            server_scope(interaction), str(user.id)
        )
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


def _upload_size(size: int) -> str:
    """A byte count as Discord states upload limits: 10485760 is "10 MB"."""
    if size < 2**20:
        return f"{size // 2**10:,} KB"
    return f"{size / 2**20:.1f}".removesuffix(".0") + " MB"


def _holds(exported: ExportFile, limit: int) -> str:
    """What the exported file holds: "20,000 logged questions, zipped to fit …"."""
    questions = counted(exported.rows, "logged question")
    if exported.zipped:
        return f"{questions}, zipped to fit this server's upload limit of {_upload_size(limit)}"
    return questions


def _whole_log(scope: int) -> str:
    """Where to get the whole log when an export cannot hold it."""
    return (
        f"For the whole log (up to {CLI_ROWS:,} questions), run "
        f"`verbatim log --scope {scope} --format csv --limit {CLI_ROWS}` where the bot runs."
    )


async def setup(bot: Verbatim) -> None:
    """Load the cog."""
    await bot.add_cog(Review(bot))
