-- Keys the server MACs with, shared by every replica: 'csrf' binds the
-- pages' CSRF tokens to the browser's session (or pre-session) cookie.
-- The first key stored under a name stays.
CREATE TABLE mac_keys (
    name TEXT PRIMARY KEY,
    key_bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
