-- The six-order workflow: running deadlines, units a case was dispatched to,
-- notification intents (an outbox, delivered by a later component).
ALTER TABLE cases ADD COLUMN category TEXT;
ALTER TABLE cases ADD COLUMN urgency TEXT;

CREATE TABLE case_deadlines (
    case_id BIGINT NOT NULL,
    rule    TEXT NOT NULL,
    unit    TEXT NOT NULL,
    due_at  BIGINT NOT NULL,
    warn_at BIGINT NOT NULL,
    warned  BOOLEAN NOT NULL,
    overdue BOOLEAN NOT NULL,
    provisional BOOLEAN NOT NULL,
    PRIMARY KEY (case_id, rule)
);
CREATE INDEX case_deadlines_warn ON case_deadlines (warn_at) WHERE NOT warned;
CREATE INDEX case_deadlines_due ON case_deadlines (due_at) WHERE NOT overdue;

CREATE TABLE case_units (
    unit    TEXT NOT NULL,
    case_id BIGINT NOT NULL,
    PRIMARY KEY (unit, case_id)
);

CREATE TABLE notifications (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id    BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    recipient  TEXT NOT NULL,
    template   TEXT NOT NULL,
    text_zh    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX notifications_case ON notifications (case_id, id);
CREATE INDEX notifications_pending ON notifications (status, id);

-- Holiday calendar years added by administrators (the built-in years are in the binary).
CREATE TABLE calendar_years (
    year     BIGINT PRIMARY KEY,
    data     TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL
);
