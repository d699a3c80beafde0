//! Integration tests of the resource middleware: a test authority (discovery
//! and JWKS on a loopback port, keys made here) and a protected API, both
//! real servers, driven over HTTP.

mod challenges;
mod es256;
mod forged;
mod harness;
mod rotation;
mod tenants;
