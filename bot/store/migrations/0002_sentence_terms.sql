-- Analyzed terms per sentence, so a restart need not re-run the analyzer over every sentence.
-- Valid only for the analyzer whose fingerprint is in meta 'terms_analyzer'; cleared when the
-- analyzer changes. Terms are joined by single spaces (terms never contain whitespace).
CREATE TABLE sentence_terms (
    sentence_id INTEGER PRIMARY KEY REFERENCES sentences (id) ON DELETE CASCADE,
    terms       TEXT    NOT NULL
);
