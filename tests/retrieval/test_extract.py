"""Extracting plain text, Markdown, reST, HTML and PDF: titles, text kept, hostile input refused."""

import random
import sys
from pathlib import Path

import pytest
from fpdf import FPDF
from markdown_it import MarkdownIt

from retrieval.errors import ExtractionError
from retrieval.extract import detect_kind, extract_text
from retrieval.extract.encoding import decode_text
from retrieval.extract.html import html_shape, html_text
from retrieval.extract.limits import MAX_HTML_ELEMENTS, MAX_TEXT_CHARS
from retrieval.extract.markdown import _markdown_parser, _MarkdownBudget, markdown_text
from retrieval.sentences import split_sentences


def make_pdf(*paragraphs: str, title: str | None = None) -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph)
        pdf.ln(4)
    return bytes(pdf.output())


def test_plain_text_takes_a_short_first_line_as_title():
    extracted = extract_text(b"Water rules\nBoil water for one minute. Then cool it.\n")
    assert extracted.title == "Water rules"
    assert extracted.text.strip() == "Boil water for one minute. Then cool it."
    assert extracted.kind == "text"


@pytest.mark.parametrize("gap", [b"\n", b"\n\n"])
def test_a_pasted_list_keeps_its_first_line_when_it_becomes_the_title(gap):
    # The first of the rules must stay quotable, though it also names the document.
    extracted = extract_text(gap.join([b"No spam", b"Be kind", b"No ads"]))
    assert extracted.title == "No spam"
    assert split_sentences(extracted.text)[0] == "No spam"
    assert "Be kind" in extracted.text and "No ads" in extracted.text


def test_a_title_above_wrapped_prose_leaves_the_text():
    # The line under it does not end a sentence either, but it is long: prose, wrapped.
    extracted = extract_text(
        b"Water rules\nBoil water for one minute and then let it stand for\na while to cool.\n"
    )
    assert extracted.title == "Water rules"
    assert split_sentences(extracted.text) == [
        "Boil water for one minute and then let it stand for a while to cool."
    ]


@pytest.mark.parametrize(
    "source",
    [
        b"========\nAppArmor\n========\n\nAppArmor confines programs. It is a kernel module.\n",
        b"AppArmor\n--------\n\nAppArmor confines programs. It is a kernel module.\n",
        b".. SPDX-License-Identifier: GPL-2.0\n\n========\nAppArmor\n========\n\n"
        b"AppArmor confines programs. It is a kernel module.\n",
    ],
)
def test_a_rest_title_is_the_line_its_adornment_marks(source):
    extracted = extract_text(source, filename="apparmor.rst.txt")
    assert extracted.title == "AppArmor"
    assert extracted.text.strip() == "AppArmor confines programs. It is a kernel module."


def test_plain_text_without_a_title_line_keeps_everything():
    extracted = extract_text(b"Boil water for one minute.\nThen cool it.")
    assert extracted.title is None
    assert "Boil water" in extracted.text


def test_markdown_strips_markup_and_keeps_headings_as_text():
    source = (
        b"# Setup guide\n\nInstall **the** tool with `pip install x` and [read the docs](http://x.y).\n\n"
        b"## Limits\n\n- Files up to 10 MB.\n- Three per hour.\n"
    )
    extracted = extract_text(source, filename="guide.md")
    assert extracted.kind == "markdown"
    assert extracted.title == "Setup guide"
    assert "Install the tool with pip install x and read the docs." in extracted.text
    assert "**" not in extracted.text and "](" not in extracted.text
    assert "Limits" in extracted.text
    assert "Files up to 10 MB." in extracted.text.split("\n\n")


@pytest.mark.parametrize(
    ("source", "title"),
    [
        # A README under a logo: its first heading, after the text, names a section.
        (
            b'<p align="center"><img src="logo.png" alt="Zstd"></p>\n\nZstd compresses.\n\n'
            b"## Benchmarks\n\nFast.\n",
            None,
        ),
        (b'<h1 align="center">Zstd</h1>\n\nZstd compresses.\n\n## Benchmarks\n\nFast.\n', "Zstd"),
        (b"Badges here.\n\n# Zstd\n\nZstd compresses.\n\n## Benchmarks\n\nFast.\n", "Zstd"),
        (b"## Rules\n\n- No spam.\n- Be kind.\n", "Rules"),
    ],
)
def test_a_markdown_title_is_a_top_level_heading_or_one_that_opens_the_text(source, title):
    assert extract_text(source, filename="README.md").title == title


def test_html_keeps_readable_text_only():
    page = b"""<!doctype html><html><head><title>Opening hours</title>
    <style>p { color: red }</style><script>var secret = 'x';</script></head>
    <body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
    <h1>Hours</h1><p>The library opens at <b>9 a.m.</b> on weekdays.</p>
    <ul><li>Closed on Sundays.</li></ul><footer>Copyright</footer></body></html>"""
    extracted = extract_text(page, filename="hours.html")
    assert extracted.kind == "html"
    assert extracted.title == "Opening hours"
    assert "The library opens at 9 a.m. on weekdays." in extracted.text
    assert "Closed on Sundays." in extracted.text
    for hidden in ("secret", "color", "Home", "About", "Copyright"):
        assert hidden not in extracted.text


def test_html_drops_navigation_that_generated_documentation_marks_without_nav():
    # DocBook (the Valgrind FAQ as Debian ships it), Sphinx and ARIA, each around real text.
    page = b"""<html><head><title>Valgrind FAQ</title></head><body>
    <div class="navheader"><table class="nav"><tr><th>Valgrind FAQ</th></tr></table></div>
    <h2>1.1. How do you pronounce "Valgrind"?</h2><p>The "grind" is pronounced short.</p>
    <table class="nav" summary="Navigation footer"><tr><td><a href="FAQ.html">&lt;&lt;
    Valgrind FAQ</a></td><td><a href="FAQ.html">Up</a></td><td><a href="x.html">Home</a></td>
    </tr></table>
    <div class="related" role="navigation"><a href="i.html">index</a></div>
    <ol class="breadcrumb"><li>Docs</li></ol><div role="navigation">Next page</div>
    <table class="results"><tr><td>A real table stays.</td></tr></table></body></html>"""
    extracted = extract_text(page, filename="faq.html")
    assert extracted.title == "Valgrind FAQ"
    assert extracted.text.split("\n\n") == [
        '1.1. How do you pronounce "Valgrind"?',
        'The "grind" is pronounced short.',
        "A real table stays.",
    ]


def test_html_is_detected_from_content_without_a_name():
    assert detect_kind(b"<!DOCTYPE html><html><body>x</body></html>") == "html"


def test_pdf_text_and_title():
    data = make_pdf("The reactor was shut down in 1986.", "It never restarted.", title="Report")
    extracted = extract_text(data, filename="report.pdf")
    assert extracted.kind == "pdf"
    assert extracted.title == "Report"
    assert "shut down in 1986." in extracted.text


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "a.txt", "empty"),
        (b"   \n\t ", "a.txt", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.png", "not a supported file type"),
        (b"\x00\x01\x02\x03binary\x00stuff" * 20, "a.txt", "binary"),
        (("It’s “fine”. " * 20).encode() + b"caf\xe9", "a.txt", "not valid UTF-8 .* position 383"),
        (b"%PDF-1.4\n1 0 obj <<>> garbage", "broken.pdf", "could not be read"),
        (b"<html><body><script>only()</script></body></html>", "a.html", "no readable text"),
    ],
)
def test_bad_input_raises_one_clear_error(data, filename, message):
    with pytest.raises(ExtractionError, match=message):
        extract_text(data, filename=filename)


def test_unsupported_content_type_is_refused():
    with pytest.raises(ExtractionError, match="not supported"):
        extract_text(b"PK\x03\x04zipdata", content_type="application/zip")


def test_pdf_without_text_layer_is_refused():
    pdf = FPDF()
    pdf.add_page()
    data = bytes(pdf.output())
    with pytest.raises(ExtractionError, match="no text layer"):
        extract_text(data, filename="scan.pdf")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_text_with_a_byte_order_mark_is_read(encoding):
    text = "Title\nThe answer is 42."
    data = ("" if encoding in ("utf-16", "utf-32") else "\ufeff") + text
    assert "The answer is 42." in extract_text(data.encode(encoding), filename="a.txt").text


def test_pdf_bytes_are_not_mistaken_for_text():
    data = make_pdf("Some words here.")
    assert detect_kind(data) == "pdf"


# Real Western European text as old editors save it: Latin-1 (ISO-8859-1) and Windows-1252,
# whose curly quotes, dashes, ellipsis and euro sign Latin-1 lacks.
LATIN_1_TEXT = (
    "Le café crème coûte deux euros à la gare.\n"
    "Über die Brücke geht Herr Müller jeden Tag; die Straße ist schön.\n"
    "El niño comió una manzana en el jardín.\n"
)
CP1252_TEXT = (
    "“Please descale the kettle,” she said – it’s easy.\n"
    "A descaling kit costs 5 € at the café… or less.\n"
    "Grüße aus München: the naïve “Bürger” pays 3 €.\n"
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [(LATIN_1_TEXT, "latin-1"), (CP1252_TEXT, "cp1252"), ("Café au lait is hot.\n", "latin-1")],
    ids=["latin-1", "cp1252", "latin-1, one line"],
)
def test_latin_1_and_cp1252_files_are_read_exactly(tmp_path, text, encoding):
    path = tmp_path / "notes.txt"
    path.write_text(text, encoding=encoding, newline="")
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    extracted = extract_text(data, filename=path.name)
    assert extracted.text == text


@pytest.mark.parametrize(
    "text",
    [
        LATIN_1_TEXT,
        CP1252_TEXT,
        "Zażółć gęślą jaźń 😀 日本語のテキスト。\n",
        "cafÃ© is two letters.\n",
    ],
    ids=["latin-1 text", "cp1252 text", "no code page has these", "mojibake kept as written"],
)
@pytest.mark.parametrize("bom", ["", "\ufeff"], ids=["no BOM", "BOM"])
def test_utf8_stays_exact(tmp_path, text, bom):
    path = tmp_path / "notes.txt"
    path.write_text(bom + text, encoding="utf-8", newline="")
    assert extract_text(path.read_bytes(), filename=path.name).text == text


def test_binary_without_zero_bytes_is_still_refused():
    # Zero bytes give most binaries away at once; these have none, so the detector decides.
    noise = random.Random(13)
    data = bytes(noise.randrange(1, 256) for _ in range(20_000))
    with pytest.raises(ExtractionError, match="binary file"):
        extract_text(data, filename="noise.txt")
    high = bytes(noise.randrange(0x80, 0x100) for _ in range(20_000))
    with pytest.raises(ExtractionError, match="binary file"):
        extract_text(high, filename="high.txt")


def test_a_real_program_named_txt_is_refused():
    program = Path(sys.executable).resolve().read_bytes()[:200_000]
    with pytest.raises(ExtractionError, match="binary file"):
        extract_text(program, filename="python.txt")


# A kettle's instructions as other countries' old editors saved them.
IN_OTHER_CODE_PAGES = {
    "Hungarian, Windows-1250": (
        "cp1250",
        "A vízforraló használata előtt olvassa el az útmutatót.\n"
        "A készüléket rendszeresen vízkőmentesíteni kell, különben a fűtőszál tönkremehet.\n",
    ),
    "Polish, Windows-1250": (
        "cp1250",
        "Przed użyciem czajnika przeczytaj instrukcję obsługi.\n"
        "Urządzenie należy regularnie odkamieniać, w przeciwnym razie grzałka może ulec "
        "uszkodzeniu.\n",
    ),
    "Czech, Windows-1250": (
        "cp1250",
        "Před použitím konvice si přečtěte návod.\n"
        "Přístroj pravidelně odvápňujte, jinak se může topné těleso poškodit.\n",
    ),
    "Turkish, Windows-1254": (
        "cp1254",
        "Su ısıtıcısını kullanmadan önce kılavuzu okuyun.\n"
        "Cihazı düzenli olarak kireçten arındırın; aksi takdirde ısıtıcı bozulabilir.\n",
    ),
    "Lithuanian, Windows-1257": (
        "cp1257",
        "Prieš naudodami virdulį perskaitykite instrukciją.\n"
        "Reguliariai šalinkite kalkes, kitaip kaitinimo elementas gali sugesti.\n",
    ),
    "Finnish, Latin-1": (
        "latin-1",
        "Lue käyttöohje ennen vedenkeittimen käyttöä.\n"
        "Poista kalkki säännöllisesti, muuten lämmityselementti voi vahingoittua.\n",
    ),
    "French, Latin-1": (
        "latin-1",
        "Lisez le mode d'emploi avant d'utiliser la bouilloire.\n"
        "Détartrez l'appareil régulièrement, sinon la résistance peut être endommagée.\n",
    ),
    "French, one accent": ("latin-1", "C'est très bien.\n"),
    "Russian, Windows-1251": (
        "cp1251",
        "Перед использованием чайника прочитайте инструкцию.\n"
        "Регулярно удаляйте накипь, иначе нагревательный элемент может выйти из строя.\n",
    ),
    "Greek, Windows-1253": (
        "cp1253",
        "Διαβάστε τις οδηγίες πριν χρησιμοποιήσετε τον βραστήρα.\n"
        "Αφαιρείτε τακτικά τα άλατα, αλλιώς το θερμαντικό στοιχείο μπορεί να χαλάσει.\n",
    ),
    "Japanese, Shift_JIS": (
        "shift_jis",
        "電気ケトルを使う前に取扱説明書をお読みください。\n"
        "定期的に水垢を取り除いてください。そうしないとヒーターが故障することがあります。\n",
    ),
}


@pytest.mark.parametrize(
    ("encoding", "text"), IN_OTHER_CODE_PAGES.values(), ids=IN_OTHER_CODE_PAGES
)
def test_other_code_pages_are_read_exactly(encoding, text):
    data = text.encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert decode_text(data) == text


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1252", "Le café “crème” coûte 5 € à la gare, très cher… " * 4000),
        ("shift_jis", "a電気ケトルを使う前に取扱説明書をお読みください。" * 8000),
    ],
)
def test_a_long_text_on_one_line_is_read_exactly(encoding, text):
    # Longer than the detector's sample, which is cut off inside the line.
    assert len(text.encode(encoding)) > 150_000 and "\n" not in text
    assert decode_text(text.encode(encoding)) == text


def test_a_byte_the_detected_code_page_lacks_is_refused_clearly():
    data = ("Le café est très bon.\n" * 10_000).encode("cp1252") + b"\x81 and more.\n"
    with pytest.raises(ExtractionError, match="neither UTF-8 nor cp1252 .* position 220000"):
        extract_text(data, filename="a.txt")


MARKDOWN_SAMPLE = """# Ferries

The *morning* ferry leaves **pier 4** at [seven](https://example.org) ![a map](m.png).
Tickets cost `4` dollars &amp; children ride free.

- Bicycles: lower deck
  continued here
- Dogs on a lead

> Crossings may be cancelled.
> > Nested quote.

| Day | First |
|---|---|
| Monday | 7:00 |

    indented code

```
fenced code
```

<div>
<p>Raw HTML block.</p>
</div>

[ref link][r]

[r]: https://example.org/r
"""


def test_the_markdown_budget_rules_change_nothing_in_the_parse():
    plain = MarkdownIt("commonmark").enable("table").parse(MARKDOWN_SAMPLE)
    counted = _MarkdownBudget(10**9)
    assert _markdown_parser(counted).parse(MARKDOWN_SAMPLE) == plain
    assert 0 < counted.steps + counted.blocks < 200


def test_markdown_past_its_work_budget_is_refused():
    assert markdown_text("Ordinary *text* here.", budget=50)[0] == "Ordinary text here."
    for bomb in ("*a" * 1_000, "[" * 1_000, "| a |\n|---|\n" + "| x |\n" * 500):
        with pytest.raises(ExtractionError, match="too much markup"):
            markdown_text(bomb, budget=500)


@pytest.mark.parametrize("filename", ["long.txt", "long.md"])
def test_text_and_markdown_are_measured_before_parsing(filename):
    # Parsed, this Markdown would be refused for its markup (after seconds): it is refused for
    # its length, at once.
    with pytest.raises(ExtractionError, match=f"limit is {MAX_TEXT_CHARS:,}"):
        extract_text(b"*a" * (MAX_TEXT_CHARS // 2 + 1), filename=filename)


def test_html_shape_counts_elements_and_formatting_a_parser_makes_again():
    assert html_shape("<p>a<p>b<br><!-- c --><b>d</b><i>e</i>") == (1, 6)
    # Each start tag counts once, plus once for each formatting element still open.
    assert html_shape("<b x=1><b x=2><b x=3>" + "<p>x" * 10)[1] == 1 + 2 + 3 + 10 * (1 + 3)
    # Alike ones count three times at most; a new link closes the one before.
    assert html_shape("<b>" * 5 + "<p>")[1] == 1 + 2 + 3 + 4 + 4 + 4
    assert html_shape('<a href="1"><a href="2"><a href="3"><p>')[1] == 1 + 2 + 2 + 2
    # Closed ones are gone.
    assert html_shape("<b>x</b>" * 3 + "<p>")[1] == 4


def test_html_with_too_many_elements_is_refused_before_parsing():
    reopening = "<p>" + "".join(f"<b class=c{i}>" for i in range(200)) + "<p>x" * 2_500
    with pytest.raises(ExtractionError, match=f"more than {MAX_HTML_ELEMENTS:,} elements"):
        html_text(reopening)
