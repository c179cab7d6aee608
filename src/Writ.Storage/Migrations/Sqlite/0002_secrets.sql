-- Upstream secrets the gateway injects. Each row is one version, sealed under the master key with
-- associated data binding name and version (see SecretRules); plaintext never reaches the database.

CREATE TABLE secret_versions (
    name         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    sealed_value BLOB    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
