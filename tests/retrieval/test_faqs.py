"""Real FAQs as training pairs: their questions, their answers' prose, their neighbours."""

import random

from retrieval.build_reader import Casualiser, faq_pairs
from retrieval.faqs import Entry, faq_entries

POD = """=head1 NAME

perlfaq4 - Data Manipulation

=head1 Data: Numbers

=head2 Why is C<int()> broken?

(contributed by brian d foy)

Your C<int()> is most probably working E<gt> fine. See
L<perlfunc/int> and L<the manual|perlop>.

    print int(0.6/0.2-2), "\\n";

It's the numbers that aren't what you think.

=head2 Rounding notes

Not a question: not an entry.

=head2 How do I use C<< $x->method >>?

=over 4

=item *

Call it with an arrow.

=back

=head2 Where is the answer?

=cut
"""

RST = """===============
Programming FAQ
===============

.. contents::

General Questions
=================

Is there a debugger with breakpoints?
--------------------------------------

Yes.

The built-in function :func:`breakpoint` drops into one, as the
:mod:`documented pdb <pdb>` module explains.  See
`the wiki <https://wiki.python.org>`_ for ``more``::

   import pdb; pdb.set_trace()

.. note::
   A directive is not prose.

How do I share *global* variables?
----------------------------------

Use a module.
"""


def test_perl_faq_keeps_questions_and_their_prose_without_code_or_markup(tmp_path):
    path = tmp_path / "perlfaq4.pod"
    path.write_text(POD)
    entries = faq_entries(path)
    assert entries == [
        Entry(
            "Why is int() broken?",
            (
                "Your int() is most probably working > fine.",
                'See "int" in perlfunc and the manual.',
                "It's the numbers that aren't what you think.",
            ),
        ),
        Entry("How do I use $x->method?", ("Call it with an arrow.",)),
    ]


def test_python_faq_keeps_question_titles_and_their_prose(tmp_path):
    path = tmp_path / "programming.rst.txt"
    path.write_text(RST)
    entries = faq_entries(path)
    assert entries == [
        Entry(
            "Is there a debugger with breakpoints?",
            (
                "Yes.",
                "The built-in function breakpoint drops into one, as the documented pdb module "
                "explains.",
                "See the wiki for more:",
            ),
        ),
        Entry("How do I share global variables?", ("Use a module.",)),
    ]


def _entries() -> list[Entry]:
    return [
        Entry("How do I round a number?", ("Yes.", "Use sprintf with a precision.")),
        Entry("How do I sort a hash by value?", ("Sort its keys by their values.",)),
        Entry("Why is my number rounded wrong?", ("Binary floats are not exact.",)),
        Entry("How do I read a file?", ("Open it and read its lines.",)),
        Entry("What is a closure?", ("A function that keeps its scope.",)),
    ]


def test_faq_pairs_read_the_answer_with_and_without_its_question_and_the_neighbours_not():
    entries = _entries()
    pairs = faq_pairs(entries, Casualiser(random.Random(3), {}), random.Random(3))
    # The first question's pairs come first: twice (two rewrites) 3 positives and 4 negatives.
    asked = pairs[:14]
    assert len(pairs) == 14 + 4 * 2 * (2 + 4)
    positives = {p["s"] for p in asked if p["y"]}
    # "Yes." says nothing alone: the sentence after it is a positive too.
    assert positives == {
        "How do I round a number? Yes.",
        "Yes.",
        "How do I round a number? Use sprintf with a precision.",
    }
    negatives = [p["s"] for p in asked if not p["y"]]
    # The closest neighbour: "rounded" and "number" are shared.
    assert "Why is my number rounded wrong? Binary floats are not exact." in negatives
    assert not any("sprintf" in s or s == "Yes." for s in negatives)
    again = faq_pairs(entries, Casualiser(random.Random(3), {}), random.Random(3))
    assert again == pairs
