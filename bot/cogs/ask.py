"""Members ask: a mention, a question channel, /ask and the "Ask Verbatim" message command."""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import GENERIC_ERROR, CoolingDown
from bot.errors import VerbatimError
from bot.library import AskResult
from bot.render import NO_MENTIONS, render_answer
from bot.store import GLOBAL_SCOPE

if TYPE_CHECKING:
    from bot.app import Verbatim

log = logging.getLogger(__name__)

FEEDBACK_THANKS = {
    1: "Thanks: recorded 👍 for this answer.",
    -1: "Thanks: recorded 👎 for this answer.",
}
FEEDBACK_GONE = "This answer is no longer in the log."


def scope_of(guild: discord.abc.Snowflake | None) -> int:
    """A server's documents live in its own scope; DMs see only the global one."""
    return guild.id if guild is not None else GLOBAL_SCOPE


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"verbatim:fb:(?P<id>\d+):(?P<vote>up|down)",
):  # noqa: E501
    """👍 or 👎 under an answer, keyed to its log row, so it keeps working after a restart."""

    def __init__(self, interaction_id: int, vote: int) -> None:
        up = vote > 0
        super().__init__(
            discord.ui.Button(
                emoji="👍" if up else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"verbatim:fb:{interaction_id}:{'up' if up else 'down'}",
            )
        )
        self.interaction_id = interaction_id
        self.vote = 1 if up else -1

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> FeedbackButton:
        """Rebuild the button from its custom id when it is clicked."""
        return cls(int(match["id"]), 1 if match["vote"] == "up" else -1)

    async def callback(self, interaction: discord.Interaction[Verbatim]) -> None:
        """Record the click in the log, for the answer's own server only."""
        store = interaction.client.store
        record = await store.get_interaction(self.interaction_id)
        if record is None or record.scope != scope_of(interaction.guild):
            await interaction.response.send_message(
                FEEDBACK_GONE, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        # Through the library: it stores the user id hashed when privacy.hash_user_ids is on.
        await interaction.client.library.record_feedback(
            self.interaction_id, str(interaction.user.id), self.vote
        )
        await interaction.response.send_message(
            FEEDBACK_THANKS[self.vote], ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def feedback_view(result: AskResult) -> discord.ui.View | None:
    """The 👍/👎 pair for an answer; none when nothing was found."""
    if not result.answer.answered:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton(result.interaction_id, 1))
    view.add_item(FeedbackButton(result.interaction_id, -1))
    return view


class Ask(commands.Cog):
    """Every way a member asks a question, answered from the engine with citations."""

    def __init__(self, bot: Verbatim) -> None:
        self.bot = bot
        self.ask_menu = app_commands.ContextMenu(name="Ask Verbatim", callback=self.ask_about)

    async def cog_load(self) -> None:
        """Register the message command (context menus cannot be declared in a cog)."""
        self.bot.tree.add_command(self.ask_menu)

    async def cog_unload(self) -> None:
        """Remove the message command with the cog."""
        self.bot.tree.remove_command(self.ask_menu.name, type=self.ask_menu.type)

    # -- answering ------------------------------------------------------------------------

    async def answer(
        self,
        question: str,
        *,
        scope: int,
        via: str,
        channel_id: int,
        user_id: int,
        header: str = "",
    ) -> tuple[str, AskResult]:
        """Ask the engine and render its answer as reply text."""
        result = await self.bot.library.ask(
            question, scope=scope, via=via, channel_id=str(channel_id), user_id=str(user_id)
        )
        # String work kept off the event loop, and in this server's turn like its answering.
        library = self.bot.library
        text = await library.in_turn(
            scope, partial(render_answer, result.answer, library.analyzer, header=header)
        )
        return text, result

    def check_cooldown(self, user_id: int) -> None:
        """Raise CoolingDown when the user has asked too often lately."""
        retry_after = self.bot.cooldown.retry_after(user_id)
        if retry_after:
            raise CoolingDown(retry_after)

    # -- messages: mentions, replies to the bot, DMs, question channels -------------------

    def question_in(self, message: discord.Message) -> tuple[str, str] | None:
        """(how it was asked, the question) when a message asks the bot something."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return None
        text = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        if message.guild is None:
            return "dm", text
        reference = message.reference.resolved if message.reference else None
        replied_to_me = isinstance(reference, discord.Message) and reference.author.id == me.id
        if me in message.mentions or replied_to_me:
            return "mention", text
        channel_id = getattr(message.channel, "parent_id", None) or message.channel.id
        if message.channel.id in self.bot.settings.discord.question_channels or (
            channel_id in self.bot.settings.discord.question_channels
        ):
            # Without the message content intent the text is empty: nothing to answer.
            return ("channel", text) if text else None
        return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a question asked in a message, replying to it."""
        asked = self.question_in(message)
        if asked is None:
            return
        via, question = asked
        try:
            self.check_cooldown(message.author.id)
        except CoolingDown:
            await _react(message, "⏳")
            return
        try:
            text, result = await self.answer(
                question,
                scope=scope_of(message.guild),
                via=via,
                channel_id=message.channel.id,
                user_id=message.author.id,
            )
        except VerbatimError as error:
            await _reply(message, error.message)
            return
        except Exception:
            log.exception("answering a message failed")
            await _reply(message, GENERIC_ERROR)
            return
        await _reply(message, text, feedback_view(result))

    # -- slash and context-menu commands ----------------------------------------------------

    @app_commands.command(name="ask")
    @app_commands.describe(question="What you want to know")
    async def ask(
        self, interaction: discord.Interaction[Verbatim], question: app_commands.Range[str, 1, 2000]
    ) -> None:
        """Ask a question; the answer quotes the documents, with citations."""
        await self.respond(interaction, question, via="slash")

    async def ask_about(
        self, interaction: discord.Interaction[Verbatim], message: discord.Message
    ) -> None:
        """Answer the question in someone's message."""
        header = f"-# Asked in {message.jump_url}"
        await self.respond(interaction, message.content, via="context-menu", header=header)

    async def respond(
        self,
        interaction: discord.Interaction[Verbatim],
        question: str,
        *,
        via: str,
        header: str = "",
    ) -> None:
        """Check, acknowledge at once, then answer in a follow-up with the feedback buttons."""
        # Refusals come before the deferral so they can be ephemeral; the tree's on_error
        # turns them into a short reply only the asker sees.
        question = self.bot.library.check_question(question)
        self.check_cooldown(interaction.user.id)
        await interaction.response.defer(thinking=True)
        text, result = await self.answer(
            question,
            scope=scope_of(interaction.guild),
            via=via,
            channel_id=interaction.channel_id or 0,
            user_id=interaction.user.id,
            header=header,
        )
        view = feedback_view(result)
        await interaction.followup.send(
            text,
            allowed_mentions=NO_MENTIONS,
            suppress_embeds=True,
            **({"view": view} if view is not None else {}),
        )


async def _reply(message: discord.Message, text: str, view: discord.ui.View | None = None) -> None:
    try:
        await message.reply(
            text,
            allowed_mentions=NO_MENTIONS,
            mention_author=False,
            suppress_embeds=True,
            **({"view": view} if view is not None else {}),
        )
    except discord.HTTPException:
        log.warning("could not reply in channel %s", message.channel.id, exc_info=True)


async def _react(message: discord.Message, emoji: str) -> None:
    try:
        await message.add_reaction(emoji)
    except discord.HTTPException:
        log.info("could not react in channel %s", message.channel.id)


async def setup(bot: Verbatim) -> None:
    """Load the cog and make old answers' feedback buttons live again."""
    bot.add_dynamic_items(FeedbackButton)
    await bot.add_cog(Ask(bot))
