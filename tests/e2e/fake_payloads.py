"""What the fake Discord sends: users, members, channels, threads, messages, interactions."""

from __future__ import annotations

import secrets
from typing import Any

from tests.e2e.fake_wire import (
    MEMBER_PERMISSIONS,
    MESSAGE_TYPE_DEFAULT,
    Snowflakes,
    timestamp,
)


class Payloads:
    """Builds realistic Discord objects for the one application, server and channels it plays."""

    snowflake: Snowflakes

    def user(self, username: str, *, bot: bool = False) -> dict[str, Any]:
        """A user object."""
        return {
            "id": self.snowflake(),
            "username": username,
            "discriminator": "0",
            "global_name": None if bot else username.title(),
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }

    def member(self, user: dict[str, Any], *, with_user: bool = True) -> dict[str, Any]:
        """A server member object for `user` (with only the @everyone role)."""
        member: dict[str, Any] = {
            "roles": [],
            "nick": None,
            "avatar": None,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = user
        return member

    def channel(self) -> dict[str, Any]:
        """The server's text channel."""
        return {
            "id": self.channel_id,
            "type": 0,
            "guild_id": self.guild_id,
            "name": "questions",
            "position": 0,
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }

    def forum(self) -> dict[str, Any]:
        """The server's forum channel (type 15), with a "Solved" tag among its tags."""
        tag = {"moderated": False, "emoji_id": None, "emoji_name": None}
        return {
            **self.channel(),
            "id": self.forum_id,
            "type": 15,
            "name": "help",
            "available_tags": [
                {**tag, "id": self.solved_tag_id, "name": "Solved"},
                {**tag, "id": self.bug_tag_id, "name": "Bug"},
            ],
            "default_reaction_emoji": None,
            "default_sort_order": None,
            "default_forum_layout": 0,
            "default_thread_rate_limit_per_user": 0,
        }

    def thread_payload(
        self, name: str, *, parent: str, owner: dict[str, Any], kind: int = 11
    ) -> dict[str, Any]:
        """A thread channel object (type 11, public), as THREAD_CREATE carries it."""
        now = timestamp()
        thread = {
            "id": self.snowflake(),
            "type": kind,
            "guild_id": self.guild_id,
            "parent_id": parent,
            "owner_id": owner["id"],
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "applied_tags": [],
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
            "newly_created": True,
        }
        self.threads[thread["id"]] = thread
        return thread

    def thread(self, name: str, *, owner: dict[str, Any] | None = None) -> dict[str, Any]:
        """THREAD_CREATE data of a public thread a member starts in the text channel."""
        return self.thread_payload(name, parent=self.channel_id, owner=owner or self.member_user)

    def forum_post(
        self, title: str, content: str, *, author: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A member's new forum post: THREAD_CREATE data of its thread, then the MESSAGE_CREATE
        data of its first message, whose id is the thread's id (as Discord sends them)."""
        author = author or self.member_user
        thread = self.thread_payload(title, parent=self.forum_id, owner=author)
        starter = self.message(content, author=author, channel_id=thread["id"])
        starter["id"] = thread["id"]
        return thread, starter

    def guild(self) -> dict[str, Any]:
        """The GUILD_CREATE payload of the one server (the bot's member is in it)."""
        everyone = {
            "id": self.guild_id,
            "name": "@everyone",
            "permissions": str(MEMBER_PERMISSIONS),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        members = [self.member(u) for u in (self.owner, self.member_user, self.bot_user)]
        return {
            "id": self.guild_id,
            "name": "Verbatim test server",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.owner["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": self.channel_id,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500_000,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [everyone, self.support_role()],
            "member_count": len(members),
            "large": False,
            "unavailable": False,
            "joined_at": timestamp(),
            "members": members,
            "channels": [self.channel(), self.forum()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_progress_bar_enabled": False,
        }

    def support_role(self) -> dict[str, Any]:
        """A mentionable role of people who help (the hand-off's role)."""
        return {
            "id": self.support_role_id,
            "name": "Support",
            "permissions": "0",
            "position": 1,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": True,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }

    def message(
        self,
        content: str,
        *,
        author: dict[str, Any] | None = None,
        mentions: tuple = (),
        channel_id: str | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload: `author` (the member by default) writes in the channel
        (or in the thread `channel_id`)."""
        author = author or self.member_user
        return {
            "id": self.snowflake(),
            "type": MESSAGE_TYPE_DEFAULT,
            "channel_id": channel_id or self.channel_id,
            "guild_id": self.guild_id,
            "author": author,
            "member": self.member(author, with_user=False),
            "content": content,
            "timestamp": timestamp(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [{**u, "member": self.member(u, with_user=False)} for u in mentions],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "flags": 0,
            "nonce": None,
        }

    def slash_command(
        self, name: str, options: dict[str, str], *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a chat-input command with string options."""
        registered = self.commands.get(self.guild_id, []) + self.commands.get("global", [])
        command = next((c for c in registered if c["name"] == name and c["type"] == 1), None)
        data = {
            "id": command["id"] if command else self.snowflake(),
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
            **({"guild_id": self.guild_id} if command and "guild_id" in command else {}),
        }
        return self._interaction(2, data, user or self.member_user)

    def button_click(
        self, message: dict[str, Any], custom_id: str, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a click on a button of `message` (in its channel
        or thread)."""
        data = {"custom_id": custom_id, "component_type": 2}
        channel = self.threads.get(message["channel_id"])
        click = self._interaction(3, data, user or self.member_user, channel=channel)
        return {**click, "message": message}

    def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user: dict[str, Any],
        *,
        channel: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        channel = channel or self.channel()
        token = f"aW50ZXJhY3Rpb246{secrets.token_urlsafe(48)}"
        self.interactions[token] = interaction = {
            "id": self.snowflake(),
            "application_id": self.application_id,
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "guild_id": self.guild_id,
            "channel_id": channel["id"],
            "channel": channel,
            "member": {**self.member(user), "permissions": str(MEMBER_PERMISSIONS)},
            "app_permissions": str(MEMBER_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_id},
            "context": 0,
            "attachment_size_limit": 26_214_400,
        }
        return interaction

    def application(self) -> dict[str, Any]:
        """The application object of `GET /oauth2/applications/@me`."""
        return {
            "id": self.application_id,
            "name": "Verbatim",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner,
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "interactions_endpoint_url": None,
            "summary": "",
        }
