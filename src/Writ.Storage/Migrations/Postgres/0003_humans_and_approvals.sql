-- Human operators, their login sessions (token hashes only), approvals/elevations bound to one exact
-- request, and the webhook outbox with its delivery log.

CREATE TABLE users (
    name          TEXT    NOT NULL PRIMARY KEY,
    roles         TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    failed_logins BIGINT NOT NULL,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);

CREATE TABLE user_sessions (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES users (name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
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
    ttl_seconds    BIGINT,
    binding_hash   TEXT    NOT NULL,
    on_behalf_of   TEXT,
    agent_owner    TEXT    NOT NULL,
    justification  TEXT    NOT NULL,
    rule_json      TEXT    NOT NULL,
    votes_json     TEXT    NOT NULL,
    requested_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    decided_at     BIGINT,
    window_ends_at BIGINT,
    used_at        BIGINT,
    version        BIGINT NOT NULL
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
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
