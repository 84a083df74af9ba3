-- Who may use the server: operators sign in to the UI (argon2id password hashes), sessions are
-- random tokens of which only the SHA-256 is kept, API keys likewise; the audit log records
-- who did what. Booleans are 0/1 BIGINTs (sqlx's Any driver cannot read a SQLite boolean).
CREATE TABLE operators (
    id                      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Lowercased: one account per address, however it is typed.
    email                   TEXT    NOT NULL UNIQUE,
    password_hash           TEXT    NOT NULL,
    role                    TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    active                  BIGINT  NOT NULL DEFAULT 1,
    must_change_password    BIGINT  NOT NULL DEFAULT 0,
    created_at              BIGINT  NOT NULL,
    last_sign_in_at         BIGINT
);

CREATE TABLE sessions (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      TEXT    NOT NULL UNIQUE,
    operator_id     BIGINT  NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at      BIGINT  NOT NULL,
    last_seen_at    BIGINT  NOT NULL,
    -- Absolute expiry; idle expiry is measured from last_seen_at.
    expires_at      BIGINT  NOT NULL
);
CREATE INDEX sessions_by_operator ON sessions (operator_id);

CREATE TABLE api_keys (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT    NOT NULL,
    token_hash      TEXT    NOT NULL UNIQUE,
    prefix          TEXT    NOT NULL,
    -- Space-separated scope words.
    scopes          TEXT    NOT NULL,
    created_by      BIGINT  REFERENCES operators (id) ON DELETE SET NULL,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT,
    expires_at      BIGINT,
    revoked_at      BIGINT
);

CREATE TABLE audit_log (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object      TEXT,
    address     TEXT
);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
