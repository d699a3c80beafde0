-- Managed identities (issue 17): service principals without a credential,
-- whose tokens only the managed identity endpoints issue. Never apps: the
-- token endpoint does not look here. permissions is a JSON list like
-- apps.permissions (roles only); kind is 'system' or 'user', and a tenant
-- has at most one 'system' identity.
CREATE TABLE managed_identities (
    client_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    permissions TEXT NOT NULL
);

CREATE UNIQUE INDEX managed_identities_one_system ON managed_identities (tenant_id) WHERE kind = 'system';
