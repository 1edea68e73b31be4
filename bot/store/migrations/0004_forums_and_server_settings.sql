-- Forums, threads and per-server settings: /settings values and their changes, the link of
-- each logged question ("asked before"), solved forum posts, and 👎 hand-offs.

-- Settings a server's moderators set from Discord (/settings), and who changed what, when.
-- A row in server_settings overrides the config file's value for that server only; value is
-- JSON. settings_changes keeps every change (value NULL: back to the config file's value).
CREATE TABLE server_settings (
    scope INTEGER NOT NULL,
    key   TEXT    NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE settings_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    scope      INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT,
    changed_by TEXT    NOT NULL,
    changed_at TEXT    NOT NULL
);
CREATE INDEX settings_changes_scope ON settings_changes (scope, id);

-- A thread's first question (the context of its follow-ups) is looked up by channel.
CREATE INDEX interactions_channel ON interactions (channel_id, id);

-- Answers whose 👎 called the support role in: it is called once per answer, however many 👎.
CREATE TABLE hand_offs (
    interaction_id INTEGER PRIMARY KEY REFERENCES interactions (id) ON DELETE CASCADE,
    called_at      TEXT    NOT NULL
);

-- Forum posts marked solved (/solved or the button under the bot's reply): who, when, and the
-- bot's answer the post credits (NULL: none), which then counts as helpful in /qa stats.
CREATE TABLE solved_posts (
    thread_id      TEXT    PRIMARY KEY,
    scope          INTEGER NOT NULL,
    interaction_id INTEGER REFERENCES interactions (id) ON DELETE SET NULL,
    solved_by      TEXT    NOT NULL,
    solved_at      TEXT    NOT NULL
);
CREATE INDEX solved_posts_scope_time ON solved_posts (scope, solved_at);
CREATE INDEX solved_posts_answer ON solved_posts (interaction_id);

-- Where a logged question can be seen (its message's or forum post's jump URL, or the bot's
-- reply to a slash command): a later, similar question links to it ("asked before").
ALTER TABLE interactions ADD COLUMN link TEXT;
CREATE INDEX interactions_linked ON interactions (scope, id) WHERE link IS NOT NULL;
