-- Writ schema, PostgreSQL. Timestamps are BIGINT unix microseconds UTC; lists are JSON text.

CREATE TABLE agents (
    id           TEXT    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    owner        TEXT    NOT NULL,
    roles        TEXT    NOT NULL,
    description  TEXT,
    status       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT
);

CREATE TABLE agent_keys (
    thumbprint TEXT    NOT NULL PRIMARY KEY,
    agent_id   TEXT    NOT NULL REFERENCES agents (id),
    public_jwk TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX ix_agent_keys_agent ON agent_keys (agent_id);

CREATE TABLE enrollment_codes (
    code_hash  TEXT    NOT NULL PRIMARY KEY,
    agent_id   TEXT    NOT NULL REFERENCES agents (id),
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);

CREATE TABLE tasks (
    id           TEXT    NOT NULL PRIMARY KEY,
    agent_id     TEXT    NOT NULL REFERENCES agents (id),
    purpose      TEXT    NOT NULL,
    ticket       TEXT,
    on_behalf_of TEXT,
    status       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    closed_at    BIGINT
);
CREATE INDEX ix_tasks_status_expires ON tasks (status, expires_at);
CREATE INDEX ix_tasks_agent ON tasks (agent_id, created_at);

CREATE TABLE credentials (
    jti            TEXT    NOT NULL PRIMARY KEY,
    agent_id       TEXT    NOT NULL,
    task_id        TEXT    NOT NULL REFERENCES tasks (id),
    resource       TEXT    NOT NULL,
    environment    TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    target         TEXT,
    key_thumbprint TEXT    NOT NULL,
    issued_at      BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    revoked_at     BIGINT
);
CREATE INDEX ix_credentials_task ON credentials (task_id);
CREATE INDEX ix_credentials_agent ON credentials (agent_id, expires_at);

CREATE TABLE policy_versions (
    version    BIGINT  NOT NULL PRIMARY KEY,
    sha256     TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    applied_by TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
);

CREATE TABLE audit_events (
    seq             BIGINT  NOT NULL PRIMARY KEY,
    at              BIGINT  NOT NULL,
    actor_kind      TEXT    NOT NULL,
    actor_id        TEXT    NOT NULL,
    on_behalf_of    TEXT,
    task_id         TEXT,
    action          TEXT    NOT NULL,
    resource        TEXT,
    environment     TEXT,
    scope           TEXT,
    target          TEXT,
    decision        TEXT    NOT NULL,
    reason          TEXT,
    policy_version  BIGINT,
    duration_micros BIGINT  NOT NULL,
    details         TEXT,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE INDEX ix_audit_actor ON audit_events (actor_id, seq);
CREATE INDEX ix_audit_task ON audit_events (task_id, seq);
CREATE INDEX ix_audit_at ON audit_events (at);

CREATE TABLE audit_checkpoints (
    seq       BIGINT  NOT NULL PRIMARY KEY,
    hash      TEXT    NOT NULL,
    at        BIGINT  NOT NULL,
    key_id    TEXT    NOT NULL,
    signature TEXT    NOT NULL
);

CREATE TABLE signing_keys (
    key_id             TEXT    NOT NULL PRIMARY KEY,
    sealed_private_key BYTEA   NOT NULL,
    public_jwk         TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    retired_at         BIGINT
);

CREATE TABLE admin_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT
);

-- The chain head, one row. Appends lock it (SELECT ... FOR UPDATE) so replicas sharing this database
-- take turns and can never fork the chain.
CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
