-- The apps a browser session signed in to (their client ids, each
-- surrounded by spaces), so that sign-out without a client_id can still
-- send the browser back to an app that session used, and to no other.
ALTER TABLE sessions ADD COLUMN client_ids TEXT NOT NULL DEFAULT '';
