//! The managed identity endpoints, for code that runs unchanged outside
//! Azure: the App Service / Functions protocol (`app_service`,
//! `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) and the Instance Metadata
//! Service's (`imds`, `AZURE_POD_IDENTITY_AUTHORITY_HOST`). Each hands out
//! app-only tokens of one tenant's managed identities through the token
//! endpoint's one issuing path (`token::access_token`), and answers
//! refusals as its protocol does.
//!
//! They have a router of their own, served only on a listener of its own
//! (`serve --managed-identity-listen`): whoever reaches them gets tokens
//! with no credential but the App Service secret header (or, for IMDS,
//! only `Metadata: true`), so they must never be routes of the main
//! listener.

mod app_service;
mod imds;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::routing::get;
use latchkey_protocol::Version;
use uuid::Uuid;

use crate::context::{self, RequestContext};
use crate::directory::{IdentitySelector, ManagedIdentity, Tenant, TenantRef};
use crate::secrets::Digest;
use crate::sign_in_log::{Endpoint, SignIn, SignInNotes};
use crate::state::{AppState, Shared, StartError};
use crate::token::{AuthMethod, Caller, Subject, access_token, resolve_api};
use crate::{ProtocolError, unknown_route};

/// The App Service protocol's path: `IDENTITY_ENDPOINT` is this on the
/// managed identity listener (App Service's own is `/msi/token` too).
pub const APP_SERVICE_PATH: &str = "/msi/token";

/// IMDS's path, under `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
pub const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// What `serve --managed-identity-*` says.
#[derive(Clone)]
pub struct ManagedIdentityConfig {
    /// The tenant whose identities are served (id or domain); `None`: the
    /// directory's only tenant.
    pub tenant: Option<String>,
    /// The App Service protocol's `X-IDENTITY-HEADER`.
    pub secret: String,
}

impl std::fmt::Debug for ManagedIdentityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedIdentityConfig")
            .field("tenant", &self.tenant)
            .field("secret", &"redacted")
            .finish()
    }
}

/// The managed identity endpoints' router and the tenant they serve.
pub struct ManagedIdentityRouter {
    /// For a listener of its own, never the main one.
    pub router: Router,
    pub tenant_id: Uuid,
    pub tenant_name: String,
}

/// The endpoints' state: the server's view, the tenant served, and the
/// App Service secret (as its digest, compared in constant time).
#[derive(Clone)]
struct MiState {
    shared: Shared,
    tenant: Uuid,
    secret: Arc<Digest>,
}

impl FromRef<MiState> for Arc<AppState> {
    fn from_ref(state: &MiState) -> Arc<AppState> {
        state.shared.current()
    }
}

/// The router over `shared` for `config`'s tenant: refused at start when
/// the tenant is unknown, or not given while the directory has several.
pub(crate) fn router(
    shared: Shared,
    config: &ManagedIdentityConfig,
) -> Result<ManagedIdentityRouter, StartError> {
    let state = shared.current();
    let tenant = match &config.tenant {
        Some(segment) => match state.directory.resolve_tenant(segment) {
            Some(TenantRef::Tenant(tenant)) => tenant,
            _ => {
                return Err(StartError::ManagedIdentityTenant(format!(
                    "--managed-identity-tenant {segment} is not a tenant of the directory"
                )));
            }
        },
        None => {
            let mut tenants = state.directory.tenants();
            match (tenants.next(), tenants.next()) {
                (Some(only), None) => only,
                _ => {
                    return Err(StartError::ManagedIdentityTenant(
                        "the directory has several tenants: name the one whose managed identities are served with --managed-identity-tenant".to_owned(),
                    ));
                }
            }
        }
    };
    let mi = MiState {
        shared,
        tenant: tenant.id,
        secret: Arc::new(Digest::of(&config.secret)),
    };
    let router = Router::new()
        // With a trailing slash too: msal-node asks IMDS at
        // `…/oauth2/token/`; either protocol takes both.
        .route(APP_SERVICE_PATH, get(app_service::token))
        .route(&format!("{APP_SERVICE_PATH}/"), get(app_service::token))
        .route(IMDS_PATH, get(imds::token))
        .route(&format!("{IMDS_PATH}/"), get(imds::token))
        .route_layer(axum::middleware::from_fn_with_state(
            mi.clone(),
            note_sign_in,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            mi.clone(),
            context::overload_guard,
        ))
        .method_not_allowed_fallback(unknown_route::method_not_allowed)
        .fallback(unknown_route::not_found)
        .layer(axum::middleware::from_fn_with_state(
            mi.clone(),
            context::request_context,
        ))
        .with_state(mi);
    Ok(ManagedIdentityRouter {
        router,
        tenant_id: tenant.id,
        tenant_name: tenant.name.clone(),
    })
}

/// A request's query parameters, each at most once.
struct Params {
    values: HashMap<String, String>,
    /// The first parameter given twice, if any.
    repeated: Option<String>,
}

impl Params {
    fn parse(query: Option<&str>) -> Params {
        let mut values = HashMap::new();
        let mut repeated = None;
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if values.contains_key(name.as_ref()) {
                repeated.get_or_insert_with(|| latchkey_protocol::bounded(&name));
            } else {
                values.insert(name.into_owned(), value.into_owned());
            }
        }
        Params { values, repeated }
    }

    /// A parameter; an empty value counts as absent.
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The identity the request names by the first of `names` given
    /// (`client_id`, then a principal or object id, then a resource id);
    /// `Err` when it names more than one.
    fn selector(
        &self,
        client_id: &str,
        principal_ids: &[&str],
        resource_id: &str,
    ) -> Result<IdentitySelector, ()> {
        let mut named = Vec::new();
        if let Some(id) = self.get(client_id) {
            named.push(IdentitySelector::ClientId(id.to_owned()));
        }
        for name in principal_ids {
            if let Some(id) = self.get(name) {
                named.push(IdentitySelector::PrincipalId(id.to_owned()));
            }
        }
        if let Some(id) = self.get(resource_id) {
            named.push(IdentitySelector::ResourceId(id.to_owned()));
        }
        match named.len() {
            0 => Ok(IdentitySelector::System),
            1 => Ok(named.remove(0)),
            _ => Err(()),
        }
    }
}

/// The identity `selector` names in the served tenant.
fn find<'a>(
    state: &'a AppState,
    tenant: Uuid,
    selector: &IdentitySelector,
) -> Option<(&'a Tenant, &'a ManagedIdentity)> {
    let tenant = state.directory.tenant(tenant)?;
    let identity = state.directory.managed_identity(tenant.id, selector)?;
    Some((tenant, identity))
}

/// A managed identity's access token and what the protocols report of it.
struct Issued {
    access_token: String,
    not_before: i64,
    expires_on: i64,
    client_id: String,
}

/// Every request to the endpoints is a sign-in of the served tenant's
/// managed identities, for the log (the handlers add the identity's client
/// id, or Azure AD's refusal).
async fn note_sign_in(
    State(mi): State<MiState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let endpoint = if request.uri().path().starts_with(IMDS_PATH) {
        Endpoint::ManagedIdentityImds
    } else {
        Endpoint::ManagedIdentityAppService
    };
    let mut response = next.run(request).await;
    let sign_in = SignIn::of(&mut response);
    sign_in.endpoint = Some(endpoint);
    sign_in.tenant = Some(mi.tenant.to_string());
    response
}

/// Signs `identity`'s token for `resource`, as client credentials would
/// for an app: a v1 request (both protocols take `resource`), the roles
/// granted to the identity that the API defines. An unknown resource is
/// the token endpoint's own AADSTS500011.
fn issue(
    state: &AppState,
    ctx: &RequestContext,
    tenant: &Tenant,
    identity: &ManagedIdentity,
    resource: &str,
) -> Result<Issued, ProtocolError> {
    let app = identity.service_principal();
    let tenant_segment = tenant.id.to_string();
    let notes = SignInNotes::default();
    let caller = Caller {
        tenant,
        tenant_segment: &tenant_segment,
        app: &app,
        method: AuthMethod::ManagedIdentity,
        version: Version::V1,
        now: ctx.now(),
        ctx,
        origin: None,
        notes: &notes,
    };
    let api = resolve_api(state, &caller, resource)?;
    let subject = Subject::App {
        roles: identity.roles_on(api),
    };
    let issued = access_token(state, &caller, api, &subject, caller.now)?;
    Ok(Issued {
        access_token: issued.access_token,
        not_before: issued.not_before,
        expires_on: issued.expires_on,
        client_id: identity.client_id.to_string(),
    })
}
