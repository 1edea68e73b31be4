"""The analyzer: case, stems, numbers, quotes, acronyms, stopwords; alike for questions and text."""

from retrieval.analyzer import STOPWORDS, Analyzer

ANALYZER = Analyzer()


def test_case_folding_and_stemming():
    assert ANALYZER.analyze("Running RUNS") == ["run", "run"]


def test_numbers_match_however_they_are_written():
    assert ANALYZER.analyze("22,000") == ANALYZER.analyze("22000") == ["22000"]
    assert ANALYZER.analyze("3.5 million") == ["3.5", "million"]


def test_curly_quotes_and_dashes_are_normalised():
    assert ANALYZER.analyze("Levi’s—stadium") == ANALYZER.analyze("Levi's-stadium")
    assert Analyzer.normalize("“Ⅻ”") == '"xii"'


def test_acronyms_with_dots_are_one_term():
    assert ANALYZER.analyze("the U.S. army") == ["us", "armi"]


def test_stopwords_are_dropped_but_question_meaning_kept():
    assert ANALYZER.analyze("what is the name of the river") == ["name", "river"]
    for kept in ("not", "no", "first", "most"):
        assert kept not in STOPWORDS


def test_spans_point_at_the_original_text():
    text = "The Obama administration’s forces"
    spans = list(ANALYZER.term_spans(text))
    assert [text[a:b] for a, b, _ in spans] == ["Obama", "administration", "forces"]


def test_options_turn_ideas_off_for_the_benchmark():
    plain = Analyzer(frozenset(), stem=False, numbers=False, normalize=False)
    assert plain.analyze("The Runs 22,000") == ["the", "runs", "22,000"]


def test_same_terms_for_documents_and_questions_are_cached():
    analyzer = Analyzer()
    first = analyzer.analyze("forces forces forces")
    assert first == analyzer.analyze("forces forces forces") == ["forc"] * 3


def test_analyze_gives_the_terms_of_term_spans_and_caches_whole_texts():
    analyzer = Analyzer()
    texts = [
        "The U.S. sent 22,000 troops in 1998; e.g. Levi’s—stadium cost $1.2 billion.",
        "Ⅻ “quoted” café naïve",
        "",
        "the of and",
    ]
    for text in texts:
        expected = [term for _, _, term in analyzer.term_spans(text)]
        first = analyzer.analyze(text)
        assert first == expected
        first.append("mutated")  # callers get their own list, the cache is untouched
        assert analyzer.analyze(text) == expected


def test_the_text_cache_stays_bounded():
    from retrieval.analyzer import _TEXT_CACHE

    analyzer = Analyzer()
    for i in range(_TEXT_CACHE + 10):
        analyzer.analyze(f"w{i}")
    assert len(analyzer._texts) <= _TEXT_CACHE
    assert analyzer.analyze("w7 running") == ["w7", "run"]


def test_composed_and_decomposed_accents_give_the_same_terms_and_exact_spans():
    composed, decomposed = "café au lait", "cafe\u0301 au lait"
    assert ANALYZER.analyze(decomposed) == ANALYZER.analyze(composed)
    spans = list(ANALYZER.term_spans(decomposed))
    assert [decomposed[start:end] for start, end, _ in spans] == ["cafe\u0301", "au", "lait"]


def test_spans_stay_exact_when_normalisation_changes_lengths_both_ways():
    # "é" decomposed shrinks by one and "ß" grows by one: equal total length, shifted offsets.
    text = "e\u0301ß word, Straße ﬁnance"
    spans = list(ANALYZER.term_spans(text))
    assert [term for _, _, term in spans] == ANALYZER.analyze(text)
    assert [text[start:end] for start, end, _ in spans] == ["e\u0301ß", "word", "Straße", "ﬁnance"]
