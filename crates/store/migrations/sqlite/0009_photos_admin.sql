-- Photos attached to cases (by the resident when filing or with the tracking
-- code, by staff later). Kept in the database so every instance serves them;
-- deleted with the case's personal data by retention.
CREATE TABLE case_photos (
    case_id      INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    data         BLOB NOT NULL,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (case_id, n)
);
-- Deadline rules and categories as edited by administrators (JSON), one row
-- per version; every instance uses the newest.
CREATE TABLE deadline_rule_sets (
    version    INTEGER PRIMARY KEY AUTOINCREMENT,
    rules      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
