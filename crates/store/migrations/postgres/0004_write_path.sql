-- Audit entries written by a case's own transaction land here first, so that
-- concurrent writers never wait for each other; one chainer at a time (an
-- advisory lock, across instances) moves them into the hash-chained audit_log.
CREATE TABLE audit_inbox (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- A case row is updated at every step, and the cases of one day (adjacent
-- rows) fall due together: half of each page kept free lets PostgreSQL keep
-- every new row version on its page (a HOT update: no index entry to add).
ALTER TABLE cases SET (fillfactor = 50);
