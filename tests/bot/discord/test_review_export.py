"""/qa export of a large log: sized to the upload limit the interaction reports, as Discord
enforces it; what does not fit is left out, said plainly, and reachable with `before:`."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import random
import re
import subprocess
import sys
import zipfile

import pytest
import simcord
import simcord.http.router
import simcord.interactions
from simcord.backend.errors import BackendError

from bot.discord.cogs.review import UPLOAD_HEADROOM
from bot.engine.export import interactions_csv
from bot.store import LoggedAnswer
from tests.bot.cli.test_commands import VERBATIM
from tests.conftest import SEED_TEXT

MB = 2**20
# Discord's upload limit for a server without boosts.
UNBOOSTED = 10 * MB
NEXT = re.compile(r"`/qa export(?: days:(\d+))? before:(\d+)`")


def file_size(file) -> int:
    position = file.fp.tell()
    size = file.fp.seek(0, io.SEEK_END)
    file.fp.seek(position)
    return size


@pytest.fixture
def upload_limit(monkeypatch):
    """Discord as it is: each interaction reports an attachment size limit (simcord's fixed
    one is replaced by `limit["bytes"]`) and a larger file is refused with 413."""
    limit = {"bytes": UNBOOSTED}
    base_payload = simcord.interactions.base_payload
    dispatch = simcord.http.router.dispatch

    def reporting(*args, **kwargs):
        record, payload = base_payload(*args, **kwargs)
        payload["attachment_size_limit"] = limit["bytes"]
        return record, payload

    def enforcing(backend, method, path, *, files=None, **kwargs):
        if any(file_size(file) > limit["bytes"] for file in files or []):
            raise BackendError(413, 40005, "Request entity too large")
        return dispatch(backend, method, path, files=files, **kwargs)

    monkeypatch.setattr(simcord.interactions, "base_payload", reporting)
    monkeypatch.setattr(simcord.http.router, "dispatch", enforcing)
    return limit


async def log_questions(world, server, count: int, *, words: tuple[int, int] = (30, 70)) -> None:
    """A large real log: `count` questions of varied words (a log compresses about as well as
    English does, some 5 times, not as well as one question repeated), each with 3 answers."""
    vocabulary = sorted(set(re.findall(r"[A-Za-z']+", SEED_TEXT)))
    rng = random.Random(13)
    store = world.bot.store
    await asyncio.gather(
        *(
            store.log_interaction(
                scope=server.guild.id,
                via="slash",
                question=" ".join(rng.choices(vocabulary, k=rng.randint(*words))) + "?",
                latency_ms=12.5,
                answers=[
                    LoggedAnswer(sentence_id=1000 + n, document_id=1, position=n, score=7.25)
                    for n in range(3)
                ],
                channel_id=str(server.channel.id),
                user_id=str(server.member.id),
            )
            for _ in range(count)
        )
    )


async def exported_rows(result) -> list[dict[str, str]]:
    (attachment,) = result.response.attachments
    data = await attachment.read()
    if attachment.filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            (name,) = archive.namelist()
            assert name == attachment.filename.removesuffix(".zip") + ".csv"
            data = archive.read(name)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


async def test_a_log_larger_than_the_upload_limit_is_zipped_whole(world, server, upload_limit):
    await log_questions(world, server, 20_000)
    logged = await world.bot.store.interactions(server.guild.id, limit=30_000)

    exported = await server.moderator.slash(server.channel, "qa export")

    assert exported.ephemeral
    assert exported.response.content == (
        "20,000 logged questions, zipped to fit this server's upload limit of 10 MB."
    )
    (attachment,) = exported.response.attachments
    assert attachment.filename == f"verbatim-log-{server.guild.id}.zip"
    assert attachment.size <= UNBOOSTED - UPLOAD_HEADROOM
    rows = await exported_rows(exported)
    assert [int(row["id"]) for row in rows] == [row.id for row in logged]
    assert [row["question"] for row in rows] == [row.question for row in logged]
    # Unzipped, it would not have fitted: the limit was really in play.
    assert len(interactions_csv(logged).encode("utf-8")) > UNBOOSTED


async def test_what_does_not_fit_is_left_out_and_the_next_exports_get_the_rest(
    world, server, upload_limit, db_path
):
    upload_limit["bytes"] = 1 * MB
    await log_questions(world, server, 20_000)
    logged = [row.id for row in await world.bot.store.interactions(server.guild.id, limit=30_000)]

    pages = [await server.moderator.slash(server.channel, "qa export", days=3650)]
    while match := NEXT.search(pages[-1].response.content):
        assert match.group(1) == "3650"  # the same period, from where the last file stopped
        pages.append(
            await server.moderator.slash(
                server.channel, "qa export", days=3650, before=int(match.group(2))
            )
        )

    first = pages[0].response.content
    assert re.fullmatch(
        r"The newest [\d,]+ logged questions, zipped to fit this server's upload limit of 1 MB; "
        r"older ones were left out\. For the next ones use `/qa export days:3650 before:\d+`\. "
        r"For the whole log \(up to 100,000 questions\), run "
        rf"`verbatim log --scope {server.guild.id} --format csv --limit 100000` "
        r"where the bot runs\.",
        first,
    ), first
    assert len(pages) >= 3
    ids = []
    for page in pages:
        (attachment,) = page.response.attachments
        assert attachment.size <= 1 * MB - UPLOAD_HEADROOM
        ids += [int(row["id"]) for row in await exported_rows(page)]
    assert ids == logged  # every question once, newest first, nothing skipped
    assert "left out" not in pages[-1].response.content

    # The command the reply names really gives the whole log.
    command = [VERBATIM] if VERBATIM else [sys.executable, "-m", "bot"]
    named = re.search(r"run `verbatim ([^`]+)`", first).group(1).split()
    whole = subprocess.run(
        [*command, "--db", str(db_path), *named],
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "VERBATIM_CONFIG"},
        check=True,
        timeout=120,
    )
    rows = list(csv.DictReader(io.StringIO(whole.stdout.decode("utf-8"), newline="")))
    assert [int(row["id"]) for row in rows] == logged


async def test_more_rows_than_one_export_holds_are_said_and_reachable(world, server, upload_limit):
    await log_questions(world, server, 20_001, words=(3, 6))

    first = await server.moderator.slash(server.channel, "qa export")

    assert first.response.content.startswith(
        "The newest 20,000 logged questions; older ones were left out. "
        "For the next ones use `/qa export before:"
    )
    assert first.response.attachments[0].filename.endswith(".csv")  # small enough as it is
    assert len(await exported_rows(first)) == 20_000
    before = int(NEXT.search(first.response.content).group(2))
    rest = await server.moderator.slash(server.channel, "qa export", before=before)
    assert rest.response.content == "1 logged question."
    (row,) = await exported_rows(rest)
    assert int(row["id"]) < before


async def test_a_refused_upload_and_a_tiny_limit_are_said_plainly(world, server, upload_limit):
    await log_questions(world, server, 3)
    cli = (
        f"run `verbatim log --scope {server.guild.id} --format csv --limit 100000` "
        "where the bot runs."
    )

    world.env.inject_error(
        "POST", "/webhooks/*", status=413, code=40005, message="Request entity too large"
    )
    refused = await server.moderator.slash(server.channel, "qa export")
    assert refused.ephemeral and refused.response.attachments == []
    assert refused.response.content.startswith(
        "Discord refused the file as too large for this server: try a shorter `days:`. "
    )
    assert refused.response.content.endswith(cli)

    upload_limit["bytes"] = UPLOAD_HEADROOM + 100
    tiny = await server.moderator.slash(server.channel, "qa export")
    assert tiny.response.attachments == []
    assert tiny.response.content.startswith(
        "Not even one logged question fits this server's upload limit of 16 KB."
    )
    assert tiny.response.content.endswith(cli)
