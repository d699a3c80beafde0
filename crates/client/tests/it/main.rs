//! The client library against the real server and real protected APIs,
//! all started in-process on loopback ports: each error leads to its
//! client action. (The `latchkey` command line over it is tested in
//! `crates/cli`.)

mod call;
mod claims;
mod harness;
mod login;
mod on_behalf_of;
#[path = "../../../../tests/support/sign_in.rs"]
mod sign_in;
mod token;
mod trust;
