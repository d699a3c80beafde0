//! What every grant shares: finding the resource, checking scopes and
//! consent, signing the access token and writing the v1 response.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_protocol::{
    Aadsts, AccessTokenClaims, ClaimsRequest, GrantType, TokenResponseV1, Version,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Caller;
use super::request::{AuthMethod, Form};
use crate::ProtocolError;
use crate::directory::{Api, App, Consent, User};
use crate::secrets::{Digest, random_token};
use crate::state::AppState;
use crate::store::RefreshTokenRecord;
use crate::telemetry;

/// The API that `resource` names in the caller's tenant.
pub fn resolve_api<'a>(
    state: &'a AppState,
    caller: &Caller<'_>,
    resource: &str,
) -> Result<&'a Api, ProtocolError> {
    state
        .directory
        .api(caller.tenant.id, resource)
        .ok_or_else(|| {
            Aadsts::ResourceNotFound {
                resource: resource.to_owned(),
                tenant: caller.tenant_segment.to_owned(),
            }
            .into()
        })
}

/// The tenant's policy for `api` (`require_mfa`, standing in for a
/// conditional-access policy) and the request's own `claims`, against how
/// the user's sign-in went (`auth_methods`: `pwd`, `pwd mfa`). Every grant
/// that issues a user's token asks this before it spends anything
/// (password, refresh, authorization code; device code and on-behalf-of
/// too), so a policy has one home.
///
/// A second factor the sign-in lacks is `interaction_required` with a
/// `claims` member, the claims request the client passes back to the
/// authorization endpoint (which then asks for the second factor): for
/// the policy, its id in `capolids` as Azure AD names a conditional-access
/// policy; for the request's own `claims`, those claims again. 50076 as
/// Azure AD answers it; 50079 for a user with no second factor to pass.
pub fn require_policy(
    api: &Api,
    user: &User,
    auth_methods: &str,
    form: &Form,
) -> Result<(), ProtocolError> {
    let asked = form
        .get("claims")
        .map(|text| {
            ClaimsRequest::parse(text)
                .map(|request| (text, request))
                .map_err(|_| Aadsts::MalformedClaims)
        })
        .transpose()?;
    if has_mfa(auth_methods) {
        return Ok(());
    }
    let policy = api.mfa_policy_id().to_string();
    let claims = if api.require_mfa {
        ClaimsRequest::mfa_policy(&policy)
    } else {
        match asked {
            Some((text, request)) if request.asks_for_mfa(|id| id == policy) => text.to_owned(),
            _ => return Ok(()),
        }
    };
    let resource = api.app_id_uri.clone();
    let condition = if user.has_second_factor() {
        Aadsts::MfaRequired { resource }
    } else {
        Aadsts::MfaEnrollmentRequired { resource }
    };
    Err(ProtocolError::new(condition).with_claims(claims))
}

/// Whether a sign-in's `auth_methods` include a second factor.
pub fn has_mfa(auth_methods: &str) -> bool {
    auth_methods.split_whitespace().any(|m| m == "mfa")
}

/// The `amr` claim of a sign-in's `auth_methods`; none when they are not
/// known (a refresh token stored before they were kept).
fn amr(auth_methods: &str) -> Option<Vec<String>> {
    let methods: Vec<String> = auth_methods.split_whitespace().map(str::to_owned).collect();
    (!methods.is_empty()).then_some(methods)
}

/// Whether the app admits `user` (Azure AD's "assignment required"):
/// the one check of every user token. `delegated_scopes` makes it first,
/// so it comes before consent and before a grant spends anything (a
/// refresh token stays good for when the user is assigned again), and
/// `access_token` again, so no grant can sign a user's token without it.
/// Answered 403, as the seed's table has it. The user is noted for the
/// sign-in log here, the first moment every user grant knows them.
pub fn check_assignment(caller: &Caller<'_>, user: &User) -> Result<(), ProtocolError> {
    caller.notes.user(&user.upn);
    if caller.app.admits(user) {
        return Ok(());
    }
    Err(not_assigned(caller.app))
}

/// AADSTS50105 from `app`: also what a device is told whose person the
/// app did not admit at the device login page.
pub fn not_assigned(app: &App) -> ProtocolError {
    Aadsts::UserNotAssigned {
        client_id: app.client_id.to_string(),
        app_name: app.name.clone(),
    }
    .into()
}

/// The delegated scopes (`scp`) the caller gets for `user` on `api`: those
/// the app is permitted and the user consented to. Asking for one that was
/// not consented to, or having none at all, is `consent_required`; a user
/// the app does not admit is refused before that (`check_assignment`).
pub async fn delegated_scopes(
    state: &AppState,
    caller: &Caller<'_>,
    user: &User,
    api: &Api,
    requested: &[String],
) -> Result<String, ProtocolError> {
    let consents = telemetry::store(
        "consents",
        state
            .store
            .consents(caller.tenant.id, user.object_id, caller.app.client_id),
    )
    .await?;
    consented_scopes(caller, user, api, requested, &consents)
}

/// `delegated_scopes` with the consents `user` gave the caller's app
/// already read (with the refresh token they come with).
pub fn consented_scopes(
    caller: &Caller<'_>,
    user: &User,
    api: &Api,
    requested: &[String],
    consents: &[Consent],
) -> Result<String, ProtocolError> {
    check_assignment(caller, user)?;
    let permitted: BTreeSet<&str> = caller
        .app
        .permission_for(api)
        .map(|p| p.scopes.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let consented: BTreeSet<&str> = consents
        .iter()
        .filter(|c| c.covers(api))
        .flat_map(|c| c.scopes.iter().map(String::as_str))
        .filter(|s| api.scopes.iter().any(|defined| defined == s))
        .collect();
    let granted: BTreeSet<&str> = permitted.intersection(&consented).copied().collect();
    let consent_required = || -> ProtocolError {
        Aadsts::ConsentRequired {
            client_id: caller.app.client_id.to_string(),
            app_name: caller.app.name.clone(),
        }
        .into()
    };
    let scp: Vec<&str> = if requested.is_empty() {
        granted.into_iter().collect()
    } else {
        if requested.iter().any(|s| !granted.contains(s.as_str())) {
            return Err(consent_required());
        }
        requested
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    if scp.is_empty() {
        return Err(consent_required());
    }
    Ok(scp.join(" "))
}

/// Who the token speaks for.
pub enum Subject<'a> {
    /// The application itself (client credentials): `roles`.
    App { roles: Vec<String> },
    /// A user, through the application: `scp`, and how the user signed in
    /// (`pwd`, `pwd mfa`: `amr`).
    User {
        user: &'a User,
        scp: String,
        auth_methods: &'a str,
    },
}

/// A signed access token and the times the response reports.
pub struct Issued {
    pub access_token: String,
    pub not_before: i64,
    pub expires_on: i64,
}

pub fn access_token(
    state: &AppState,
    caller: &Caller<'_>,
    api: &Api,
    subject: &Subject<'_>,
    now: OffsetDateTime,
) -> Result<Issued, ProtocolError> {
    let iat = now.unix_timestamp();
    let exp = iat + state.config.access_token_lifetime.as_secs() as i64;
    let appidacr = match caller.method {
        AuthMethod::None => "0",
        AuthMethod::Basic | AuthMethod::Post => "1",
        AuthMethod::Assertion => "2",
        AuthMethod::ManagedIdentity => "2",
    };
    let (oid, sub, roles, scp, upn, amr) = match subject {
        Subject::App { roles } => {
            let oid = caller.app.object_id.to_string();
            (
                oid.clone(),
                oid,
                (!roles.is_empty()).then(|| roles.clone()),
                None,
                None,
                None,
            )
        }
        Subject::User {
            user,
            scp,
            auth_methods,
        } => {
            check_assignment(caller, user)?;
            (
                user.object_id.to_string(),
                pairwise_subject(user.object_id, caller.app.client_id),
                (!user.roles.is_empty()).then(|| user.roles.clone()),
                Some(scp.clone()),
                Some(user.upn.clone()),
                amr(auth_methods),
            )
        }
    };
    // The API's accepted version decides the access token's, whichever
    // endpoint was used (Azure AD's `accessTokenAcceptedVersion`); the
    // response's shape still follows the endpoint.
    let version = api.token_version(caller.version);
    let claims = AccessTokenClaims {
        aud: api.audience(version),
        iss: match version {
            Version::V1 => state.issuer(caller.tenant.id),
            Version::V2 => state.issuer_v2(caller.tenant.id),
        },
        iat,
        nbf: iat,
        exp,
        // Both versions: an API that requires a second factor reads it
        // here (Azure AD's v2 access tokens leave `amr` out).
        amr,
        appid: (version == Version::V1).then(|| caller.app.client_id.to_string()),
        appidacr: (version == Version::V1).then(|| appidacr.to_owned()),
        azp: (version == Version::V2).then(|| caller.app.client_id.to_string()),
        azpacr: (version == Version::V2).then(|| appidacr.to_owned()),
        idtyp: (caller.method == AuthMethod::ManagedIdentity).then(|| "app".to_owned()),
        oid,
        roles,
        scp,
        sub,
        tid: caller.tenant.id.to_string(),
        unique_name: upn.clone(),
        upn,
        uti: random_token(16)?,
        ver: match version {
            Version::V1 => "1.0",
            Version::V2 => "2.0",
        }
        .to_owned(),
    };
    let access_token = state
        .signing_key(caller.tenant.signing_alg)?
        .sign_jwt(&claims)?;
    Ok(Issued {
        access_token,
        not_before: iat,
        expires_on: exp,
    })
}

/// How the ID token came about: a sign-in (its `nonce` and `amr`), or a
/// refresh, whose ID token has no `nonce` (OpenID Connect Core §12.2) but
/// the `amr` of its sign-in, which the refresh token keeps.
pub enum IdTokenFor<'a> {
    SignIn {
        nonce: Option<&'a str>,
        /// `pwd`, `pwd mfa`: the `amr` claim.
        auth_methods: &'a str,
    },
    Refresh {
        /// The family's sign-in's; empty (no `amr`) for a refresh token
        /// stored before they were kept.
        auth_methods: &'a str,
    },
}

/// An ID token (OpenID Connect Core §2) for the user, signed like access
/// tokens; `aud` is the client.
pub fn id_token(
    state: &AppState,
    caller: &Caller<'_>,
    user: &User,
    occasion: IdTokenFor<'_>,
    now: OffsetDateTime,
) -> Result<String, ProtocolError> {
    let iat = now.unix_timestamp();
    let mut claims = serde_json::json!({
        "aud": caller.app.client_id.to_string(),
        "iss": match caller.version {
            Version::V1 => state.issuer(caller.tenant.id),
            Version::V2 => state.issuer_v2(caller.tenant.id),
        },
        "iat": iat,
        "nbf": iat,
        "exp": iat + state.config.access_token_lifetime.as_secs() as i64,
        "oid": user.object_id.to_string(),
        "sub": pairwise_subject(user.object_id, caller.app.client_id),
        "tid": caller.tenant.id.to_string(),
        "ver": match caller.version {
            Version::V1 => "1.0",
            Version::V2 => "2.0",
        },
    });
    // v1 ID tokens name the user by `upn`; v2.0 ones by
    // `preferred_username`, which MSAL files its accounts under.
    match caller.version {
        Version::V1 => {
            claims["upn"] = serde_json::Value::from(user.upn.as_str());
            claims["unique_name"] = serde_json::Value::from(user.upn.as_str());
        }
        Version::V2 => {
            claims["preferred_username"] = serde_json::Value::from(user.upn.as_str());
        }
    }
    if let Some(name) = &user.display_name {
        claims["name"] = serde_json::Value::from(name.as_str());
    }
    let (nonce, auth_methods) = match occasion {
        IdTokenFor::SignIn {
            nonce,
            auth_methods,
        } => (nonce, auth_methods),
        IdTokenFor::Refresh { auth_methods } => (None, auth_methods),
    };
    if let Some(amr) = amr(auth_methods) {
        claims["amr"] = serde_json::Value::from(amr);
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = serde_json::Value::from(nonce);
    }
    Ok(state
        .signing_key(caller.tenant.signing_alg)?
        .sign_jwt(&claims)?)
}

/// Azure AD's `client_info` for `user`: base64url, unpadded, of
/// `{"uid":"<object id>","utid":"<tenant id>"}`. MSAL keys its accounts
/// and tokens by `uid.utid`; MSAL Python pads before decoding, msal-node
/// decodes with Node's base64 (padding optional), msal-browser pads itself.
pub fn client_info(user: &User) -> String {
    let json = serde_json::json!({
        "uid": user.object_id.to_string(),
        "utid": user.tenant_id.to_string(),
    });
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// `sub` differs per application, as in Azure AD, so two apps cannot
/// correlate a user by it.
fn pairwise_subject(user: Uuid, client: Uuid) -> String {
    let digest = Digest::of(&format!("{user}:{client}"));
    URL_SAFE_NO_PAD.encode(digest.0)
}

pub fn v1_response(
    api: &Api,
    issued: Issued,
    now: OffsetDateTime,
    scope: Option<String>,
    refresh_token: Option<String>,
) -> TokenResponseV1 {
    let expires_in = (issued.expires_on - now.unix_timestamp()).to_string();
    TokenResponseV1 {
        token_type: "Bearer".to_owned(),
        scope,
        ext_expires_in: expires_in.clone(),
        expires_in,
        expires_on: issued.expires_on.to_string(),
        not_before: issued.not_before.to_string(),
        resource: api.app_id_uri.clone(),
        access_token: issued.access_token,
        refresh_token,
        id_token: None,
        client_info: None,
    }
}

/// A user's sign-in through an app: what the password and authorization
/// code grants answer with.
pub struct UserSignIn<'a> {
    pub user: &'a User,
    pub api: &'a Api,
    pub scp: String,
    pub oidc_scope: &'a str,
    /// The refresh-token family this sign-in starts.
    pub family: Uuid,
    /// The authorization request's `nonce`, for the ID token.
    pub nonce: Option<&'a str>,
    /// How the user signed in (`pwd`, `pwd mfa`): the `amr` of the access
    /// token and of the ID token.
    pub auth_methods: &'a str,
    /// The origin of the single-page application the code was issued to:
    /// its family lives `spa_refresh_lifetime`, not a day more.
    pub spa_origin: Option<&'a str>,
}

impl UserSignIn<'_> {
    /// The access token and, when the app may refresh, the family's first
    /// refresh token (stored before it is handed out).
    /// Signs the tokens and stores the refresh token.
    pub async fn tokens(
        self,
        state: &AppState,
        caller: &Caller<'_>,
        now: OffsetDateTime,
    ) -> Result<TokenResponseV1, ProtocolError> {
        let (response, refresh) = self.prepare(state, caller, now)?;
        if let Some(record) = &refresh {
            telemetry::store(
                "insert_refresh_token",
                state.store.insert_refresh_token(record),
            )
            .await?;
        }
        Ok(response)
    }

    /// Signs the tokens; the refresh token's record is the caller's to store.
    pub fn prepare(
        self,
        state: &AppState,
        caller: &Caller<'_>,
        now: OffsetDateTime,
    ) -> Result<(TokenResponseV1, Option<RefreshTokenRecord>), ProtocolError> {
        let subject = Subject::User {
            user: self.user,
            scp: self.scp.clone(),
            auth_methods: self.auth_methods,
        };
        let issued = access_token(state, caller, self.api, &subject, now)?;
        let (refresh_token, record) = if caller.app.allows(GrantType::RefreshToken) {
            let lifetime = match self.spa_origin {
                Some(_) => state
                    .config
                    .spa_refresh_lifetime
                    .min(state.config.refresh_family_lifetime),
                None => state.config.refresh_family_lifetime,
            };
            let grant = FamilyGrant {
                family: self.family,
                resource: &self.api.app_id_uri,
                granted_scope: &self.scp,
                oidc_scope: self.oidc_scope,
                expires_at: now.unix_timestamp() + lifetime.as_secs() as i64,
                spa_origin: self.spa_origin,
                auth_methods: self.auth_methods,
            };
            let (token, record) = new_refresh_token(state, caller, self.user, &grant, now)?;
            (Some(token), Some(record))
        } else {
            (None, None)
        };
        let mut response = v1_response(self.api, issued, now, Some(self.scp), refresh_token);
        response.client_info = Some(client_info(self.user));
        // OpenID Connect: `openid` in the scope adds an ID token (ADAL reads
        // the user from it).
        if has_openid(self.oidc_scope) {
            let occasion = IdTokenFor::SignIn {
                nonce: self.nonce,
                auth_methods: self.auth_methods,
            };
            response.id_token = Some(id_token(state, caller, self.user, occasion, now)?);
        }
        Ok((response, record))
    }
}

/// Whether OpenID Connect scopes include `openid` (an ID token is due).
pub fn has_openid(oidc_scope: &str) -> bool {
    oidc_scope.split_whitespace().any(|s| s == "openid")
}

/// What a refresh-token family was granted at sign-in: every token of the
/// family carries it unchanged (RFC 6749 §6), whatever a refresh narrowed.
pub struct FamilyGrant<'a> {
    pub family: Uuid,
    /// The resource of the sign-in; the default of a refresh without `resource`.
    pub resource: &'a str,
    /// The API scopes granted on `resource`, space-separated.
    pub granted_scope: &'a str,
    /// The OpenID Connect scopes of the sign-in.
    pub oidc_scope: &'a str,
    /// The family's absolute end (Unix seconds).
    pub expires_at: i64,
    /// The single-page application's origin, for an SPA's family.
    pub spa_origin: Option<&'a str>,
    /// How the sign-in went (`pwd`, `pwd mfa`).
    pub auth_methods: &'a str,
}

/// A new refresh token for `user` in the family of `grant`, living the
/// sliding lifetime but never past the family's end. Returns the token and
/// the record to store.
pub fn new_refresh_token(
    state: &AppState,
    caller: &Caller<'_>,
    user: &User,
    grant: &FamilyGrant<'_>,
    now: OffsetDateTime,
) -> Result<(String, RefreshTokenRecord), ProtocolError> {
    let token = random_token(32)?;
    let issued_at = now.unix_timestamp();
    let sliding_end = issued_at + state.config.refresh_token_lifetime.as_secs() as i64;
    let record = RefreshTokenRecord {
        digest: Digest::of(&token),
        family_id: grant.family,
        tenant_id: caller.tenant.id,
        client_id: caller.app.client_id,
        user_oid: user.object_id,
        resource: grant.resource.to_owned(),
        scope: grant.oidc_scope.to_owned(),
        granted_scope: grant.granted_scope.to_owned(),
        issued_at,
        expires_at: sliding_end.min(grant.expires_at),
        family_expires_at: grant.expires_at,
        used_at: None,
        revoked_at: None,
        spa_origin: grant.spa_origin.map(str::to_owned),
        auth_methods: grant.auth_methods.to_owned(),
    };
    Ok((token, record))
}
