-- The six-order workflow: running deadlines, units a case was dispatched to,
-- notification intents (an outbox, delivered by a later component).
ALTER TABLE cases ADD COLUMN category TEXT;
ALTER TABLE cases ADD COLUMN urgency TEXT;

CREATE TABLE case_deadlines (
    case_id INTEGER NOT NULL,
    rule    TEXT NOT NULL,
    unit    TEXT NOT NULL,
    due_at  INTEGER NOT NULL,
    warn_at INTEGER NOT NULL,
    warned  INTEGER NOT NULL,
    overdue INTEGER NOT NULL,
    provisional INTEGER NOT NULL,
    PRIMARY KEY (case_id, rule)
) WITHOUT ROWID;
CREATE INDEX case_deadlines_warn ON case_deadlines (warn_at) WHERE warned = 0;
CREATE INDEX case_deadlines_due ON case_deadlines (due_at) WHERE overdue = 0;

CREATE TABLE case_units (
    unit    TEXT NOT NULL,
    case_id INTEGER NOT NULL,
    PRIMARY KEY (unit, case_id)
) WITHOUT ROWID;

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    recipient  TEXT NOT NULL,
    template   TEXT NOT NULL,
    text_zh    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX notifications_case ON notifications (case_id, id);
CREATE INDEX notifications_pending ON notifications (status, id);

-- Holiday calendar years added by administrators (the built-in years are in the binary).
CREATE TABLE calendar_years (
    year     INTEGER PRIMARY KEY,
    data     TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    added_by TEXT NOT NULL
);
