//! The authority's signing keys: found through discovery, cached, refreshed
//! in the background, and refetched on an unknown `kid` at most once per
//! interval. Only the authority's own discovery document names where keys
//! come from; a token's `jku`, `x5u` or `jwk` is never followed.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use latchkey_protocol::PublicJwk;
use serde::Deserialize;
use serde_json::Value;

/// A public key from the JWKS (RSA or EC P-256), which verifies only the
/// algorithm of its own type.
#[derive(Debug, Clone)]
pub struct PublicKey(PublicJwk);

impl PublicKey {
    /// Whether `signature` is this key's signature of `signed` under `alg`:
    /// RS256 with an RSA key, ES256 with a P-256 key; anything else (an
    /// alg that does not fit the key's type, `none`, an HMAC) never is.
    pub fn verifies(&self, alg: &str, signed: &[u8], signature: &[u8]) -> bool {
        match (&self.0, alg) {
            (PublicJwk::Rsa { n, e }, "RS256") => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, signed, signature)
                .is_ok(),
            (PublicJwk::P256 { point }, "ES256") => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(signed, signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// What discovery and the JWKS told us.
#[derive(Debug, Default)]
struct Snapshot {
    issuer: Option<String>,
    /// The v2.0 endpoints' issuer, when the authority has them: an API
    /// accepts the tokens of both, as an Azure AD API does.
    issuer_v2: Option<String>,
    authorization_endpoint: Option<Arc<str>>,
    keys: HashMap<String, Arc<PublicKey>>,
    fetched_at: Option<Instant>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request to {url} failed: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url} sent a document that cannot be read: {problem}")]
    Document { url: String, problem: String },
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    authorization_endpoint: Option<String>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Value>,
}

/// The largest discovery or JWKS document read.
const MAX_DOCUMENT: usize = 1024 * 1024;

pub struct KeyCache {
    authority: String,
    http: reqwest::Client,
    snapshot: RwLock<Arc<Snapshot>>,
    /// One fetch at a time; others wait for it and use its result.
    fetching: tokio::sync::Mutex<()>,
    min_refetch_interval: Duration,
}

impl KeyCache {
    pub fn new(
        authority: String,
        http: reqwest::Client,
        min_refetch_interval: Duration,
    ) -> KeyCache {
        KeyCache {
            authority,
            http,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            fetching: tokio::sync::Mutex::new(()),
            min_refetch_interval,
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn issuer(&self) -> Option<String> {
        self.current().issuer.clone()
    }

    pub fn issuer_v2(&self) -> Option<String> {
        self.current().issuer_v2.clone()
    }

    pub fn authorization_endpoint(&self) -> Option<Arc<str>> {
        self.current().authorization_endpoint.clone()
    }

    pub fn has_keys(&self) -> bool {
        !self.current().keys.is_empty()
    }

    pub fn key(&self, kid: &str) -> Option<Arc<PublicKey>> {
        self.current().keys.get(kid).cloned()
    }

    /// The key for `kid`, refetching once if it is unknown and the last
    /// fetch is older than the refetch interval.
    pub async fn key_or_refetch(&self, kid: &str) -> Result<Option<Arc<PublicKey>>, FetchError> {
        if let Some(key) = self.key(kid) {
            return Ok(Some(key));
        }
        let _guard = self.fetching.lock().await;
        // Someone may have fetched while we waited.
        if let Some(key) = self.key(kid) {
            return Ok(Some(key));
        }
        // With no key at all (the authority was down when we last asked), ask
        // again sooner: every request would fail until we do.
        let snapshot = self.current();
        let interval = if snapshot.keys.is_empty() {
            self.min_refetch_interval.min(Duration::from_secs(1))
        } else {
            self.min_refetch_interval
        };
        let recent = snapshot
            .fetched_at
            .is_some_and(|at| at.elapsed() < interval);
        if recent {
            return Ok(None);
        }
        self.fetch_locked().await?;
        Ok(self.key(kid))
    }

    /// Fetches discovery and keys now (the background refresh).
    pub async fn refresh(&self) -> Result<(), FetchError> {
        let _guard = self.fetching.lock().await;
        self.fetch_locked().await
    }

    async fn fetch_locked(&self) -> Result<(), FetchError> {
        let result = self.fetch().await;
        let mut next = Snapshot::default();
        match &result {
            Ok((discovery, issuer_v2, keys)) => {
                next.issuer = Some(discovery.issuer.clone());
                next.issuer_v2 = issuer_v2.clone();
                next.authorization_endpoint =
                    discovery.authorization_endpoint.as_deref().map(Arc::from);
                next.keys = keys.clone();
            }
            Err(_) => {
                // Keep what we had; only the time moves, so a dead
                // authority is not hammered.
                let old = self.current();
                next.issuer = old.issuer.clone();
                next.issuer_v2 = old.issuer_v2.clone();
                next.authorization_endpoint = old.authorization_endpoint.clone();
                next.keys = old.keys.clone();
            }
        }
        next.fetched_at = Some(Instant::now());
        let next = Arc::new(next);
        match self.snapshot.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        result.map(|_| ())
    }

    async fn fetch(
        &self,
    ) -> Result<(Discovery, Option<String>, HashMap<String, Arc<PublicKey>>), FetchError> {
        let discovery_url = format!("{}/.well-known/openid-configuration", self.authority);
        let discovery: Discovery = self.get_json(&discovery_url).await?;
        // Optional: an authority without v2.0 endpoints issues v1 tokens only.
        let v2_url = format!("{}/v2.0/.well-known/openid-configuration", self.authority);
        let issuer_v2 = match self.get_json::<Discovery>(&v2_url).await {
            Ok(v2) => Some(v2.issuer),
            Err(err) => {
                tracing::debug!(authority = %self.authority, error = %err, "no v2.0 discovery");
                None
            }
        };
        let jwks: Jwks = self.get_json(&discovery.jwks_uri).await?;
        let mut keys = HashMap::new();
        for jwk in jwks.keys {
            // RS256 and ES256 keys only (a PS256-only RSA key is of no use).
            let kid = jwk.get("kid").and_then(Value::as_str);
            let alg = jwk.get("alg").and_then(Value::as_str);
            let (Some(kid), Some(key)) = (kid, PublicJwk::from_value(&jwk)) else {
                continue;
            };
            if alg.is_none_or(|a| a == "RS256" || a == "ES256") {
                keys.insert(kid.to_owned(), Arc::new(PublicKey(key)));
            }
        }
        tracing::debug!(authority = %self.authority, keys = keys.len(), "signing keys fetched");
        Ok((discovery, issuer_v2, keys))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, FetchError> {
        let http = |source| FetchError::Http {
            url: url.to_owned(),
            source,
        };
        let mut response = self.http.get(url).send().await.map_err(http)?;
        if !response.status().is_success() {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status: response.status().as_u16(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(FetchError::Document {
                    url: url.to_owned(),
                    problem: "larger than 1 MiB".into(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| FetchError::Document {
            url: url.to_owned(),
            problem: e.to_string(),
        })
    }
}
