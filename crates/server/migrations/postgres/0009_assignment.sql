-- User assignment (issue 16): with assignment_required, only the users in
-- assigned_users (a JSON list of their object ids, like redirect_uris)
-- get tokens from the app; the others are AADSTS50105. Without it the
-- list is kept and changes nothing, as Azure AD's assignments do.
ALTER TABLE apps ADD COLUMN assignment_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE apps ADD COLUMN assigned_users TEXT NOT NULL DEFAULT '[]';
