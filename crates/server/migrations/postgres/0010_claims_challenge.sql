-- The claims challenge (issue 16). An API whose tenant requires a second
-- factor for it (require_mfa = 1, standing in for a conditional-access
-- policy); a user with a second factor asked for it only when a policy or
-- a claims request needs it (mfa_enforced = 0; 1, the default: at every
-- sign-in, as before); and how a refresh token's sign-in went ('pwd',
-- 'pwd mfa'), kept by every token of its family. '' for a token stored
-- before: not known, so it satisfies no policy.
ALTER TABLE apis ADD COLUMN require_mfa BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_enforced BIGINT NOT NULL DEFAULT 1;
ALTER TABLE refresh_tokens ADD COLUMN auth_methods TEXT NOT NULL DEFAULT '';
