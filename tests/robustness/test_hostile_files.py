"""Hostile and broken files through the Library on a real SQLite file: each is refused with a
clear message (or read correctly), quickly, and nothing is half stored or written elsewhere."""

from __future__ import annotations

import io
import os
import time
import zlib
from pathlib import Path

import pytest

import retrieval.extract.pdf
from bot.config import DocumentSettings, RetrievalSettings
from bot.engine.library import Library
from bot.errors import DocumentRejectedError

SCOPE = 42
LIMIT = DocumentSettings().max_bytes


@pytest.fixture
async def library(store) -> Library:
    return Library(store, RetrievalSettings(), max_document_bytes=LIMIT)


async def _refused(library: Library, data: bytes, filename: str | None, match: str) -> str:
    started = time.perf_counter()
    with pytest.raises(DocumentRejectedError, match=match) as caught:
        await library.documents.add(SCOPE, data, filename=filename)
    # Refusals are cheap: hostile files are stopped before the expensive work.
    assert time.perf_counter() - started < 10
    assert await library.store.count_documents(SCOPE) == 0
    return caught.value.message


def pdf_with_content(content: bytes, pages: int = 1) -> bytes:
    """A hand-built PDF whose pages all share one FlateDecode content stream."""
    packed = zlib.compress(content, 9)
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    font = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
    ] + [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources "
        + font
        + b" >>"
    ] * pages
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


TEXT_PAGE = (
    b"BT /F1 12 Tf 72 700 Td (The ferry leaves at seven. Tickets cost four dollars.) Tj ET\n"
)


async def test_a_good_hand_built_pdf_is_read(library):
    document = await library.documents.add(SCOPE, pdf_with_content(TEXT_PAGE), filename="f.pdf")
    assert document is not None and document.sentence_count == 2


async def test_a_50_mb_upload_is_refused_before_parsing(library):
    # 50 MB of nested HTML would take hours to parse: a quick refusal proves it was never parsed.
    data = b"<html><body>" + b"<div>" * 10_000_000
    assert len(data) > 50_000_000
    message = await _refused(library, data, "big.html", "limit is 10 MB")
    assert "50 MB" in message


async def test_the_cli_refuses_an_oversized_file_with_one_clear_line(tmp_path):
    import subprocess
    import sys

    big = tmp_path / "big.txt"
    big.write_bytes(b"Words and more words. " * 600_000)
    config = tmp_path / "verbatim.toml"
    config.write_text("[documents]\nmax_bytes = 1000000\n")
    env = {**os.environ, "VERBATIM_DB": str(tmp_path / "v.db")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "docs", "add", str(big)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "verbatim: The file is 13.2 MB; the limit is 1 MB. Split it into smaller documents."
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n" + bytes(range(256)) * 100,
        pdf_with_content(TEXT_PAGE)[:300],
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\ntrailer << /Root 1 0 R >>",
        b"%PDF-" + b"\xff" * 5000,
    ],
    ids=["garbage", "truncated", "self-referencing", "binary"],
)
async def test_a_pdf_that_will_not_parse_is_refused(library, data):
    await _refused(library, data, "broken.pdf", "could not be read|no text layer")


@pytest.mark.parametrize(
    ("content", "pages"),
    [(b" " * 60_000_000, 1), (TEXT_PAGE * 20_000, 1_500), (TEXT_PAGE * 400_000, 1)],
    ids=["60 MB of spaces", "one stream on 1,500 pages", "30 MB of text operators"],
)
async def test_a_pdf_built_to_explode_is_refused(library, content, pages):
    data = pdf_with_content(content, pages)
    assert len(data) < 1_000_000
    await _refused(library, data, "bomb.pdf", "expand to more than 20 MB")


async def test_a_pdf_needing_too_many_operations_is_stopped(library, monkeypatch):
    # The real budget (a million operators) takes ~25 s to exhaust; a smaller one shows the
    # same path in a moment.
    monkeypatch.setattr(retrieval.extract.pdf, "MAX_PDF_OPERATIONS", 2_000)
    data = pdf_with_content(TEXT_PAGE * 1_000, pages=3)
    await _refused(library, data, "slow.pdf", "more than 2,000 drawing operations")


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>" + b"<div>" * 200_000 + b"Deep text." + b"</div>" * 200_000,
        b"<html><body>" + b"<div/>" * 200_000 + b"Deep text.",
        b"<html><body>" + b"<blockquote><ul>" * 100_000 + b"Deep text.",
    ],
    ids=["closed divs", "self-closing divs", "unclosed blocks"],
)
async def test_html_built_to_explode_is_refused_quickly(library, data):
    await _refused(library, data, "deep.html", "nests its elements more than 1,000 deep")


async def test_html_with_many_shallow_elements_is_still_read(library):
    page = b"<html><body>" + b"<p>Ferries leave hourly. <b>Tickets</b> cost four dollars." * 5_000
    page += b"<svg>" + b"<path d='M0 0'/>" * 5_000 + b"</svg><ul>" + b"<li>item" * 5_000
    document = await library.documents.add(SCOPE, page, filename="wide.html")
    assert document is not None and document.sentence_count > 1_000


async def test_markdown_nested_past_its_limit_is_refused_or_read(library):
    data = b">" * 100_000 + b" Hidden words here."
    await _refused(library, data, "deep.md", "no readable text")


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../tmp/evil.txt",
        "..\\..\\..\\evil.txt",
        "/etc/passwd.txt",
        "C:\\Windows\\System32\\evil.md",
        "a/../../b/../../evil.html",
        "evil\x00.txt",
        "." * 300 + "/evil.txt",
    ],
)
async def test_a_filename_that_tries_path_traversal_writes_nothing(library, tmp_path, filename):
    before = {path for path in tmp_path.parent.rglob("*")}
    data = b"<p>The ferry leaves at seven.</p>" if filename.endswith(".html") else b"Ferry at 7."
    document = await library.documents.add(SCOPE, data, filename=filename, source="upload")
    assert document is not None
    # The name only ever becomes a title: no directories, no files written anywhere.
    assert "/" not in document.title and "\x00" not in document.title
    assert len(document.title) <= 200
    written = {path for path in tmp_path.parent.rglob("*")} - before
    assert all(path.name.startswith("verbatim.db") for path in written), written
    assert not Path("/tmp/evil.txt").exists()


async def test_a_zero_byte_file_is_refused(library):
    await _refused(library, b"", "empty.txt", "empty")
    await _refused(library, b" \n\t ", "blank.md", "empty")


SHIFT_JIS_PAGE = (
    '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis"><p>日本語です。</p>'
)


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "expected"),
    [
        (
            '<meta charset="iso-8859-1"><p>Café crème.</p>'.encode("latin-1"),
            "a.html",
            None,
            "Café crème.",
        ),
        ("<p>Déjà vu.</p>".encode("cp1252"), None, "text/html; charset=windows-1252", "Déjà vu."),
        (SHIFT_JIS_PAGE.encode("shift_jis"), "a.html", None, "日本語です。"),
        ("Hello there. Second sentence.".encode("utf-16-le"), "a.txt", None, "Hello there."),
        ("Hello there. Second sentence.".encode("utf-16"), "a.txt", None, "Hello there."),
        ("Plain café.".encode("latin-1"), None, "text/plain; charset=ISO-8859-1", "Plain café."),
        ("Café crème.".encode("latin-1"), "a.txt", None, "Café crème."),
        ("“Déjà vu” costs 5 €.".encode("cp1252"), "a.md", None, "“Déjà vu” costs 5 €."),
        ("日本語のテキスト。".encode("shift_jis"), "a.md", None, "日本語のテキスト。"),
    ],
    ids=[
        "meta latin-1",
        "header cp1252",
        "meta shift_jis",
        "utf-16 no BOM",
        "utf-16 BOM",
        "header latin-1",
        "latin-1 undeclared",
        "cp1252 undeclared",
        "shift_jis undeclared",
    ],
)
async def test_text_in_another_encoding_is_read_correctly(
    library, data, filename, content_type, expected
):
    document = await library.documents.add(
        SCOPE, data, filename=filename, content_type=content_type
    )
    assert document is not None
    sentences = await library.store.document_sentences(document.id)
    assert sentences[0].text == expected


@pytest.mark.parametrize(
    ("data", "filename", "match"),
    [
        ("“Crème” brûlée. ".encode() * 9 + b"caf\xe9", "a.txt", "not valid UTF-8 text .* UTF-8"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image.txt", "binary file"),
        (b"MZ\x90\x00" + b"\x00" * 500, "a.exe", "not a supported file type"),
    ],
    ids=["utf-8 with a stray byte", "png named .txt", "exe"],
)
async def test_broken_utf8_or_binary_content_is_refused_clearly(library, data, filename, match):
    await _refused(library, data, filename, match)
