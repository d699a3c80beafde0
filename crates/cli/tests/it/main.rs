//! The `latchkey` binary, run as a user runs it.

mod client;
mod connections;
mod demo_api;
#[path = "../../../../fuzz/checks/mod.rs"]
mod fuzz_checks;
mod fuzz_smoke;
mod keys;
mod logs;
mod managed_identity;
mod metrics;
#[path = "../../../../tests/support/postgres.rs"]
mod postgres;
mod replicas;
mod serve;
#[path = "../../../../tests/support/sign_in.rs"]
mod sign_in;
