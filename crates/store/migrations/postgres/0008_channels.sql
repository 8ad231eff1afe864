-- Chat platforms retry a callback when the answer is slow; each message
-- carries the platform's id. A message files one case: the second delivery
-- finds the first one's case here (written in the intake's transaction; a
-- concurrent second insert waits for the first and then fails as a duplicate).
CREATE TABLE chat_messages (
    group_id   TEXT NOT NULL,
    platform   TEXT NOT NULL,
    message_id TEXT NOT NULL,
    case_id    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (group_id, platform, message_id)
);
-- Administrators' overrides of the built-in message templates, one per
-- (kind, audience, language); every change bumps `template_version` so each
-- instance's sender reloads them before its next message.
CREATE TABLE template_overrides (
    kind       TEXT NOT NULL,
    audience   TEXT NOT NULL,
    lang       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text       TEXT NOT NULL,
    markdown   TEXT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (kind, audience, lang)
);
CREATE TABLE template_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO template_version (id, version) VALUES (1, 0);
