-- Related cases at intake: the text signature of each case (MinHash, see the text
-- crate), so that the in-memory related-case index is rebuilt at start without
-- reading every journal. Derived data: a missing row is computed from the journal.
CREATE TABLE case_signatures (
    case_id INTEGER PRIMARY KEY,
    sig     BLOB NOT NULL
);
