-- Accusations (检举控告): who or which unit is accused, so the accused never see them.
ALTER TABLE cases ADD COLUMN accused_path TEXT;
ALTER TABLE cases ADD COLUMN accused_login TEXT;

-- The audit log: append-only, each row chained to the previous by a SHA-256 hash.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Failed logins, for throttling (shared by every instance through the database).
CREATE TABLE login_failures (
    login TEXT NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX login_failures_login ON login_failures (login, at);

-- Per-phone intake limits.
CREATE INDEX cases_reporter_phone ON cases (reporter_phone, received_at);
