-- Documents, their sentences, and the log of every question asked and answered.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE documents (
    id             INTEGER PRIMARY KEY,
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
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,             -- 1-based, in document order
    text        TEXT    NOT NULL,
    UNIQUE (document_id, position)
);

CREATE TABLE interactions (
    id         INTEGER PRIMARY KEY,
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
