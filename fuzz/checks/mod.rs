//! What each fuzz target checks, one module per target: libFuzzer's
//! inputs reach them through `fuzz_targets/`, and the test command's smoke
//! (`crates/cli/tests/it/fuzz_smoke.rs`) feeds them the seeds in `seeds/`
//! and seeded mutations of those. Each `check` panics on a finding.
#![allow(dead_code)]

pub mod authorize_request;
pub mod client_assertion;
pub mod directory_file;
pub mod jws;
pub mod server;
pub mod token_request;
pub mod www_authenticate;
