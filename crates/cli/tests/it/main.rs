//! The `latchkey` binary, run as a user runs it.

mod client;
mod demo_api;
mod keys;
mod replicas;
mod serve;
