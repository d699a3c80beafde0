//! Integration tests of the authorization server: each starts the real
//! server on a loopback port over a temporary SQLite file.

mod discovery;
mod harness;
mod refresh;
mod token;
