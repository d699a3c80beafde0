-- Single-page applications (issue 15). An app's SPA redirect URIs (JSON
-- list, like redirect_uris); a code issued to one, and the refresh tokens
-- of the family it starts, keep that URI's origin: they are redeemed only
-- cross-origin, from there. NULL: a web, native or password sign-in.
ALTER TABLE apps ADD COLUMN spa_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE auth_codes ADD COLUMN spa_origin TEXT;
ALTER TABLE refresh_tokens ADD COLUMN spa_origin TEXT;

-- Seconds after its rotation in which a refresh token presented again is
-- answered (two tabs refreshing at once) rather than revoking its family;
-- NULL takes the default (5), 0 is strict rotation.
ALTER TABLE tenants ADD COLUMN refresh_token_reuse_seconds INTEGER;
