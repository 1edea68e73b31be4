"""Small helpers shared by the Discord tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import simcord

from bot.discord.render import MESSAGE_LIMIT

WIDGETS = (
    "Widget maintenance happens every Tuesday at noon in the east hall. "
    "Spare widgets are kept in the blue cabinet next to the loading dock. "
    "The widget committee meets on the first Friday of each month.\n"
)
WIDGET_QUESTION = "where are spare widgets kept?"


_MESSAGE_PATH = re.compile(r"/(messages|callback)(/|$|\?)|/webhooks/\d+/[^/]+(/messages/[^/]+)?$")


def message_requests(env: simcord.Env) -> list[simcord.HttpLogEntry]:
    """Every REST call the bot made that creates or edits a message."""
    return [
        entry
        for entry in env.http_requests
        if entry.method in ("POST", "PATCH")
        and _MESSAGE_PATH.search(entry.path)
        and isinstance(entry.json, dict)
    ]


def _checked_messages(env: simcord.Env) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each message the bot sent with text, and its allowed_mentions, checked on the wire for
    what no message may ever allow (@everyone and the like, users, a ping of the replied-to
    author) and for Discord's length limit."""
    requests = message_requests(env)
    assert requests, "the bot sent no messages"
    for entry in requests:
        payload = entry.json.get("data", entry.json)
        if "content" not in payload:
            continue
        allowed = payload.get("allowed_mentions")
        assert allowed is not None, f"{entry.method} {entry.path} sent no allowed_mentions"
        assert allowed.get("parse") == [], allowed
        assert not allowed.get("users") and not allowed.get("replied_user"), allowed
        assert len(payload["content"]) <= MESSAGE_LIMIT
        yield payload, allowed


def assert_never_pings(env: simcord.Env) -> None:
    """Every message the bot sent allowed no mentions at all (users, roles, everyone)."""
    for _, allowed in _checked_messages(env):
        assert not allowed.get("roles"), allowed


def role_pings(env: simcord.Env, role_id: int) -> list[str]:
    """The messages the bot sent that may ping `role_id` (their text), checking on the wire that
    every message allowed no mention at all, or exactly that role and nothing else: no
    @everyone, no users, no other role, no ping of the replied-to author; and that the role
    is mentioned once in such a message."""
    pinging = []
    for payload, allowed in _checked_messages(env):
        roles = allowed.get("roles") or []
        if roles:
            assert [str(role) for role in roles] == [str(role_id)], allowed
            assert payload["content"].count(f"<@&{role_id}>") == 1, payload["content"]
            pinging.append(payload["content"])
    return pinging


def pinged_roles(env: simcord.Env, channel: simcord.ChannelHandle) -> list[list[int]]:
    """The roles simcord's model of Discord says each message of a channel actually pinged."""
    stored = env.backend.messages[channel.id]
    return [list(stored[message.id].ping_role_ids) for message in channel.history()]


def callback_types(env: simcord.Env) -> list[int]:
    """The interaction response types the bot sent, in order (5 is "deferred, thinking")."""
    return [
        entry.json["type"]
        for entry in env.http_requests
        if entry.path.endswith("/callback") and isinstance(entry.json, dict)
    ]


def sentence_number(content: str) -> int:
    """The sentence number of the first citation in a reply."""
    match = re.search(r"sentence (\d+)", content)
    assert match, content
    return int(match.group(1))


async def open_post(
    env: simcord.Env,
    forum: simcord.ChannelHandle,
    author: simcord.MemberActor,
    title: str,
    content: str,
    *,
    tags: tuple[int, ...] = (),
    first_message_event: bool = True,
) -> simcord.ChannelHandle:
    """A member opens a post in a forum, as Discord delivers it: THREAD_CREATE for the post's
    thread, then MESSAGE_CREATE for its first message, whose id is the thread's id.

    simcord's actors cannot open forum posts, so this drives its backend the way its own
    bot-side forum route does (minus the rule that only the bot may author the first message).
    `first_message_event=False`: the MESSAGE_CREATE never reaches the bot (only the thread).
    """
    backend = env.backend
    thread = backend.create_thread(forum.id, title, author.id, applied_tags=tags, broadcast=False)
    starter = backend.prepare_message(thread.id, author.id, content)
    starter.id = thread.id
    backend.commit_message(starter, broadcast=False)
    backend.announce_thread_create(thread)
    if first_message_event:
        backend.announce_message_create(starter)
    await env.settle()
    return simcord.ChannelHandle(env, forum.guild, thread)


async def open_thread(
    env: simcord.Env, channel: simcord.ChannelHandle, author: simcord.MemberActor, name: str
) -> simcord.ChannelHandle:
    """A member starts a public thread (type 11) in a text channel: THREAD_CREATE, as Discord."""
    thread = env.backend.create_thread(channel.id, name, author.id)
    await env.settle()
    return simcord.ChannelHandle(env, channel.guild, thread)


async def give_tags(env: simcord.Env, forum: simcord.ChannelHandle, *names: str) -> dict[str, int]:
    """Give a forum its available tags (CHANNEL_UPDATE, as when an admin edits the forum)."""
    tags = [
        {
            "id": str(env.backend.snowflake()),
            "name": name,
            "moderated": False,
            "emoji_id": None,
            "emoji_name": None,
        }
        for name in names
    ]
    env.backend.edit_channel(forum.id, {"available_tags": tags})
    await env.settle()
    return {tag["name"]: int(tag["id"]) for tag in tags}
