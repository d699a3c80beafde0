//! The Latchkey authorization server as a library: [`router`] gives the
//! axum `Router` that `latchkey serve` runs.
//!
//! An authorization request goes: `context` (ids) → `authorize` (client and
//! redirect URI first, then the pages, then a code) → a redirect.
//! A token request goes: `context` (ids, overload guard) → `token`
//! (tenant, form, grant type, client authentication, then one module per
//! grant) → `issue` (sign the access token) → back through `context`, which
//! renders any `ProtocolError` as the seed's JSON document.

mod admin;
mod authorize;
pub mod clock;
pub mod config;
mod context;
mod cors;
mod device_authorization;
pub mod directory;
mod discovery;
mod error;
pub mod error_lookup;
mod form_body;
mod health;
mod html_page;
mod instance_discovery;
mod issuer_keys;
pub mod keys;
mod logout;
pub mod managed_identity;
pub mod private_files;
mod request_body;
pub mod scenarios;
mod scope;
pub mod secrets;
mod sign_in;
pub mod sign_in_log;
mod state;
pub mod store;
pub mod telemetry;
mod tenant_segment;
mod token;
mod unknown_route;

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, any, get};

pub use clock::Clock;
pub use config::ServerConfig;
pub use context::RequestContext;
pub use error::ProtocolError;
pub use latchkey_protocol::Profile;
pub use state::{AppState, Shared, StartError};

/// Loads the directory and keys from `store` and builds the server's routes.
pub async fn router(
    config: ServerConfig,
    store: Arc<dyn store::Store>,
) -> Result<Router, StartError> {
    let shared = Shared::new(AppState::load(config, store).await?);
    shared.spawn_reload();
    Ok(routes(shared))
}

/// Like [`router`], plus the managed identity endpoints' router for the
/// tenant `managed_identity` names, over the same view of the store: to
/// serve on a listener of its own, never merged into the main router.
pub async fn router_with_managed_identity(
    config: ServerConfig,
    store: Arc<dyn store::Store>,
    managed_identity: &managed_identity::ManagedIdentityConfig,
) -> Result<(Router, managed_identity::ManagedIdentityRouter), StartError> {
    let shared = Shared::new(AppState::load(config, store).await?);
    let endpoints = managed_identity::router(shared.clone(), managed_identity)?;
    shared.spawn_reload();
    Ok((routes(shared), endpoints))
}

/// A public GET route (discovery, keys) that any origin may read. Its
/// preflight (`OPTIONS`) is routed to it, so that the CORS layer answers it
/// rather than the router's 405 fallback.
fn public_get<H, T>(handler: H) -> MethodRouter<Shared>
where
    H: Handler<T, Shared>,
    T: 'static,
{
    get(handler).options(cors::options).layer(cors::public())
}

fn routes(state: Shared) -> Router {
    let probe = Arc::new(health::StoreProbe::default());
    let mut router = Router::new();
    if state.current().config.admin_key.is_some() {
        router = router
            .route(
                "/_admin/scenarios",
                get(admin::list).post(admin::add).delete(admin::clear),
            )
            .route(
                "/_admin/users/{upn}/revokeSignInSessions",
                axum::routing::post(admin::revoke_sign_in_sessions),
            )
            .route("/_admin/sign-ins", get(sign_in_log::admin::list))
            .route("/_admin/sign-ins/{id}", get(sign_in_log::admin::one))
            .route("/_admin/portal/sign-ins", get(sign_in_log::admin::page))
            .route(
                "/_admin/portal/sign-ins/{id}",
                get(sign_in_log::admin::detail_page),
            );
    }
    router
        .route("/{tenant}/oauth2/token", any(token::token_endpoint))
        .route(
            "/{tenant}/oauth2/devicecode",
            any(device_authorization::devicecode_endpoint),
        )
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            any(device_authorization::devicecode_endpoint_v2),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            any(token::token_endpoint_v2).layer(cors::token()),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            public_get(discovery::openid_configuration_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            public_get(discovery::openid_configuration),
        )
        .route("/{tenant}/discovery/keys", public_get(discovery::jwks))
        // The keys URL of Azure AD's v2.0 discovery, which API samples
        // hard-code: the same keys.
        .route("/{tenant}/discovery/v2.0/keys", public_get(discovery::jwks))
        // MSAL asks it about an authority host it does not know (Azure AD
        // serves it under `common`; any tenant segment answers the same).
        .route(
            "/{tenant}/discovery/instance",
            public_get(instance_discovery::instance_discovery),
        )
        // ADAL asks `UserRealm`, MSAL `userrealm`.
        .route("/common/UserRealm/{user}", get(discovery::user_realm))
        .route("/common/userrealm/{user}", get(discovery::user_realm))
        // The routes above shed load with the seed's JSON 503; the
        // authorize endpoint, added after, applies the limit itself once it
        // knows where it may send the error.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            context::overload_guard,
        ))
        // Cheap, and never shed: a replica that sheds load stays in its
        // load balancer's rotation (docs/observability.md).
        .route(health::LIVE_PATH, get(health::live))
        .route(
            health::READY_PATH,
            get(move |state| health::ready(state, probe.clone())),
        )
        .route(error_lookup::PATH, get(error_lookup::lookup))
        .route(
            "/{tenant}/oauth2/authorize",
            any(authorize::authorize_endpoint),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            any(authorize::authorize_endpoint_v2),
        )
        .route(
            authorize::DEVICE_PAGE_PATH,
            any(authorize::device_login_endpoint),
        )
        .route("/{tenant}/oauth2/logout", any(logout::logout_endpoint))
        .route("/{tenant}/oauth2/v2.0/logout", any(logout::logout_endpoint))
        // After every route: a wrong method or an unknown path answers the
        // seed's JSON document too (rendered by the context layer).
        .method_not_allowed_fallback(unknown_route::method_not_allowed)
        .fallback(unknown_route::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            context::request_context,
        ))
        .with_state(state)
}
