-- Search catch-up: every write of a case row sets `changed` to one more than the
-- largest value stored. The single writer commits in that order, so a reader that has
-- seen every row with changed < M has seen every write committed before them: the
-- search index keeps M (its high-water mark) in its commit and, after a crash,
-- re-indexes the cases with changed >= M. Existing rows start at 0 (indexed once).
ALTER TABLE cases ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_changed ON cases (changed);
