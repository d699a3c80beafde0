-- Secretless app credentials (issue 17). certificates: a JSON list of the
-- app's registered X.509 certificates, each base64 DER (public; the private
-- key never leaves the app). federated_credentials: a JSON list of trusted
-- external issuers ({name, issuer, subject, audiences, jwks}), jwks being
-- the JWKS file's text when the directory file gave one.
ALTER TABLE apps ADD COLUMN certificates TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apps ADD COLUMN federated_credentials TEXT NOT NULL DEFAULT '[]';
-- Each client assertion accepted once (a per-app opt-in; Azure AD takes an
-- assertion again until it expires, and MSAL reuses one).
ALTER TABLE apps ADD COLUMN single_use_assertions BOOLEAN NOT NULL DEFAULT FALSE;

-- The jti of every assertion a single-use app presented, until it expires:
-- the primary key makes the first presentation the only one, on every
-- replica.
CREATE TABLE client_assertion_jtis (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis (expires_at);
