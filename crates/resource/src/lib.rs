//! Resource-server middleware for Rust web APIs: validates bearer tokens
//! from a Latchkey (or Azure AD v1) authority and refuses requests with the
//! RFC 6750 challenges of docs/spec/seed-000-resource-errors.txt.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use latchkey_resource::{Requirement, ResourceConfig, TokenClaims, Validator};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ResourceConfig::new("http://127.0.0.1:8080/contoso.example", "https://files.contoso.example/");
//! let validator = Arc::new(Validator::new(config)?);
//! validator.refresh_now().await?;
//! validator.spawn_refresh();
//! let app: Router = Router::new().route(
//!     "/api/read",
//!     get(|claims: TokenClaims| async move { format!("hello {:?}", claims.upn()) })
//!         .layer(validator.require(Requirement::scope("Files.Read"))),
//! );
//! # Ok(()) }
//! ```
//!
//! Architecture invariant: this crate talks to the authority only over HTTP
//! (discovery and JWKS); it never reads the server's store.

mod cache;
mod claims;
mod config;
mod keys;
mod layer;
mod requirement;
mod scenario;
mod tenants;
mod validate;

pub use claims::TokenClaims;
pub use config::{AcceptedTenants, InitError, ResourceConfig};
pub use keys::FetchError;
pub use layer::{BearerAuth, BearerAuthLayer, Rejection, bearer_token};
pub use requirement::Requirement;
pub use scenario::{Refusal, ResourceScenario};
pub use validate::Validator;
