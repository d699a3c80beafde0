//! Access-token validation (RFC 7519, RFC 8725): RS256 or ES256 only, with
//! the alg matching the type of the key its `kid` names, signature first,
//! then `exp` (required), `nbf`, `iss` and `aud`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderValue;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_protocol::{BearerError, same_resource};
use serde_json::{Map, Value};

use crate::cache::TokenCache;
use crate::claims::UniqueObject;
use crate::config::{InitError, ResourceConfig};
use crate::keys::{FetchError, KeyCache};
use crate::tenants::Tenants;
use crate::{Rejection, TokenClaims};

/// Validates tokens for one API. Cheap to share: wrap it in an `Arc`.
pub struct Validator {
    config: ResourceConfig,
    keys: KeyCache,
    cache: TokenCache,
    /// Rendered challenges, by refusal, with the authorize endpoint they name.
    challenges: RwLock<RenderedChallenges>,
    /// `{authority}/oauth2/authorize`, until discovery names the endpoint.
    fallback_authorization_uri: Arc<str>,
    tenants: Tenants,
    pub(crate) scenarios: crate::scenario::Scenarios,
}

/// Rendered `WWW-Authenticate` values, by (refusal, bare), with the
/// authorize endpoint each names.
type RenderedChallenges = HashMap<(BearerError, bool), (Arc<str>, HeaderValue)>;

/// Different challenges a validator renders at most (the routes' scopes
/// bound them; this bounds them even if a caller makes scopes up).
const MAX_RENDERED_CHALLENGES: usize = 256;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn decode_part(part: &str) -> Result<Vec<u8>, BearerError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| BearerError::MalformedToken)
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, BearerError> {
    serde_json::from_slice::<UniqueObject>(bytes)
        .map(|o| o.0)
        .map_err(|_| BearerError::MalformedToken)
}

impl Validator {
    pub fn new(config: ResourceConfig) -> Result<Validator, InitError> {
        if !(config.authority.starts_with("http://") || config.authority.starts_with("https://")) {
            return Err(InitError::Authority(config.authority.clone()));
        }
        if config.resource_id.trim().is_empty() {
            return Err(InitError::ResourceId);
        }
        // Never follow redirects: keys come from where discovery says.
        let mut http = reqwest::Client::builder()
            .timeout(config.fetch_timeout)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &config.extra_roots_pem {
            for root in
                reqwest::Certificate::from_pem_bundle(pem).map_err(InitError::Certificates)?
            {
                http = http.add_root_certificate(root);
            }
        }
        let http = http.build()?;
        let tenants = Tenants::new(&config.authority, &config.tenants)?;
        Ok(Validator {
            tenants,
            keys: KeyCache::new(config.authority.clone(), http, config.min_refetch_interval),
            cache: TokenCache::new(config.cache_capacity),
            challenges: RwLock::new(HashMap::new()),
            fallback_authorization_uri: Arc::from(format!("{}/oauth2/authorize", config.authority)),
            scenarios: Default::default(),
            config,
        })
    }

    /// Refuses requests on demand (see [`ResourceScenario`](crate::ResourceScenario)).
    pub fn inject(&self, scenario: crate::ResourceScenario) {
        self.scenarios.add(scenario);
    }

    pub fn config(&self) -> &ResourceConfig {
        &self.config
    }

    /// The authorize endpoint clients are sent to: from discovery, or
    /// derived from the authority until discovery has answered.
    pub fn authorization_uri(&self) -> Arc<str> {
        self.keys
            .authorization_endpoint()
            .unwrap_or_else(|| self.fallback_authorization_uri.clone())
    }

    pub(crate) fn rendered_challenges(&self) -> std::sync::RwLockReadGuard<'_, RenderedChallenges> {
        match self.challenges.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(crate) fn remember_challenge(
        &self,
        key: (BearerError, bool),
        uri: Arc<str>,
        value: HeaderValue,
    ) {
        let mut map = match self.challenges.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() >= MAX_RENDERED_CHALLENGES {
            map.clear();
        }
        map.insert(key, (uri, value));
    }

    /// Fetches discovery and keys now. Call at start so the first
    /// challenges already name the authority's own authorize endpoint;
    /// without it, keys are fetched on the first token.
    pub async fn refresh_now(&self) -> Result<(), FetchError> {
        self.keys.refresh().await
    }

    /// Keeps keys fresh: refetches every `refresh_interval` until the
    /// validator is dropped. Call once, inside a Tokio runtime.
    pub fn spawn_refresh(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let interval = self.config.refresh_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(validator) = weak.upgrade() else {
                    return;
                };
                if let Err(err) = validator.keys.refresh().await {
                    tracing::error!(error = %err, "refreshing the signing keys failed");
                }
            }
        });
    }

    /// Validates a compact JWS access token.
    pub async fn validate(&self, token: &str) -> Result<Arc<TokenClaims>, Rejection> {
        if token.len() > self.config.max_token_bytes {
            return Err(BearerError::TokenTooLarge.into());
        }
        let now = unix_now();
        let mut digest = [0u8; 32];
        digest.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        if let Some(claims) = self.cache.get(&digest, now) {
            return Ok(claims);
        }
        let (claims, expires) = self.validate_uncached(token, now).await?;
        let claims = Arc::new(claims);
        self.cache.insert(digest, expires, claims.clone(), now);
        Ok(claims)
    }

    async fn validate_uncached(
        &self,
        token: &str,
        now: i64,
    ) -> Result<(TokenClaims, i64), Rejection> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BearerError::MalformedToken.into());
        };
        let header = object(&decode_part(header)?)?;
        // Never `none`, never an HMAC: only the public-key algorithms
        // the authority signs with.
        let alg = match header.get("alg").and_then(Value::as_str) {
            Some(alg @ ("RS256" | "ES256")) => alg,
            _ => return Err(BearerError::AlgorithmNotAllowed.into()),
        };
        if header.contains_key("crit") {
            return Err(BearerError::CriticalHeader.into());
        }
        let kid = header
            .get("kid")
            .or_else(|| header.get("x5t"))
            .and_then(Value::as_str)
            .ok_or(BearerError::UnknownKey)?;
        if signature.is_empty() {
            return Err(BearerError::BadSignature.into());
        }
        let signature = decode_part(signature)?;
        let payload_bytes = decode_part(payload)?;
        let key = self.keys.key_or_refetch(kid).await.map_err(|err| {
            if self.keys.has_keys() {
                // A failed refetch with keys cached: the kid is just unknown.
                tracing::warn!(error = %err, "refetching keys for an unknown kid failed");
                Rejection::Bearer(BearerError::UnknownKey)
            } else {
                Rejection::Internal(err.to_string())
            }
        })?;
        let key = key.ok_or(BearerError::UnknownKey)?;
        let signed = &token[..header_and_payload_len(token)];
        // An alg that does not fit the key's type (RS256 with an EC key,
        // ES256 with an RSA key) is a bad signature, like a wrong one.
        if !key.verifies(alg, signed.as_bytes(), &signature) {
            return Err(BearerError::BadSignature.into());
        }

        let claims = object(&payload_bytes)?;
        let leeway = self.config.leeway.as_secs() as i64;
        let exp = match claims.get("exp") {
            None => return Err(BearerError::NoExpiry.into()),
            Some(value) => value.as_i64().ok_or(BearerError::MalformedToken)?,
        };
        if now > exp + leeway {
            return Err(BearerError::Expired.into());
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_i64().ok_or(BearerError::MalformedToken)?;
            if now + leeway < nbf {
                return Err(BearerError::NotYetValid.into());
            }
        }
        self.check_issuer(&claims)?;
        self.check_audience(&claims)?;
        Ok((TokenClaims::new(claims), exp + leeway))
    }

    /// The issuer and its tenant: one of the authority's issuers (a
    /// `common` template filled with the token's `tid`), of a tenant this
    /// API accepts. The audience is checked after it, so an App ID URI
    /// counts only within an accepted tenant.
    fn check_issuer(&self, claims: &Map<String, Value>) -> Result<(), Rejection> {
        let expected = self.keys.issuer().ok_or_else(|| {
            Rejection::Internal("no issuer known: discovery has not answered".into())
        })?;
        let v2 = self.keys.issuer_v2();
        let mut issuers = vec![expected.as_str()];
        issuers.extend(v2.as_deref());
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let tid = claims.get("tid").and_then(Value::as_str);
        Ok(self.tenants.check(&issuers, iss, tid)?)
    }

    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), Rejection> {
        let accepted: Vec<&str> = if self.config.audiences.is_empty() {
            vec![self.config.resource_id.as_str()]
        } else {
            self.config.audiences.iter().map(String::as_str).collect()
        };
        let matches = |aud: &str| accepted.iter().any(|a| same_resource(a, aud));
        let ok = match claims.get("aud") {
            Some(Value::String(aud)) => matches(aud),
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(matches),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(BearerError::WrongAudience.into())
        }
    }
}

/// The length of `header.payload`, the signing input.
fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}
