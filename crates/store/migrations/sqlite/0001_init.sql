-- Organisation
CREATE TABLE units (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    level  TEXT NOT NULL,
    parent TEXT,
    path   TEXT NOT NULL
);

CREATE TABLE users (
    login         TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit          TEXT NOT NULL,
    linked_units  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    login      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_login ON sessions (login);

-- Cases: the journal (events) and its projections (cases, case_queues)
CREATE TABLE cases (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tracking_code  TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL,
    channel        TEXT NOT NULL,
    place_unit     TEXT NOT NULL,
    place_path     TEXT NOT NULL,
    current_unit   TEXT NOT NULL,
    title          TEXT NOT NULL,
    reporter_name  TEXT NOT NULL,
    reporter_phone TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL
);
CREATE INDEX cases_place_path ON cases (place_path, id);
CREATE INDEX cases_received_at ON cases (received_at, id);

CREATE TABLE events (
    case_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
) WITHOUT ROWID;

CREATE TABLE case_queues (
    unit    TEXT NOT NULL,
    queue   TEXT NOT NULL,
    case_id INTEGER NOT NULL,
    since   INTEGER NOT NULL,
    -- a work queue is read oldest first
    PRIMARY KEY (unit, queue, since, case_id)
) WITHOUT ROWID;
CREATE INDEX case_queues_case ON case_queues (case_id);
