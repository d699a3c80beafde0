-- Latchkey's schema, as in migrations/sqlite with BYTEA and BIGINT. Lists are
-- JSON text so that both engines share one shape and one set of statements.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    profile TEXT
);

CREATE TABLE tenant_domains (
    domain TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE
);

CREATE TABLE apis (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id_uri TEXT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    roles TEXT NOT NULL,
    PRIMARY KEY (tenant_id, app_id_uri)
);

CREATE TABLE apps (
    client_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    object_id TEXT NOT NULL,
    secret_sha256 BYTEA,
    redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    permissions TEXT NOT NULL
);

CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    object_id TEXT NOT NULL,
    upn TEXT NOT NULL,
    display_name TEXT,
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    roles TEXT NOT NULL,
    PRIMARY KEY (tenant_id, object_id),
    UNIQUE (tenant_id, upn)
);

-- api = '' means "any API of the tenant that defines the scope".
CREATE TABLE consents (
    tenant_id TEXT NOT NULL,
    user_oid TEXT NOT NULL,
    client_id TEXT NOT NULL,
    api TEXT NOT NULL,
    scopes TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_oid, client_id, api)
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    pkcs8 BYTEA NOT NULL,
    certificate BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Only a SHA-256 of each refresh token is kept. A family is every token
-- rotated from one sign-in; reuse of a rotated-out token revokes it all.
CREATE TABLE refresh_tokens (
    token_sha256 BYTEA PRIMARY KEY,
    family_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_oid TEXT NOT NULL,
    resource TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
