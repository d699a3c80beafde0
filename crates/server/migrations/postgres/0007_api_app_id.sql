-- An API's application (client) id (a GUID, unique across the directory):
-- a second name for the API and the `aud` of its v2 access tokens; and the
-- version (1 or 2) of every access token issued for it, NULL: the
-- endpoint's (issue 15; on-behalf-of, issue 16, uses the same key).
ALTER TABLE apis ADD COLUMN app_id TEXT;
ALTER TABLE apis ADD COLUMN access_token_version BIGINT;
