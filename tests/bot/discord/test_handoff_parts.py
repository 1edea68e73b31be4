"""The hand-off line: exactly one role mentioned, and the line always fits the reply."""

import discord

from bot.discord.handoff import pinging_only, with_line
from bot.discord.render import MESSAGE_LIMIT


def test_the_call_in_mentions_exactly_one_role_and_nobody_else():
    allowed = pinging_only(discord.Object(42)).to_dict()
    assert allowed == {"parse": [], "roles": [42]}  # no users, no @everyone, no reply ping


def test_a_line_is_added_last_and_whole_lines_make_room_for_it():
    assert with_line("quote\ncitation", "call") == "quote\ncitation\ncall"
    long = "\n".join(["x" * 600] * 3)  # 1,802 characters
    added = with_line(long, "y" * 300)
    assert len(added) <= MESSAGE_LIMIT
    assert added == "\n".join(["x" * 600] * 2 + ["y" * 300])
