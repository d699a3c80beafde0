//! A test authority and a protected API.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_protocol::BearerChallenge;
use latchkey_resource::{Requirement, ResourceConfig, TokenClaims, Validator};
use serde_json::{Value, json};

pub const TID: &str = "7fe81447-da57-4385-becb-6de57f21477e";
pub const RESOURCE: &str = "https://files.contoso.example/";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA signing key with its `kid`.
pub struct TestKey {
    pub kid: String,
    pair: KeyPair,
}

impl TestKey {
    pub fn new(kid: &str) -> TestKey {
        TestKey {
            kid: kid.to_owned(),
            pair: KeyPair::generate(KeySize::Rsa2048).unwrap(),
        }
    }

    pub fn jwk(&self) -> Value {
        let c = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        json!({"kty": "RSA", "use": "sig", "kid": self.kid, "n": b64(&c.n), "e": b64(&c.e)})
    }

    /// The public key's DER, as an attacker who HMACs with it would use it.
    pub fn public_der(&self) -> Vec<u8> {
        self.pair.public_key().as_der().unwrap().as_ref().to_vec()
    }

    /// Signs `header.claims` with RS256 whatever the header says.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        self.sign_input(&input)
    }

    pub fn sign_input(&self, input: &str) -> String {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", b64(signature))
    }

    pub fn header(&self) -> Value {
        json!({"typ": "JWT", "alg": "RS256", "kid": self.kid})
    }

    /// A valid token with these claims over the defaults.
    pub fn token(&self, authority: &Authority, overrides: Value) -> String {
        let mut claims = authority.claims();
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        self.sign(&self.header(), &claims)
    }
}

/// Discovery and JWKS on a loopback port; counts every request it gets.
pub struct Authority {
    pub base: String,
    pub keys: Arc<Mutex<Vec<Value>>>,
    pub jwks_hits: Arc<AtomicUsize>,
    pub evil_hits: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Authority {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Authority {
    pub async fn start(keys: &[&TestKey]) -> Authority {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let published = Arc::new(Mutex::new(keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()));
        let jwks_hits = Arc::new(AtomicUsize::new(0));
        let evil_hits = Arc::new(AtomicUsize::new(0));
        // A tenant's discovery names its issuer; `common` and
        // `organizations` name Azure AD's template, filled from `tid`.
        let base_url = base.clone();
        let discovery = move |tenant: String, suffix: &str| {
            let base = &base_url;
            let issuer_tenant = match tenant.as_str() {
                "common" | "organizations" => "{tenantid}",
                _ => TID,
            };
            let endpoint_tenant = match tenant.as_str() {
                "common" | "organizations" => tenant.as_str(),
                _ => TID,
            };
            let (issuer, authorize) = match suffix {
                "v2.0" => (
                    format!("{base}/{issuer_tenant}/v2.0"),
                    format!("{base}/{endpoint_tenant}/oauth2/v2.0/authorize"),
                ),
                _ => (
                    format!("{base}/{issuer_tenant}/"),
                    format!("{base}/{endpoint_tenant}/oauth2/authorize"),
                ),
            };
            axum::Json(json!({
                "issuer": issuer,
                "jwks_uri": format!("{base}/common/discovery/keys"),
                "authorization_endpoint": authorize,
            }))
        };
        let discovery_v2 = discovery.clone();
        let (k, h, e) = (published.clone(), jwks_hits.clone(), evil_hits.clone());
        let app = Router::new()
            .route(
                "/{tenant}/.well-known/openid-configuration",
                get(move |Path(tenant): Path<String>| async move { discovery(tenant, "v1") }),
            )
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(move |Path(tenant): Path<String>| async move { discovery_v2(tenant, "v2.0") }),
            )
            .route(
                "/common/discovery/keys",
                get(move || {
                    h.fetch_add(1, Ordering::SeqCst);
                    let keys = k.lock().unwrap().clone();
                    async move { axum::Json(json!({ "keys": keys })) }
                }),
            )
            .fallback(move || {
                e.fetch_add(1, Ordering::SeqCst);
                async { axum::http::StatusCode::NOT_FOUND }
            });
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Authority {
            base,
            keys: published,
            jwks_hits,
            evil_hits,
            server,
        }
    }

    pub fn authority_url(&self) -> String {
        format!("{}/{TID}", self.base)
    }

    pub fn authorization_uri(&self) -> String {
        format!("{}/{TID}/oauth2/authorize", self.base)
    }

    pub fn claims(&self) -> Value {
        let now = now();
        json!({
            "aud": RESOURCE, "iss": format!("{}/{TID}/", self.base), "iat": now, "nbf": now, "exp": now + 3600,
            "appid": "2d4d11a2-f814-46a7-890a-274a72a7309e", "appidacr": "1", "oid": "68389ae2-62fa-4b18-91fe-53dd109d74f5",
            "sub": "deNqIj9IOE9PWJWbHsftXt2EabPVl0Cj8QAmefRLV98", "tid": TID, "scp": "Files.Read",
            "upn": "frankm@contoso.com", "ver": "1.0",
        })
    }

    pub fn publish(&self, keys: &[&TestKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk()).collect();
    }

    pub fn jwks_fetches(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }
}

/// The demo API's routes behind the middleware.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Api {
    pub async fn start(authority: &str) -> Api {
        Api::start_with(ResourceConfig::new(authority, RESOURCE)).await
    }

    pub async fn start_with(config: ResourceConfig) -> Api {
        let validator = Arc::new(Validator::new(config).unwrap());
        let read = Requirement::AnyOf(vec![
            Requirement::scope("Files.Read"),
            Requirement::role("Files.ReadAll"),
        ]);
        let admin = Requirement::AllOf(vec![read.clone(), Requirement::role("Files.Admin")]);
        let mfa = Requirement::AllOf(vec![read.clone(), Requirement::mfa()]);
        let app = Router::new()
            .route(
                "/api/read",
                get(|claims: TokenClaims| async move {
                    claims.subject().unwrap_or_default().to_owned()
                })
                .layer(validator.require(read)),
            )
            .route(
                "/api/admin",
                get(|| async { "admin" }).layer(validator.require(admin)),
            )
            .route(
                "/api/mfa",
                get(|| async { "mfa" }).layer(validator.require(mfa)),
            )
            .route("/health", get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Api { base, http, server }
    }

    pub async fn get(&self, path: &str, authorization: Option<&str>) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        Answer::read(request.send().await.unwrap()).await
    }

    pub async fn bearer(&self, path: &str, token: &str) -> Answer {
        self.get(path, Some(&format!("Bearer {token}"))).await
    }
}

/// A response, with its challenge parsed.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub challenge: Option<BearerChallenge>,
    pub body: String,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let www_authenticate = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let challenge = www_authenticate.as_deref().map(|v| v.parse().unwrap());
        let body = response.text().await.unwrap();
        Answer {
            status,
            www_authenticate,
            challenge,
            body,
        }
    }

    /// Asserts a refusal: status, and every parameter of the challenge.
    pub fn assert_refused(
        &self,
        authority: &Authority,
        status: u16,
        error: &str,
        description: &str,
    ) {
        assert_eq!(self.status, status, "{self:?}");
        let challenge = self
            .challenge
            .as_ref()
            .expect("a WWW-Authenticate challenge");
        assert_eq!(
            challenge.authorization_uri.as_deref(),
            Some(authority.authorization_uri().as_str())
        );
        assert_eq!(challenge.error.as_ref().map(|e| e.as_str()), Some(error));
        assert_eq!(
            challenge.error_description.as_deref(),
            Some(description),
            "{self:?}"
        );
        assert_eq!(challenge.resource_id.as_deref(), Some(RESOURCE));
        assert_eq!(challenge.realm, None);
        if error != "insufficient_scope" {
            assert_eq!(challenge.scope, None);
        }
        if error != "insufficient_claims" {
            assert_eq!(challenge.claims, None);
        }
    }
}
