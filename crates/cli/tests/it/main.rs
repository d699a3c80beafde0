//! The `latchkey` binary, run as a user runs it.

mod demo_api;
mod serve;
