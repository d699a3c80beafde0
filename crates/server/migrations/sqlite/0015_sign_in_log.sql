-- The sign-in log (issue 19): one row per authorize outcome, token,
-- device-code and managed-identity request, written in batches off the
-- request path, kept for a bounded time and number of rows. Never a
-- secret, password, code, token or assertion: only who, what and how it
-- ended. Times in Unix seconds; error_codes the AADSTS numbers,
-- space-separated; scenario the id of the scenario that injected the
-- error, if one did.
CREATE TABLE sign_ins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at BIGINT NOT NULL,
    tenant TEXT,
    endpoint TEXT NOT NULL,
    grant_type TEXT,
    app TEXT,
    user_name TEXT,
    client_ip TEXT,
    status BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    error_codes TEXT,
    suberror TEXT,
    trace_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    scenario BIGINT
);

CREATE INDEX sign_ins_created_at ON sign_ins (created_at);
CREATE INDEX sign_ins_trace_id ON sign_ins (trace_id);
CREATE INDEX sign_ins_correlation_id ON sign_ins (correlation_id);
