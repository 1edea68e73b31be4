import pytest
from fpdf import FPDF
from markdown_it import MarkdownIt

from retrieval.errors import ExtractionError
from retrieval.extract import (
    MAX_HTML_ELEMENTS,
    MAX_TEXT_CHARS,
    _markdown_parser,
    _MarkdownBudget,
    detect_kind,
    extract_text,
    html_shape,
    html_text,
    markdown_text,
)


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
        (b"caf\xe9 au lait is hot", "a.txt", "not valid UTF-8"),
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
