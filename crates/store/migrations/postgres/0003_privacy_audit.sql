-- Accusations (检举控告): who or which unit is accused, so the accused never see them.
ALTER TABLE cases ADD COLUMN accused_path TEXT COLLATE "C";
ALTER TABLE cases ADD COLUMN accused_login TEXT;

-- The audit log: append-only, each row chained to the previous by a SHA-256 hash.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Failed logins, for throttling (shared by every instance through the database).
CREATE TABLE login_failures (
    login TEXT NOT NULL,
    at    BIGINT NOT NULL
);
CREATE INDEX login_failures_login ON login_failures (login, at);

-- Per-phone intake limits.
CREATE INDEX cases_reporter_phone ON cases (reporter_phone, received_at);
