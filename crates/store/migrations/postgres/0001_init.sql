-- Organisation
CREATE TABLE units (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    level  TEXT NOT NULL,
    parent TEXT,
    path   TEXT COLLATE "C" NOT NULL
);

CREATE TABLE users (
    login         TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit          TEXT NOT NULL,
    linked_units  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    login      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_login ON sessions (login);

-- Cases: the journal (events) and its projections (cases, case_queues)
CREATE TABLE cases (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracking_code  TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL,
    channel        TEXT NOT NULL,
    place_unit     TEXT NOT NULL,
    place_path     TEXT COLLATE "C" NOT NULL,
    current_unit   TEXT NOT NULL,
    title          TEXT NOT NULL,
    reporter_name  TEXT NOT NULL,
    reporter_phone TEXT NOT NULL,
    received_at    BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL
);
CREATE INDEX cases_place_path ON cases (place_path, id);
CREATE INDEX cases_received_at ON cases (received_at, id);

CREATE TABLE events (
    case_id BIGINT NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

CREATE TABLE case_queues (
    unit    TEXT NOT NULL,
    queue   TEXT NOT NULL,
    case_id BIGINT NOT NULL,
    since   BIGINT NOT NULL,
    -- a work queue is read oldest first
    PRIMARY KEY (unit, queue, since, case_id)
);
CREATE INDEX case_queues_case ON case_queues (case_id);
