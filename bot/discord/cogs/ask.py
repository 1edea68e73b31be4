"""Members ask: a mention, a question channel, /ask and the "Ask Verbatim" message command."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from functools import partial
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import GENERIC_ERROR, CoolingDown
from bot.discord.handoff import (
    NOT_COVERED,
    THUMBS_DOWN,
    covered,
    pinging_only,
    support_role,
    with_line,
)
from bot.discord.render import NO_MENTIONS, escape, render_answer
from bot.discord.solved import SolvedButton, forum_post
from bot.engine.library import AskResult
from bot.errors import VerbatimError
from bot.store import GLOBAL_SCOPE

if TYPE_CHECKING:
    from bot.discord.app import Verbatim

log = logging.getLogger(__name__)

FEEDBACK_THANKS = {
    1: "Thanks: recorded 👍 for this answer.",
    -1: "Thanks: recorded 👎 for this answer.",
}
FEEDBACK_GONE = "This answer is no longer in the log."
_PEOPLES_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)
ASKED_BEFORE = "-# Asked before: {link}"
# How many forum posts are remembered as answered (a post's first message comes once or twice,
# within moments).
_POSTS_REMEMBERED = 10_000


def is_post_start(message: discord.Message) -> bool:
    """Whether a message opens a forum post: its first message has the post's (thread's) id."""
    return isinstance(message.channel, discord.Thread) and message.id == message.channel.id


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
        await interaction.client.library.privacy.record_feedback(
            self.interaction_id, str(interaction.user.id), self.vote
        )
        await interaction.response.send_message(
            FEEDBACK_THANKS[self.vote], ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        if self.vote < 0:
            await call_in_on_thumbs_down(interaction, self.interaction_id)


async def call_in_on_thumbs_down(
    interaction: discord.Interaction[Verbatim], interaction_id: int
) -> None:
    """Call the support role in after a 👎 on an answer in a question channel or forum post.

    Once per answer, however many 👎 it gets.
    """
    role = support_role(interaction.client, interaction.channel)
    if role is None or not await interaction.client.store.hand_off_once(interaction_id):
        return
    try:
        await interaction.followup.send(
            THUMBS_DOWN.format(role=role.mention), allowed_mentions=pinging_only(role)
        )
    except discord.HTTPException:
        log.warning("could not call the support role in, in %s", interaction.channel_id)


def feedback_view(result: AskResult, channel: object = None) -> discord.ui.View | None:
    """The buttons under a reply: 👍/👎 for an answer, and "Solved" in a forum post.

    None when there is neither (nothing found, outside a forum post). The closest passages of
    a "not sure" reply get 👍/👎 too: a 👍 says they did answer.
    """
    view = discord.ui.View(timeout=None)
    if result.answer.answered or result.answer.closest:
        view.add_item(FeedbackButton(result.interaction_id, 1))
        view.add_item(FeedbackButton(result.interaction_id, -1))
    if forum_post(channel) is not None:
        view.add_item(SolvedButton(result.interaction_id))
    return view if view.children else None


class Ask(commands.Cog):
    """Every way a member asks a question, answered from the engine with citations."""

    def __init__(self, bot: Verbatim) -> None:
        self.bot = bot
        self.ask_menu = app_commands.ContextMenu(name="Ask Verbatim", callback=self.ask_about)
        # Forum posts whose first message is being or was answered: it can come twice, as its
        # MESSAGE_CREATE and fetched after THREAD_CREATE (see on_thread_create).
        self._posts: OrderedDict[int, None] = OrderedDict()

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
        earlier: str | None = None,
        link: str | None = None,
        thread: bool = False,
    ) -> tuple[str, AskResult]:
        """Ask the engine and render its answer as reply text, with "asked before" if any.

        `earlier`: the first question of the thread asked in, context for a follow-up. `link`:
        where the question can be seen. `thread`: asked in a thread (its own earlier questions
        are not "asked before").
        """
        result = await self.bot.library.ask(
            question,
            scope=scope,
            via=via,
            channel_id=str(channel_id),
            user_id=str(user_id),
            min_confidence=self.bot.server_settings.of(scope).min_confidence,
            earlier=earlier,
            link=link,
        )
        # String work kept off the event loop, and in this server's turn like its answering.
        library = self.bot.library
        text = await library.in_turn(
            scope, partial(render_answer, result.answer, library.analyzer, header=header)
        )
        try:
            before = await self.bot.library.asked_before(
                scope,
                result.answer.question,
                not_id=result.interaction_id,
                asker=str(user_id),
                answered=covered(result.answer),
                not_in=str(channel_id) if thread else None,
            )
        except Exception:  # an extra: the answer goes out without it
            log.exception("looking for a question asked before failed")
            before = None
        if before is not None:
            text = with_line(text, ASKED_BEFORE.format(link=before.link))
        return text, result

    def call_in(
        self, text: str, result: AskResult, channel: object
    ) -> tuple[str, discord.AllowedMentions]:
        """The reply and who it may ping.

        The server's support role (if it has one) when the documents do not cover a question
        asked in a question channel or forum post; nobody otherwise.
        """
        role = None if covered(result.answer) else support_role(self.bot, channel)
        if role is None:
            return text, NO_MENTIONS
        return with_line(text, NOT_COVERED.format(role=role.mention)), pinging_only(role)

    async def earlier_question(self, channel: object, scope: int) -> str | None:
        """A thread's first question, to rank its follow-ups with (never quoted).

        The first one logged in the thread, else what opened it: a forum post's title and
        text, or a thread's starting message (or name).
        """
        if not isinstance(channel, discord.Thread):
            return None
        logged = await self.bot.store.first_question(scope, str(channel.id))
        if logged is not None:
            return logged
        # The first message of a forum post, or the channel message a thread was started
        # from: both have the thread's id (from the cache: no request for context).
        starter = channel.starter_message
        text = starter.content if starter is not None else ""
        if isinstance(channel.parent, discord.ForumChannel) or not text:
            return "\n".join(part for part in (channel.name, text) if part) or None
        return text

    def check_cooldown(self, scope: int, user_id: int) -> None:
        """Raise CoolingDown when the user has asked too often lately (the server's cooldown)."""
        settings = self.bot.server_settings.of(scope)
        retry_after = self.bot.cooldown.retry_after(
            (scope, user_id),
            questions=settings.cooldown_questions,
            seconds=settings.cooldown_seconds,
        )
        if retry_after:
            raise CoolingDown(retry_after)

    # -- messages: mentions, replies to the bot, DMs, question channels, forum posts ------

    def question_in(self, message: discord.Message) -> tuple[str, str] | None:
        """(how it was asked, the question) when a message asks the bot something."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return None
        if message.type not in _PEOPLES_MESSAGES:
            # System messages ("started a thread: <its name>", pins, joins) ask nothing.
            return None
        text = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        if message.guild is None:
            return "dm", text
        question_channels = self.bot.server_settings.of(message.guild.id).question_channels
        channel = message.channel
        if is_post_start(message) and getattr(channel, "parent_id", None) in question_channels:
            # A new post in a question forum: its title and first message are the question.
            # The title arrives even without the message content intent.
            title = getattr(channel, "name", "") or ""
            return "forum", "\n".join(part for part in (title, text) if part)
        reference = message.reference.resolved if message.reference else None
        replied_to_me = isinstance(reference, discord.Message) and reference.author.id == me.id
        if me in message.mentions or replied_to_me:
            return "mention", text
        # Inside a thread (a forum post's later messages too) only mentions and replies count:
        # the rest is conversation, not questions for the bot.
        if not isinstance(channel, discord.Thread) and channel.id in question_channels:
            # Without the message content intent the text is empty: nothing to answer.
            return ("channel", text) if text else None
        return None

    def claim_post(self, post_id: int) -> bool:
        """Whether this is the first time a post's first message is to be answered."""
        if post_id in self._posts:
            return False
        self._posts[post_id] = None
        if len(self._posts) > _POSTS_REMEMBERED:
            self._posts.popitem(last=False)
        return True

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """Join a new post of a question forum, and answer it if its first message has not come.

        Joining makes sure the post's messages reach the bot. Its first message normally
        follows THREAD_CREATE as MESSAGE_CREATE; if it has not been handled once the join is
        done, it is fetched and answered here (whichever comes first answers, once).
        """
        if thread.guild is None or not isinstance(thread.parent, discord.ForumChannel):
            return
        if thread.parent_id not in self.bot.server_settings.of(thread.guild.id).question_channels:
            return
        if thread.owner_id == getattr(self.bot.user, "id", None):
            return
        try:
            await thread.join()
        except discord.HTTPException:
            log.info("could not join post %d", thread.id)
        if thread.id in self._posts:
            return
        try:
            starter = thread.starter_message or await thread.fetch_message(thread.id)
        except discord.NotFound:
            return  # not there yet: it will come as MESSAGE_CREATE
        except discord.HTTPException:
            log.warning("could not read the first message of post %d", thread.id, exc_info=True)
            return
        await self.on_message(starter)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a question asked in a message, replying to it."""
        async with self.bot.answering:
            asked = self.question_in(message)
            if asked is None:
                return
            via, question = asked
            if via == "forum" and not self.claim_post(message.channel.id):
                return
            try:
                self.check_cooldown(scope_of(message.guild), message.author.id)
            except CoolingDown:
                await _react(message, "⏳")
                return
            try:
                scope = scope_of(message.guild)
                # A new forum post opens its thread: no earlier question to lean on.
                earlier = (
                    None if via == "forum" else await self.earlier_question(message.channel, scope)
                )
                text, result = await self.answer(
                    question,
                    scope=scope,
                    via=via,
                    channel_id=message.channel.id,
                    user_id=message.author.id,
                    earlier=earlier,
                    link=message.jump_url if message.guild is not None else None,
                    thread=isinstance(message.channel, discord.Thread),
                )
            except VerbatimError as error:
                await _reply(message, error.render(escape))
                return
            except Exception:
                log.exception("answering a message failed")
                await _reply(message, GENERIC_ERROR)
                return
            text, allowed = self.call_in(text, result, message.channel)
            view = feedback_view(result, message.channel)
            await _reply(message, text, view, allowed_mentions=allowed)

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
        await self.respond(
            interaction,
            message.content,
            via="context-menu",
            header=header,
            link=message.jump_url if message.guild is not None else None,
        )

    async def respond(
        self,
        interaction: discord.Interaction[Verbatim],
        question: str,
        *,
        via: str,
        header: str = "",
        link: str | None = None,
    ) -> None:
        """Check, acknowledge at once, then answer in a follow-up with the feedback buttons."""
        async with self.bot.answering:
            # Refusals come before the deferral so they can be ephemeral; the tree's on_error
            # turns them into a short reply only the asker sees.
            question = self.bot.library.check_question(question)
            self.check_cooldown(scope_of(interaction.guild), interaction.user.id)
            await interaction.response.defer(thinking=True)
            scope = scope_of(interaction.guild)
            text, result = await self.answer(
                question,
                scope=scope,
                via=via,
                channel_id=interaction.channel_id or 0,
                user_id=interaction.user.id,
                header=header,
                earlier=await self.earlier_question(interaction.channel, scope),
                link=link,
                thread=isinstance(interaction.channel, discord.Thread),
            )
            view = feedback_view(result, interaction.channel)
            text, allowed = self.call_in(text, result, interaction.channel)
            sent = await interaction.followup.send(
                text,
                allowed_mentions=allowed,
                suppress_embeds=True,
                wait=True,
                **({"view": view} if view is not None else {}),
            )
            if link is None and interaction.guild_id is not None:
                # A slash command's question is seen in the reply that quotes the answer (built
                # here: a follow-up message does not know its server).
                await self.bot.store.set_link(
                    result.interaction_id,
                    f"https://discord.com/channels/{interaction.guild_id}/{sent.channel.id}/{sent.id}",
                )



async def _reply(
    message: discord.Message,
    text: str,
    view: discord.ui.View | None = None,
    *,
    allowed_mentions: discord.AllowedMentions = NO_MENTIONS,
) -> None:
    try:
        await message.reply(
            text,
            allowed_mentions=allowed_mentions,
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
