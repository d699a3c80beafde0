//! The signing keys of the external issuers apps trust (workload identity
//! federation) that publish them at their OpenID configuration's `jwks_uri`
//! (a federated credential without `jwks_path`). Fetched on first use,
//! kept an hour, fetched again early for an unknown `kid` (a rotation) but
//! at most once a minute per issuer, so forged `kid`s cannot make the
//! server hammer an issuer; requests that miss together share one fetch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::directory::credentials::{PublicKey, jwks_keys};

/// An issuer's keys, each with its `kid` when it has one.
pub type Keys = Arc<Vec<(Option<String>, PublicKey)>>;

/// How long fetched keys are used before they are fetched again.
const KEEP: Duration = Duration::from_secs(3_600);
/// The least time between two fetches for one issuer.
const MIN_REFETCH: Duration = Duration::from_secs(60);
/// The most a discovery document or a JWKS may weigh.
const MAX_DOCUMENT: usize = 512 * 1024;

#[derive(Debug)]
pub struct IssuerKeys {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (Keys, Instant)>>,
    /// One fetch at a time: requests that find the keys missing together
    /// wait for the first one's fetch and use what it got.
    fetching: tokio::sync::Mutex<()>,
}

/// Why an issuer's keys could not be had (logged; the client is told
/// AADSTS50166).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {problem}")]
    Failed { url: String, problem: String },
}

impl Default for IssuerKeys {
    fn default() -> Self {
        IssuerKeys::new()
    }
}

impl IssuerKeys {
    pub fn new() -> IssuerKeys {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap_or_default();
        IssuerKeys {
            http,
            cache: Mutex::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The issuer's keys: cached, or fetched when none are, they are older
    /// than an hour, or `stale` says the cached ones lack a key (and the
    /// last fetch is a minute old).
    pub async fn keys(&self, issuer: &str, stale: bool) -> Result<Keys, FetchError> {
        if let Some(keys) = self.fresh(issuer, stale) {
            return Ok(keys);
        }
        let _fetching = self.fetching.lock().await;
        // Another request may have fetched them while this one waited.
        if let Some(keys) = self.fresh(issuer, stale) {
            return Ok(keys);
        }
        let keys: Keys = Arc::new(self.fetch(issuer).await?);
        let mut cache = match self.cache.lock() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        };
        cache.insert(issuer.to_owned(), (keys.clone(), Instant::now()));
        Ok(keys)
    }

    /// The cached keys, unless they are over an hour old, or `stale` (a
    /// `kid` not among them) and fetched over a minute ago.
    fn fresh(&self, issuer: &str, stale: bool) -> Option<Keys> {
        let cache = match self.cache.lock() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (keys, fetched) = cache.get(issuer)?;
        let age = fetched.elapsed();
        (age < KEEP && (!stale || age < MIN_REFETCH)).then(|| keys.clone())
    }

    async fn fetch(&self, issuer: &str) -> Result<Vec<(Option<String>, PublicKey)>, FetchError> {
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let configuration: serde_json::Value =
            serde_json::from_str(&self.get(&discovery).await?)
                .map_err(|e| failed(&discovery, format!("not JSON: {e}")))?;
        let jwks_uri = configuration
            .get("jwks_uri")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| failed(&discovery, "no jwks_uri".into()))?
            .to_owned();
        let text = self.get(&jwks_uri).await?;
        jwks_keys(&text).ok_or_else(|| failed(&jwks_uri, "not a JWKS".into()))
    }

    async fn get(&self, url: &str) -> Result<String, FetchError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| failed(url, e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(url, format!("status {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT as u64)
        {
            return Err(failed(url, "too large".into()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| failed(url, e.to_string()))?;
        if bytes.len() > MAX_DOCUMENT {
            return Err(failed(url, "too large".into()));
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| failed(url, "not UTF-8".into()))
    }
}

fn failed(url: &str, problem: String) -> FetchError {
    FetchError::Failed {
        url: url.to_owned(),
        problem,
    }
}
