//! Integration tests of the authorization server: each starts the real
//! server on a loopback port over a temporary SQLite file.

mod app_id;
mod assignment;
mod authorize;
mod claims;
mod client_assertion;
mod code;
mod correlation;
mod device_code;
mod discovery;
mod error_lookup;
mod es256;
mod federated_credential;
mod harness;
mod health;
mod instance_discovery;
mod managed_identity;
mod msal_cache;
mod oauth2_rs;
mod on_behalf_of;
#[path = "../../../../tests/support/postgres.rs"]
mod postgres;
mod refresh;
mod routes;
mod scenarios;
mod sessions;
mod sign_in;
mod sign_in_log;
mod spa;
mod store;
mod token;
mod v2;
