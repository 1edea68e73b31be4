"""Moderators curate documents with /docs; everyone else is refused; servers never mix."""

from __future__ import annotations

import re

import pytest
import simcord
from aiohttp import web

from bot.discord.checks import NOT_MODERATOR, NotModerator
from bot.discord.render import NOT_FOUND, escape
from bot.errors import DocumentRejectedError
from tests.bot.discord.helpers import WIDGET_QUESTION, WIDGETS, assert_never_pings, sentence_number
from tests.local_http import Route, local_server

WIDGET_FILE = ("widgets.txt", WIDGETS.encode())


async def add_widgets(server, **options) -> simcord.InteractionResult:
    return await server.moderator.slash(
        server.channel, "docs add", file=WIDGET_FILE, title="Widget handbook", **options
    )


async def test_a_moderator_adds_a_file_and_the_next_question_is_answered_from_it(world, server):
    before = await server.member.slash(server.channel, "ask", question=WIDGET_QUESTION)
    assert before.response.content == NOT_FOUND

    added = await add_widgets(server)

    assert added.ephemeral
    assert re.fullmatch(
        r"Added 'Widget handbook', 3 sentences \(document \d+\)\.", added.response.content
    )
    answer = await server.member.slash(server.channel, "ask", question=WIDGET_QUESTION)
    content = answer.response.content
    assert "> **Spare widgets** are **kept** in the blue cabinet" in content
    # An attachment's link expires: the citation names the file instead.
    assert "*Widget handbook* — sentence 2 · widgets.txt" in content
    assert sentence_number(content) == 2
    document = (await world.bot.store.list_documents(server.guild.id))[0]
    assert document.source == "widgets.txt" and document.added_by == str(server.moderator.id)
    assert_never_pings(world.env)


async def test_pasted_text_and_duplicates(world, server):
    added = await server.moderator.slash(
        server.channel, "docs add", text=WIDGETS, title="Pasted widgets"
    )
    assert added.response.content.startswith("Added 'Pasted widgets', 3 sentences")

    again = await add_widgets(server)
    assert again.ephemeral
    assert "already here as document" in again.response.content
    assert "'Pasted widgets'" in again.response.content
    assert await world.bot.store.count_documents(server.guild.id) == 1
    world.expected_errors()


async def test_a_moderator_adds_a_good_message_from_the_chat(world, server):
    # Rules typed one a line, as members write them: each line is a sentence of its own.
    message = await server.member.send(
        server.channel, "No spam\nBe kind to everyone\nNo NSFW content, not even in memes"
    )

    added = await server.moderator.context_menu(server.channel, "Add to Verbatim", message)

    assert added.ephemeral
    assert re.fullmatch(r"Added 'No spam', 3 sentences \(document \d+\)\.", added.response.content)
    document = (await world.bot.store.list_documents(server.guild.id))[0]
    assert document.source == message.jump_url
    assert document.added_by == str(server.moderator.id)
    sentences = await world.bot.store.document_sentences(document.id)
    assert [s.text for s in sentences] == [
        "No spam",
        "Be kind to everyone",
        "No NSFW content, not even in memes",
    ]
    answer = await server.member.slash(server.channel, "ask", question="can i post nsfw memes")
    assert "No **NSFW** content, not even in **memes**" in answer.response.content
    # Cited by a link to the message; the list's first rule is its title, said once.
    citation = f"-# [1] *No spam* — sentence 3 · [source message]({message.jump_url})"
    assert citation in answer.response.content
    assert_never_pings(world.env)


async def test_a_message_without_text_is_refused_and_members_cannot_add_one(world, server):
    picture = await server.member.send(server.channel, attachments=[("rules.png", bytes(64))])
    empty = await server.moderator.context_menu(server.channel, "Add to Verbatim", picture)
    assert empty.ephemeral
    assert empty.response.content == (
        "That message has no text to add (add an attachment with /docs add file:)."
    )

    world.open_to_everyone(server, "Add to Verbatim")
    text = await server.moderator.send(server.channel, "Spare widgets are in the blue cabinet.")
    refused = await server.member.context_menu(server.channel, "Add to Verbatim", text)
    assert refused.ephemeral and refused.response.content == NOT_MODERATOR

    # The refusal comes from inside the command, so discord.py wraps it.
    errors = [getattr(error, "original", error) for error in world.expected_errors()]
    assert [type(error) for error in errors] == [DocumentRejectedError, NotModerator]
    assert await world.bot.store.count_documents(server.guild.id) == 0


async def test_exactly_one_source_is_required(world, server):
    neither = await server.moderator.slash(server.channel, "docs add", title="Nothing")
    both = await server.moderator.slash(
        server.channel, "docs add", text="Some text here.", url="https://example.com/a.txt"
    )
    for result in (neither, both):
        assert result.ephemeral
        assert result.response.content == "Give exactly one of file, text or url."
    assert len(world.expected_errors()) == 2


async def test_unsupported_and_oversized_files_are_refused(world, server):
    image = await server.moderator.slash(
        server.channel, "docs add", file=("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    )
    assert image.ephemeral and "not a supported file type" in image.response.content

    await world.restart(documents={"max_bytes": 100})
    large = await server.moderator.slash(server.channel, "docs add", file=WIDGET_FILE)
    assert large.ephemeral
    assert large.response.content == f"'widgets.txt' is {len(WIDGETS):,} bytes; the limit is 100."
    assert await world.bot.store.count_documents(server.guild.id) == 0
    world.expected_errors()


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("docs add", {"text": WIDGETS}),
        ("docs remove", {"document": "1"}),
        ("docs replace", {"document": "1", "text": "Replaced text here."}),
        ("docs list", {}),
        ("docs show", {"document": "1"}),
    ],
)
async def test_a_member_is_refused_even_when_admins_open_the_command(
    world, server, command, options
):
    await add_widgets(server)
    world.open_to_everyone(server, "docs")
    before = await world.bot.store.list_documents(server.guild.id)

    result = await server.member.slash(server.channel, command, **options)

    assert result.ephemeral and result.response.content == NOT_MODERATOR
    assert [type(error) for error in world.expected_errors()] == [NotModerator]
    assert await world.bot.store.list_documents(server.guild.id) == before
    choices = await server.member.autocomplete(server.channel, "docs remove", "document", "Wid")
    assert choices == []


def test_moderator_commands_are_hidden_by_default_and_absent_from_dms(world, server):
    assert "docs add" not in server.member.available_commands(server.channel)
    assert "docs add" in server.moderator.available_commands(server.channel)
    assert "ask" in server.member.available_commands(server.channel)
    dm_commands = server.moderator.user.available_commands()
    assert "ask" in dm_commands
    assert not any(name.startswith(("docs", "qa")) for name in dm_commands)


async def test_a_configured_moderator_role_is_a_moderator(world, server):
    helpers = server.guild.create_role("Helpers")
    helper = server.guild.add_member(world.env.create_user("helper"), roles=[helpers])
    await world.restart(moderator_roles=(helpers.id,))
    world.open_to_everyone(server, "docs")

    result = await helper.slash(server.channel, "docs add", file=WIDGET_FILE)

    assert result.response.content.startswith("Added 'widgets', 3 sentences")


async def test_another_server_cannot_see_the_document(world, server):
    other = world.server("elsewhere")
    added = await add_widgets(server)
    document_id = re.search(r"document (\d+)", added.response.content).group(1)

    answer = await other.member.slash(other.channel, "ask", question=WIDGET_QUESTION)
    assert answer.response.content == NOT_FOUND
    listed = await other.moderator.slash(other.channel, "docs list")
    assert listed.response.content.startswith("No documents here yet")
    shown = await other.moderator.slash(other.channel, "docs show", document=document_id)
    assert shown.response.content == f"There is no document {document_id} here."
    removed = await other.moderator.slash(other.channel, "docs remove", document=document_id)
    assert removed.response.content == f"There is no document {document_id} here."
    assert await other.moderator.autocomplete(other.channel, "docs show", "document", "") == []
    world.expected_errors()

    # The home server still has it, and its moderators see it.
    assert await world.bot.store.count_documents(server.guild.id) == 1
    choices = await server.moderator.autocomplete(server.channel, "docs show", "document", "hand")
    assert choices == [{"name": f"Widget handbook (#{document_id})", "value": document_id}]


async def test_list_show_replace_and_remove(world, server):
    for n in range(1, 18):
        await server.moderator.slash(
            server.channel,
            "docs add",
            text=f"Rule {n} says gadget number {n} must be polished weekly.",
            title=f"Rule {n:02d}",
        )
    first = await server.moderator.slash(server.channel, "docs list")
    assert first.response.content.startswith("**Documents** (page 1 of 2, 17 in all)")
    assert "-# Next: /docs list page:2" in first.response.content
    second = await server.moderator.slash(server.channel, "docs list", page=2)
    assert "Rule 17" in second.response.content and "Rule 01" not in second.response.content

    added = await add_widgets(server)
    document_id = re.search(r"document (\d+)", added.response.content).group(1)
    shown = await server.moderator.slash(server.channel, "docs show", document="Widget handbook")
    assert f"**Widget handbook** (document {document_id})" in shown.response.content
    assert "`2.` Spare widgets are kept in the blue cabinet" in shown.response.content

    replaced = await server.moderator.slash(
        server.channel,
        "docs replace",
        document=document_id,
        text="Spare widgets moved to the red cabinet upstairs.",
    )
    assert replaced.response.content == (
        f"Replaced 'Widget handbook', 1 sentence (document {document_id})."
    )
    answer = await server.member.slash(server.channel, "ask", question=WIDGET_QUESTION)
    assert "red cabinet" in answer.response.content
    assert "blue cabinet" not in answer.response.content

    removed = await server.moderator.slash(server.channel, "docs remove", document=document_id)
    assert removed.response.content.startswith("Removed 'Widget handbook'")
    gone = await server.member.slash(server.channel, "ask", question=WIDGET_QUESTION)
    assert gone.response.content == NOT_FOUND


async def test_a_long_document_shows_within_one_message(world, server):
    text = " ".join(f"Statement {n} explains gadget rule {n} in detail." for n in range(1, 400))
    await server.moderator.slash(server.channel, "docs add", text=text[:6000], title="Many")
    shown = await server.moderator.slash(server.channel, "docs show", document="Many")
    assert len(shown.response.content) <= 2000
    assert re.search(r"… \d+ more: /docs show start:<number>$", shown.response.content)
    later = await server.moderator.slash(server.channel, "docs show", document="Many", start=50)
    assert "`50.` Statement 50" in later.response.content


async def test_an_exact_title_is_found_past_the_first_25_that_contain_it(world, server):
    for n in range(1, 28):
        await server.moderator.slash(
            server.channel,
            "docs add",
            text=f"Note {n} is about gadgets.",
            title=f"A gadget {n:02d}",
        )
    # Sorted by title, "Gadget" comes after all 27 titles that contain it.
    await server.moderator.slash(
        server.channel, "docs add", text="Gadgets are blue.", title="Gadget"
    )
    shown = await server.moderator.slash(server.channel, "docs show", document="gadget")
    assert shown.response.content.startswith("**Gadget** (document")
    vague = await server.moderator.slash(server.channel, "docs show", document="gadget 0")
    assert vague.response.content.startswith("No single document is titled 'gadget 0' here")
    world.expected_errors()


async def test_a_bot_restart_keeps_every_document(world, server):
    other = world.server("elsewhere")
    await add_widgets(server)
    await server.moderator.slash(server.channel, "docs add", text="Gadgets are blue.", title="G")
    await other.moderator.slash(other.channel, "docs add", text="Gizmos hum at night.")
    before = {
        guild: await world.bot.store.list_documents(guild)
        for guild in (server.guild.id, other.guild.id)
    }

    await world.restart()

    for guild, documents in before.items():
        assert await world.bot.store.list_documents(guild) == documents
    answer = await server.member.slash(server.channel, "ask", question=WIDGET_QUESTION)
    assert "**Spare widgets** are **kept**" in answer.response.content
    gizmos = await other.member.slash(other.channel, "ask", question="when do gizmos hum?")
    assert "**Gizmos hum** at night" in gizmos.response.content


async def test_add_from_a_url(world, server):
    with local_server() as site:
        site.routes["/handbook.html"] = Route(
            b"<html><head><title>Widget Handbook Online</title></head><body><nav>Menu</nav>"
            b"<p>Spare widgets are kept in the green crate by the door.</p></body></html>",
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        site.routes["/moved"] = Route(status=302, headers={"Location": "/handbook.html"})

        refused = await server.moderator.slash(
            server.channel, "docs add", url=site.url("/handbook.html")
        )
        assert refused.ephemeral and "private, loopback or link-local" in refused.response.content
        named = await server.moderator.slash(
            server.channel, "docs add", url=site.url("/handbook.html", host="localhost")
        )
        assert "private, loopback or link-local" in named.response.content
        assert site.hits == []  # refused before any connection was made
        world.expected_errors()

        await world.restart(documents={"allow_private_urls": True})
        added = await server.moderator.slash(server.channel, "docs add", url=site.url("/moved"))

    assert added.response.content.startswith("Added 'Widget Handbook Online', 1 sentence")
    answer = await server.member.slash(server.channel, "ask", question=WIDGET_QUESTION)
    assert "green crate" in answer.response.content
    assert f"[source]({site.url('/handbook.html')})" in answer.response.content


async def test_a_refusal_quoting_a_very_long_file_name_still_reaches_the_moderator(world, server):
    name = "photo-" + "x" * 2500 + ".png"
    image = await server.moderator.slash(server.channel, "docs add", file=(name, bytes(64)))
    # The refusal names the file; cut to Discord's limit, it is still sent.
    assert image.ephemeral and image.response.content.startswith("'photo-xxx")
    assert len(image.response.content) == 2000 and image.response.content.endswith("…")
    assert await world.bot.store.count_documents(server.guild.id) == 0
    world.expected_errors()


# Markdown a document, a member or a remote server could slip into a moderator's reply.
HOSTILE = "**Urgent** [click to verify](https://evil.example/login) `x` ~~y~~ <@&1> # z"


async def test_a_duplicate_refusal_shows_the_stored_title_as_text(world, server):
    await server.moderator.slash(server.channel, "docs add", text=WIDGETS, title=HOSTILE)

    again = await add_widgets(server)

    content = again.response.content
    assert "already here as document" in content
    assert f"'{escape(HOSTILE)}'" in content
    assert "[click to verify](https://evil.example/login)" not in content
    assert "**Urgent**" not in content
    world.expected_errors()


async def test_a_remote_servers_status_text_and_type_are_shown_as_text(world, server):
    async def refused(request: web.Request) -> web.Response:
        return web.Response(status=403, reason=HOSTILE)

    async def odd_type(request: web.Request) -> web.Response:
        return web.Response(
            body=b"x", headers={"Content-Type": "[open](https://evil.example/x)/**y**"}
        )

    app = web.Application()
    app.router.add_get("/refused.txt", refused)
    app.router.add_get("/odd", odd_type)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        await world.restart(documents={"allow_private_urls": True})
        status = await server.moderator.slash(server.channel, "docs add", url=f"{base}/refused.txt")
        kind = await server.moderator.slash(server.channel, "docs add", url=f"{base}/odd")
    finally:
        await runner.cleanup()

    assert status.ephemeral and kind.ephemeral
    assert status.response.content == f"The server answered 403 {escape(HOSTILE)}."
    assert kind.response.content == (
        f"The URL serves {escape('[open](https://evil.example/x)/**y**')}, "
        "not text, Markdown, HTML or PDF."
    )
    for content in (status.response.content, kind.response.content):
        assert "](https://evil.example" not in content and "**" not in content
    assert await world.bot.store.count_documents(server.guild.id) == 0
    world.expected_errors()
