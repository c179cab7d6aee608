-- Human operators, their login sessions (token hashes only), approvals/elevations bound to one exact
-- request, and the webhook outbox with its delivery log.

CREATE TABLE users (
    name          TEXT    NOT NULL PRIMARY KEY,
    roles         TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    failed_logins INTEGER NOT NULL,
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

CREATE TABLE user_sessions (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES users (name),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX ix_user_sessions_user ON user_sessions (user_name);

CREATE TABLE approvals (
    id             TEXT    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    agent_id       TEXT    NOT NULL,
    task_id        TEXT    NOT NULL,
    resource       TEXT    NOT NULL,
    environment    TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    target         TEXT,
    ttl_seconds    INTEGER,
    binding_hash   TEXT    NOT NULL,
    on_behalf_of   TEXT,
    agent_owner    TEXT    NOT NULL,
    justification  TEXT    NOT NULL,
    rule_json      TEXT    NOT NULL,
    votes_json     TEXT    NOT NULL,
    requested_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    decided_at     INTEGER,
    window_ends_at INTEGER,
    used_at        INTEGER,
    version        INTEGER NOT NULL
);
CREATE INDEX ix_approvals_status ON approvals (status, expires_at);
CREATE INDEX ix_approvals_binding ON approvals (binding_hash, status);

CREATE TABLE webhook_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    event           TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
