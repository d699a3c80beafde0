//! Integration tests of the authorization server: each starts the real
//! server on a loopback port over a temporary SQLite file.

mod authorize;
mod code;
mod oauth2_rs;
mod discovery;
mod harness;
mod refresh;
mod scenarios;
mod token;
mod v2;
