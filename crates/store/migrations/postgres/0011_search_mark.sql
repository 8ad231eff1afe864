-- Search catch-up: every write of a case row sets `changed` to the id of its
-- transaction (pg_current_xact_id). Transactions commit in any order, so the mark of
-- a scan is the snapshot's xmin: every transaction below it has ended, and a scan
-- `changed >= mark` in a later snapshot misses nothing. No index on purpose: an
-- index on a column every update changes would make the updates of `cases` non-HOT
-- (fillfactor 50, see 0004); the scan runs at start and every 30 s per instance.
-- Existing rows start at 0 (indexed once).
ALTER TABLE cases ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;
