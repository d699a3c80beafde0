//! `latchkey demo-api`: a small web API behind the resource middleware,
//! for trying tokens from a running `latchkey serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::routing::get;
use clap::Args;
use latchkey_resource::{
    AcceptedTenants, Requirement, ResourceConfig, ResourceScenario, TokenClaims, Validator,
};
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub struct DemoApiArgs {
    /// The tenant authority: {public-url}/{tenant}.
    #[arg(long)]
    authority: String,
    /// The API's App ID URI.
    #[arg(long)]
    resource_id: String,
    /// The API's application (client) id, its `app_id` in the directory
    /// file: tokens whose `aud` is this GUID (v2 tokens) are accepted too.
    #[arg(long, value_name = "GUID")]
    app_id: Option<uuid::Uuid>,
    /// A tenant id whose tokens are accepted; repeatable. Required (or
    /// --any-tenant) with a multi-tenant authority (common, organizations).
    #[arg(long = "tenant", value_name = "ID")]
    tenants: Vec<String>,
    /// Accept tokens from every tenant of a multi-tenant authority: any
    /// tenant can register this App ID URI (docs/resource.md).
    #[arg(long, conflicts_with = "tenants")]
    any_tenant: bool,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The delegated scope GET /api/read accepts.
    #[arg(long, default_value = "Files.Read")]
    read_scope: String,
    /// The app role GET /api/read accepts.
    #[arg(long, default_value = "Files.ReadAll")]
    read_role: String,
    /// The role GET /api/admin also needs.
    #[arg(long, default_value = "Files.Admin")]
    admin_role: String,
    /// Both routes also need a second factor (`mfa` in the token's `amr`):
    /// a user's token without it gets a claims challenge
    /// (`insufficient_claims`), as an API behind a conditional-access
    /// policy answers.
    #[arg(long)]
    require_mfa: bool,
    /// RFC 6750 §3.1: no error in the challenge when no credentials are sent.
    #[arg(long)]
    strict: bool,
    /// Validated tokens remembered until they expire (0: verify every request).
    #[arg(long, default_value_t = 10_000)]
    token_cache: usize,
    /// Refuse requests on demand: ERROR[:TIMES], e.g. `invalid_token:2` or
    /// `server_error`; repeatable, used in order.
    #[arg(long)]
    scenario: Vec<ResourceScenario>,
    /// Seconds between refetches of the authority's keys (a rotated key is
    /// announced before it signs; refetch more often than that).
    #[arg(long, default_value_t = 3600)]
    key_refresh_interval: u64,
    /// Also trust the CA certificates (PEM) in this file when fetching the
    /// authority's keys, e.g. `DATA/tls/ca.pem` of `serve --tls-self-signed`.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

pub async fn run(args: DemoApiArgs) -> anyhow::Result<()> {
    let mut config = ResourceConfig::new(&args.authority, &args.resource_id);
    config.strict = args.strict;
    if let Some(app_id) = args.app_id {
        // Both audience forms of the API (as Microsoft.Identity.Web accepts
        // its `ClientId` and App ID URI): v1 tokens name the App ID URI,
        // v2 tokens the application id.
        config.audiences = vec![args.resource_id.clone(), app_id.to_string()];
    }
    config.tenants = if args.any_tenant {
        AcceptedTenants::Any
    } else if args.tenants.is_empty() {
        AcceptedTenants::Unset
    } else {
        AcceptedTenants::Only(args.tenants.clone())
    };
    config.cache_capacity = args.token_cache;
    config.refresh_interval = std::time::Duration::from_secs(args.key_refresh_interval.max(1));
    if let Some(path) = &args.ca_file {
        config.extra_roots_pem =
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    }
    let validator =
        Arc::new(Validator::new(config).context("configuring the resource middleware")?);
    for scenario in &args.scenario {
        validator.inject(*scenario);
    }
    if let Err(err) = validator.refresh_now().await {
        // Not fatal: the authority may come up later; keys are fetched on
        // the first token.
        tracing::warn!(error = %err, "the authority did not answer discovery yet");
    }
    validator.spawn_refresh();
    let mut read = Requirement::AnyOf(vec![
        Requirement::scope(&args.read_scope),
        Requirement::role(&args.read_role),
    ]);
    if args.require_mfa {
        read = Requirement::AllOf(vec![read, Requirement::mfa()]);
    }
    let admin = Requirement::AllOf(vec![read.clone(), Requirement::role(&args.admin_role)]);
    let app = Router::new()
        .route(
            "/api/read",
            get(|claims: TokenClaims| async move { Json(describe("read", &claims)) })
                .layer(validator.require(read)),
        )
        .route(
            "/api/admin",
            get(|claims: TokenClaims| async move { Json(describe("admin", &claims)) })
                .layer(validator.require(admin)),
        )
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let shutdown = crate::serve::shutdown_signal();
    say!(
        "Demo API listening on http://{} (authority {}, resource {})",
        listener.local_addr()?,
        args.authority,
        args.resource_id
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving")?;
    Ok(())
}

fn describe(route: &str, claims: &TokenClaims) -> Value {
    json!({
        "route": route,
        "subject": claims.subject(),
        "upn": claims.upn(),
        "appid": claims.app_id(),
        "scopes": claims.scopes().collect::<Vec<_>>(),
        "roles": claims.roles().collect::<Vec<_>>(),
        "amr": claims.auth_methods().collect::<Vec<_>>(),
    })
}
