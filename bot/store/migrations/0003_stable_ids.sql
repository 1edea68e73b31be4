-- Ids are never reused. Without AUTOINCREMENT, SQLite gives a new row the largest id + 1, so
-- deleting the newest row (forgetting a user, removing the latest document) hands its id to the
-- next one: an old 👍 button (it carries the interaction id) would vote on someone else's
-- question, and a log row's sentence and document ids would point at another document, maybe
-- another server's. The tables are rebuilt with AUTOINCREMENT, their rows and ids kept.
-- Children are copied aside and dropped before their parents, so no ON DELETE CASCADE fires.
CREATE TABLE _documents AS SELECT * FROM documents;
CREATE TABLE _sentences AS SELECT * FROM sentences;
CREATE TABLE _sentence_terms AS SELECT * FROM sentence_terms;
CREATE TABLE _interactions AS SELECT * FROM interactions;
CREATE TABLE _feedback AS SELECT * FROM feedback;

DROP TABLE sentence_terms;
DROP TABLE sentences;
DROP TABLE documents;
DROP TABLE feedback;
DROP TABLE interactions;

CREATE TABLE documents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    scope          INTEGER NOT NULL,          -- a Discord server id; 0 is the global scope
    title          TEXT    NOT NULL,
    source         TEXT    NOT NULL DEFAULT '',
    kind           TEXT    NOT NULL DEFAULT 'text',
    content_hash   TEXT    NOT NULL,
    sentence_count INTEGER NOT NULL,
    added_by       TEXT    NOT NULL DEFAULT '',
    added_at       TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    UNIQUE (scope, content_hash)
);
CREATE INDEX documents_scope_title ON documents (scope, title COLLATE NOCASE);

CREATE TABLE sentences (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,             -- 1-based, in document order
    text        TEXT    NOT NULL,
    UNIQUE (document_id, position)
);

CREATE TABLE sentence_terms (
    sentence_id INTEGER PRIMARY KEY REFERENCES sentences (id) ON DELETE CASCADE,
    terms       TEXT    NOT NULL
);

CREATE TABLE interactions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    asked_at   TEXT    NOT NULL,
    scope      INTEGER NOT NULL,
    channel_id TEXT,
    user_id    TEXT,
    via        TEXT    NOT NULL,              -- cli, chat, mention, channel, slash, context-menu
    question   TEXT    NOT NULL,
    answered   INTEGER NOT NULL,
    answers    TEXT    NOT NULL,              -- JSON: [{sentence_id, document_id, position, score}]
    latency_ms REAL    NOT NULL
);
CREATE INDEX interactions_scope_time ON interactions (scope, asked_at);
CREATE INDEX interactions_user ON interactions (user_id);

CREATE TABLE feedback (
    interaction_id INTEGER NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    user_id        TEXT    NOT NULL,
    value          INTEGER NOT NULL CHECK (value IN (-1, 1)),
    given_at       TEXT    NOT NULL,
    PRIMARY KEY (interaction_id, user_id)
);

INSERT INTO documents SELECT * FROM _documents;
INSERT INTO sentences SELECT * FROM _sentences;
INSERT INTO sentence_terms SELECT * FROM _sentence_terms;
INSERT INTO interactions SELECT * FROM _interactions;
INSERT INTO feedback SELECT * FROM _feedback;

DROP TABLE _documents;
DROP TABLE _sentences;
DROP TABLE _sentence_terms;
DROP TABLE _interactions;
DROP TABLE _feedback;
