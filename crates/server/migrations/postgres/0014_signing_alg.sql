-- ES256 signing (issue 18). A signing key's algorithm, which its kind
-- decides (RS256: RSA-2048, ES256: P-256); keys made before this migration
-- are RSA. A tenant's signing_alg says which kind signs its tokens (RS256,
-- Azure AD's, unless the directory file says ES256).
ALTER TABLE signing_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'RS256';
ALTER TABLE tenants ADD COLUMN signing_alg TEXT NOT NULL DEFAULT 'RS256';
