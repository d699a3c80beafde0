-- Smart lockout: failed passwords and second-factor codes per user name
-- (known or not, so a lockout tells nothing about which names exist), and
-- the last TOTP time step used, so a code is accepted once (RFC 6238 §5.2).
CREATE TABLE sign_in_attempts (
    tenant_id TEXT NOT NULL,
    -- The user name as typed, lower-cased.
    upn TEXT NOT NULL,
    -- Failures since the last success or lockout.
    failures BIGINT NOT NULL DEFAULT 0,
    -- Lockouts since the last success: each doubles the next one.
    lockouts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_failure_at BIGINT NOT NULL DEFAULT 0,
    totp_step BIGINT,
    PRIMARY KEY (tenant_id, upn)
);

-- A tenant's lockout policy; NULL takes Azure AD's defaults.
ALTER TABLE tenants ADD COLUMN lockout_threshold BIGINT;
ALTER TABLE tenants ADD COLUMN lockout_seconds BIGINT;

-- A refresh token carries the API scopes its sign-in granted (it refreshes
-- to at most those for its resource) and the absolute end of its family.
ALTER TABLE refresh_tokens ADD COLUMN granted_scope TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN family_expires_at BIGINT NOT NULL DEFAULT 0;
-- Tokens from before: their family ends 90 days (the default) after its
-- token was issued, never before the token itself.
UPDATE refresh_tokens SET family_expires_at = issued_at + 7776000;
