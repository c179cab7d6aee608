-- Upstream secrets the gateway injects. Each row is one version, sealed under the master key with
-- associated data binding name and version (see SecretRules); plaintext never reaches the database.

CREATE TABLE secret_versions (
    name         TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    sealed_value BYTEA   NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (name, version)
);
