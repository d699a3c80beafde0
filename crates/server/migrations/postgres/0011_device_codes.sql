-- Device authorizations (RFC 8628): the device code is kept only as its
-- SHA-256 digest; the user code, short and typed by a person, in clear
-- (it is worth nothing without the device code, and expires with it).
CREATE TABLE device_codes (
    device_sha256 BYTEA PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    -- The API scopes asked for (space-separated) and the OpenID scopes.
    scope TEXT NOT NULL,
    oidc_scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    interval_seconds BIGINT NOT NULL,
    -- 'pending' until the person approves ('approved') or declines
    -- ('declined') at the device login page.
    status TEXT NOT NULL,
    user_oid TEXT,
    -- How the person signed in: 'pwd' or 'pwd mfa'.
    auth_methods TEXT,
    -- The previous poll, in milliseconds (slow_down).
    last_polled_ms BIGINT,
    redeemed_at BIGINT
);

CREATE INDEX device_codes_expiry ON device_codes (expires_at);
