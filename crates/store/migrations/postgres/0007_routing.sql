-- Routing models (category and handling unit), learned from the deployment's
-- own decided cases; every instance loads the newest version.
CREATE TABLE routing_models (
    version    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    n_train    BIGINT NOT NULL,
    source     TEXT NOT NULL,
    model      BYTEA NOT NULL
);
CREATE INDEX routing_models_kind ON routing_models (kind, version);
-- What was suggested and what the person finally chose (the label).
CREATE TABLE routing_labels (
    case_id       BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    model_version BIGINT,
    suggested     TEXT,
    confidence    REAL,
    chosen        TEXT NOT NULL,
    by_login      TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX routing_labels_at ON routing_labels (kind, at);
