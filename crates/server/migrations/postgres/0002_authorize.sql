-- Authorization codes and sign-in sessions. Only SHA-256 digests of the
-- codes and session ids are kept.

CREATE TABLE auth_codes (
    code_sha256 BYTEA PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    user_oid TEXT NOT NULL,
    resource TEXT NOT NULL,
    -- The API scopes granted (space-separated) and the OpenID scopes asked.
    scope TEXT NOT NULL,
    oidc_scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    -- How the user signed in: 'pwd' or 'pwd mfa'.
    auth_methods TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    redeemed_at BIGINT,
    -- The refresh-token family minted at redemption, revoked on replay.
    family_id TEXT
);

CREATE TABLE sessions (
    session_sha256 BYTEA PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_oid TEXT NOT NULL,
    mfa_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
