"""Moderators set this server's question channels, support role, cooldown and threshold."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from bot.discord.cogs.moderated import ModeratorGroupCog, server_scope, tell
from bot.discord.render import escape, fit_lines
from bot.engine.server_settings import KEYS, ServerSettings
from bot.store import SettingChange

if TYPE_CHECKING:
    from bot.discord.app import Verbatim

QuestionChannel = discord.TextChannel | discord.ForumChannel
Setting = Literal[
    "question_channels", "support_role", "cooldown_questions", "cooldown_seconds", "min_confidence"
]
NO_CONTENT_INTENT = (
    "Note: the bot runs without the message content intent, so it sees only mentions in text "
    "channels and the titles of forum posts; set discord.message_content_intent = true (and "
    "enable the intent in the developer portal) for whole messages."
)
_NAMES = {
    "question_channels": "Question channels",
    "support_role": "Support role",
    "cooldown_questions": "Cooldown questions",
    "cooldown_seconds": "Cooldown seconds",
    "min_confidence": "Answer threshold",
}


def channels_text(channels: frozenset[int] | list[int]) -> str:
    """Channel mentions (shown as names, never pings), or "none"."""
    return ", ".join(f"<#{c}>" for c in sorted(channels)) or "none"


def value_text(key: str, value: object) -> str:
    """A setting's value as a moderator reads it."""
    if key == "question_channels":
        return channels_text(value)  # type: ignore[arg-type]
    if key == "support_role":
        return f"<@&{value}>" if value is not None else "none"
    if key == "min_confidence":
        return f"{value:.2f}"
    if key == "cooldown_seconds":
        return f"{value:g} s"
    return str(value)


def settings_lines(settings: ServerSettings) -> list[str]:
    """One line per setting, saying whether the server set it or it is the default."""
    lines = []
    for key in KEYS:
        origin = "set here" if key in settings.own else "default"
        lines.append(f"{_NAMES[key]}: {value_text(key, getattr(settings, key))} ({origin})")
    return lines


def change_line(change: SettingChange) -> str:
    """`<t:…:R> <@user>: Support role → <@&role>`, or `… back to the default`."""
    try:
        when = f"<t:{int(datetime.fromisoformat(change.changed_at).timestamp())}:R>"
    except ValueError:
        when = escape(change.changed_at[:16])
    who = f"<@{change.changed_by}>" if change.changed_by.isdigit() else escape(change.changed_by)
    name = _NAMES.get(change.key, escape(change.key))
    if change.value is None:
        return f"{when} {who}: {name} back to the default"
    return f"{when} {who}: {name} → {value_text(change.key, json.loads(change.value))}"


class ServerSettingsCog(
    ModeratorGroupCog, group_name="settings", group_description="This server's settings"
):
    """Per-server settings over the config file's defaults: moderators only, effective at once."""

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction[Verbatim]) -> None:
        """Show the settings in force here, and who changed them lately."""
        scope = server_scope(interaction)
        settings = self.bot.server_settings.of(scope)
        lines = ["**Settings of this server**", *settings_lines(settings)]
        changes = await self.bot.server_settings.changes(scope)
        if changes:
            lines += ["**Latest changes**", *map(change_line, changes)]
        await tell(interaction, fit_lines(lines))

    @app_commands.command(name="add-channel")
    @app_commands.describe(channel="A text channel (every message) or a forum (every new post)")
    async def add_channel(
        self, interaction: discord.Interaction[Verbatim], channel: QuestionChannel
    ) -> None:
        """Answer every question asked in a channel, or every new post of a forum."""
        scope = server_scope(interaction)
        current = self.bot.server_settings.of(scope).question_channels
        settings = await self.bot.server_settings.set(
            scope, "question_channels", [*current, channel.id], by=str(interaction.user.id)
        )
        await self.done(interaction, "Question channels", settings, note=self.intent_note())

    @app_commands.command(name="remove-channel")
    @app_commands.describe(channel="The question channel or forum to stop answering in")
    async def remove_channel(
        self, interaction: discord.Interaction[Verbatim], channel: QuestionChannel
    ) -> None:
        """Stop answering every message of a channel or every post of a forum."""
        scope = server_scope(interaction)
        current = self.bot.server_settings.of(scope).question_channels
        settings = await self.bot.server_settings.set(
            scope,
            "question_channels",
            [c for c in current if c != channel.id],
            by=str(interaction.user.id),
        )
        await self.done(interaction, "Question channels", settings)

    @app_commands.command(name="support-role")
    @app_commands.describe(role="The role to mention when the documents fall short (none: nobody)")
    async def support_role(
        self, interaction: discord.Interaction[Verbatim], role: discord.Role | None = None
    ) -> None:
        """The role mentioned when a question channel or forum post needs a person."""
        settings = await self.bot.server_settings.set(
            server_scope(interaction),
            "support_role",
            role.id if role is not None else None,
            by=str(interaction.user.id),
        )
        await self.done(interaction, "Support role", settings)

    @app_commands.command(name="cooldown")
    @app_commands.describe(
        questions="How many questions each member may ask in the window",
        seconds="The window, in seconds (0 turns the cooldown off)",
    )
    async def cooldown(
        self,
        interaction: discord.Interaction[Verbatim],
        questions: app_commands.Range[int, 1, 100],
        seconds: app_commands.Range[float, 0.0, 3600.0],
    ) -> None:
        """How often each member may ask here."""
        scope = server_scope(interaction)
        by = str(interaction.user.id)
        await self.bot.server_settings.set(scope, "cooldown_questions", questions, by=by)
        settings = await self.bot.server_settings.set(scope, "cooldown_seconds", seconds, by=by)
        await self.done(interaction, "Cooldown", settings)

    @app_commands.command(name="threshold")
    @app_commands.describe(
        value="The share of the question's weight the best sentence needs (0 to 1; default 0.3)"
    )
    async def threshold(
        self,
        interaction: discord.Interaction[Verbatim],
        value: app_commands.Range[float, 0.0, 1.0],
    ) -> None:
        """How sure the bot must be before it answers (higher: fewer, surer answers)."""
        settings = await self.bot.server_settings.set(
            server_scope(interaction), "min_confidence", value, by=str(interaction.user.id)
        )
        await self.done(interaction, "Answer threshold", settings)

    @app_commands.command(name="reset")
    @app_commands.describe(setting="The setting to put back to the bot's configured default")
    async def reset(self, interaction: discord.Interaction[Verbatim], setting: Setting) -> None:
        """Put one of this server's settings back to the bot's configured default."""
        settings = await self.bot.server_settings.reset(
            server_scope(interaction), setting, by=str(interaction.user.id)
        )
        await self.done(interaction, _NAMES[setting], settings)

    async def done(
        self,
        interaction: discord.Interaction[Verbatim],
        what: str,
        settings: ServerSettings,
        note: str = "",
    ) -> None:
        """Confirm a change with the server's settings as they now stand."""
        lines = [f"**{what}** changed; in force now:", *settings_lines(settings)]
        if note:
            lines.append(note)
        await tell(interaction, fit_lines(lines))

    def intent_note(self) -> str:
        """A warning when question channels cannot see whole messages."""
        return "" if self.bot.intents.message_content else NO_CONTENT_INTENT


async def setup(bot: Verbatim) -> None:
    """Load the cog."""
    await bot.add_cog(ServerSettingsCog(bot))
