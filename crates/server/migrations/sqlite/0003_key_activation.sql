-- A key is published as soon as it is stored and signs from activates_at,
-- so resource servers have it before the first token it signs. Keys made
-- before this migration sign from their creation.
ALTER TABLE signing_keys ADD COLUMN activates_at INTEGER NOT NULL DEFAULT 0;
UPDATE signing_keys SET activates_at = created_at;
