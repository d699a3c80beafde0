//! The `latchkey` binary, run as a user runs it.

mod serve;
