-- Routing models (category and handling unit), learned from the deployment's
-- own decided cases; every instance loads the newest version.
CREATE TABLE routing_models (
    version    INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    n_train    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    model      BLOB NOT NULL
);
CREATE INDEX routing_models_kind ON routing_models (kind, version);
-- What was suggested and what the person finally chose (the label).
CREATE TABLE routing_labels (
    case_id       INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    model_version INTEGER,
    suggested     TEXT,
    confidence    REAL,
    chosen        TEXT NOT NULL,
    by_login      TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX routing_labels_at ON routing_labels (kind, at);
