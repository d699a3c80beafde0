//! Acquiring tokens and calling secured APIs, carrying out each error's
//! client action: retry temporary failures, get a new token once on
//! `invalid_token`, and stop with a typed error for everything a person
//! must act on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use latchkey_protocol::{ErrorCode, TokenResponseV1};
use reqwest::header::HeaderMap;
use url::Url;
use uuid::Uuid;

use crate::Error;
use crate::certificate::{ClientCertificate, JWT_BEARER_ASSERTION};
use crate::error::ResourceError;
use crate::parse::{bearer_challenge, retry_after, token_error, unexpected};
use crate::retry::RetryPolicy;
use crate::trust::{TrustedHost, check_authorization_uri, check_resource_id};

/// How the client proves who it is, and for whom.
#[derive(Clone, Default)]
pub struct Credentials {
    pub client_secret: Option<String>,
    /// A certificate and its key: each token request carries a fresh
    /// client assertion signed with it, instead of a secret.
    pub client_certificate: Option<Arc<ClientCertificate>>,
    /// Username and password: the password grant, for a user.
    pub user: Option<(String, String)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "redacted"),
            )
            .field("client_certificate", &self.client_certificate.is_some())
            .field("user", &self.user.as_ref().map(|(u, _)| u))
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `{url}/{tenant}`; found from the API's challenge when absent.
    pub authority: Option<String>,
    pub client_id: String,
    pub credentials: Credentials,
    /// Hosts trusted as authorization servers besides the authority's own.
    pub trusted_hosts: Vec<TrustedHost>,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    /// A cached token this close to expiry is replaced first.
    pub refresh_before_expiry: Duration,
    /// CA certificates (PEM) trusted besides the built-in roots, e.g. the
    /// local CA of `latchkey serve --tls-self-signed`.
    pub extra_roots_pem: Option<Vec<u8>>,
}

impl ClientConfig {
    pub fn new(client_id: impl Into<String>) -> ClientConfig {
        ClientConfig {
            authority: None,
            client_id: client_id.into(),
            credentials: Credentials::default(),
            trusted_hosts: Vec::new(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            refresh_before_expiry: Duration::from_secs(300),
            extra_roots_pem: None,
        }
    }
}

/// What the API answered, when it let the request in.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Debug, Clone)]
struct CachedToken {
    access_token: String,
    expires_on: i64,
    refresh_token: Option<String>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn transport(url: &str, err: reqwest::Error) -> Error {
    // The error text can embed the URL; it never embeds a body or a secret.
    // reqwest's own text is only "error sending request": the causes
    // (refused, TLS certificate, timeout) are what a user can act on.
    let err = err.without_url();
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Transport {
        url: url.to_owned(),
        detail,
    }
}

pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    cache: Mutex<HashMap<(String, String, String), CachedToken>>,
    /// Token requests sent, for observability and tests.
    token_requests: std::sync::atomic::AtomicU32,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        let mut http = reqwest::Client::builder()
            .timeout(config.timeout)
            // A redirect from a token endpoint or an API is never followed:
            // it could carry a token elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &config.extra_roots_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Usage(format!("the CA file cannot be read: {e}")))?;
            for root in roots {
                http = http.add_root_certificate(root);
            }
        }
        let http = http
            .build()
            .map_err(|e| Error::Usage(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            config,
            cache: Mutex::new(HashMap::new()),
            token_requests: Default::default(),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// How many token requests this client has sent.
    pub fn token_requests(&self) -> u32 {
        self.token_requests
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// One POST to the token endpoint, retried by the policy.
    pub async fn request_token(
        &self,
        authority: &str,
        params: &[(&str, &str)],
    ) -> Result<TokenResponseV1, Error> {
        let url = format!("{}/oauth2/token", authority.trim_end_matches('/'));
        self.post_form(&url, params).await
    }

    /// One POST of the client's form (its id, its secret if it has one,
    /// and `params`) to an endpoint of the authority that answers JSON or
    /// the seed's error document; retried by the policy.
    pub(crate) async fn post_form<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        params: &[(&str, &str)],
    ) -> Result<T, Error> {
        let url = url.to_owned();
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("client_id", &self.config.client_id);
        if let Some(secret) = &self.config.credentials.client_secret {
            form.append_pair("client_secret", secret);
        }
        // An assertion names the token endpoint it is for; the device
        // authorization endpoint takes none.
        let token_endpoint = url.ends_with("/oauth2/token") || url.ends_with("/oauth2/v2.0/token");
        if let (Some(certificate), true) =
            (&self.config.credentials.client_certificate, token_endpoint)
        {
            let assertion = certificate
                .assertion(&self.config.client_id, &url, unix_now())
                .map_err(Error::Usage)?;
            form.append_pair("client_assertion_type", JWT_BEARER_ASSERTION);
            form.append_pair("client_assertion", &assertion);
        }
        for (name, value) in params {
            form.append_pair(name, value);
        }
        let body = form.finish();
        self.config
            .retry
            .run(|| async {
                self.token_requests
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let correlation = Uuid::new_v4().to_string();
                let response = self
                    .http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("client-request-id", &correlation)
                    .header("return-client-request-id", "true")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| transport(&url, e))?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let bytes = response.bytes().await.map_err(|e| transport(&url, e))?;
                if status == 200 {
                    return serde_json::from_slice(&bytes)
                        .map_err(|_| unexpected(&url, status, &headers, &bytes));
                }
                Err(token_error(&url, status, &headers, &bytes))
            })
            .await
    }

    pub async fn client_credentials(
        &self,
        authority: &str,
        resource: &str,
    ) -> Result<TokenResponseV1, Error> {
        self.request_token(
            authority,
            &[("grant_type", "client_credentials"), ("resource", resource)],
        )
        .await
    }

    pub async fn password(
        &self,
        authority: &str,
        resource: &str,
        username: &str,
        password: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponseV1, Error> {
        let mut params = vec![
            ("grant_type", "password"),
            ("resource", resource),
            ("username", username),
            ("password", password),
        ];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        self.request_token(authority, &params).await
    }

    pub async fn refresh(
        &self,
        authority: &str,
        resource: &str,
        refresh_token: &str,
    ) -> Result<TokenResponseV1, Error> {
        self.request_token(
            authority,
            &[
                ("grant_type", "refresh_token"),
                ("resource", resource),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// On-behalf-of (Azure AD's `jwt-bearer` grant with
    /// `requested_token_use=on_behalf_of`): a confidential client that is
    /// itself an API exchanges `assertion`, the access token a user's
    /// client sent it, for a token to `resource` that keeps the user.
    /// `scope` narrows the delegated scopes; without it the user's consent
    /// decides. Refusals are token errors like any other: an expired or
    /// foreign assertion is `invalid_grant` (the API's caller must get a
    /// new token), missing consent `invalid_grant` with `consent_required`.
    pub async fn on_behalf_of(
        &self,
        authority: &str,
        resource: &str,
        assertion: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponseV1, Error> {
        let mut params = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("requested_token_use", "on_behalf_of"),
            ("assertion", assertion),
            ("resource", resource),
        ];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        self.request_token(authority, &params).await
    }

    pub async fn redeem_code(
        &self,
        authority: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<TokenResponseV1, Error> {
        self.request_token(
            authority,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    fn cache_key(&self, authority: &str, resource: &str) -> (String, String, String) {
        (
            authority.trim_end_matches('/').to_owned(),
            self.config.client_id.clone(),
            resource.to_owned(),
        )
    }

    /// Remembers a token response for `resource`.
    pub fn remember(&self, authority: &str, resource: &str, response: &TokenResponseV1) {
        let expires_on = response.expires_on.parse().unwrap_or(0);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                self.cache_key(authority, resource),
                CachedToken {
                    access_token: response.access_token.clone(),
                    expires_on,
                    refresh_token: response.refresh_token.clone(),
                },
            );
        }
    }

    fn forget_access_token(&self, authority: &str, resource: &str) {
        if let Ok(mut cache) = self.cache.lock()
            && let Some(entry) = cache.get_mut(&self.cache_key(authority, resource))
        {
            entry.expires_on = 0;
        }
    }

    /// An access token for `resource`: from the cache while it has more
    /// than `refresh_before_expiry` left, else by refresh token, else anew
    /// with the configured credentials.
    pub async fn access_token(&self, authority: &str, resource: &str) -> Result<String, Error> {
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&self.cache_key(authority, resource)).cloned());
        let margin = self.config.refresh_before_expiry.as_secs() as i64;
        if let Some(entry) = &cached {
            if entry.expires_on - unix_now() > margin {
                return Ok(entry.access_token.clone());
            }
            if let Some(refresh_token) = &entry.refresh_token {
                match self.refresh(authority, resource, refresh_token).await {
                    Ok(response) => {
                        self.remember(authority, resource, &response);
                        return Ok(response.access_token);
                    }
                    // A dead refresh token: sign in again below.
                    Err(Error::Token(e)) if e.document.error == ErrorCode::InvalidGrant => {}
                    Err(other) => return Err(other),
                }
            }
        }
        let credentials = &self.config.credentials;
        let response = match &credentials.user {
            Some((username, password)) => self.password(authority, resource, username, password, None).await?,
            None if credentials.client_secret.is_some() || credentials.client_certificate.is_some() => {
                self.client_credentials(authority, resource).await?
            }
            None => return Err(Error::Usage("no credentials: give --client-secret or --client-certificate, or --username and --password, or use `latchkey login`".into())),
        };
        self.remember(authority, resource, &response);
        Ok(response.access_token)
    }

    /// Finds the authority and the resource of an API from its challenge to
    /// a request without a token, after both trust checks.
    pub async fn discover(&self, api: &Url) -> Result<(String, String), Error> {
        let url = api.as_str();
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| transport(url, e))?;
        let status = response.status().as_u16();
        let challenge = bearer_challenge(response.headers()).ok_or(Error::NoChallenge {
            url: url.to_owned(),
            status,
        })?;
        let authorization_uri = challenge.authorization_uri.ok_or(Error::NoChallenge {
            url: url.to_owned(),
            status,
        })?;
        let configured = self
            .config
            .authority
            .as_deref()
            .and_then(|a| Url::parse(a).ok());
        let authorize = check_authorization_uri(
            &authorization_uri,
            configured.as_ref(),
            &self.config.trusted_hosts,
        )?;
        let resource_id = challenge.resource_id.ok_or(Error::NoChallenge {
            url: url.to_owned(),
            status,
        })?;
        check_resource_id(&resource_id, api)?;
        let authority = authorize
            .as_str()
            .strip_suffix("/oauth2/authorize")
            .ok_or_else(|| Error::UntrustedAuthority {
                uri: authorization_uri.clone(),
                reason: "it is not an …/oauth2/authorize endpoint".into(),
            })?
            .to_owned();
        if let Some(configured) = &configured
            && configured.as_str().trim_end_matches('/') != authority
            && configured.origin() != authorize.origin()
        {
            return Err(Error::UntrustedAuthority {
                uri: authorization_uri,
                reason: "it is not the configured authority".into(),
            });
        }
        Ok((authority, resource_id))
    }

    /// Calls a secured API with a token, carrying out the challenge's client
    /// action. Without a configured authority or `resource`, both come from
    /// the API's own challenge (after the trust checks).
    pub async fn call(&self, url: &str, resource: Option<&str>) -> Result<ApiResponse, Error> {
        let api = Url::parse(url).map_err(|_| Error::Usage(format!("'{url}' is not a URL")))?;
        let (authority, resource) = match (&self.config.authority, resource) {
            (Some(authority), Some(resource)) => (
                authority.trim_end_matches('/').to_owned(),
                resource.to_owned(),
            ),
            _ => self.discover(&api).await?,
        };
        let token = self.access_token(&authority, &resource).await?;
        match self.send(url, &token).await {
            // RFC 6750 invalid_token: one new token, one retry, no loop.
            // Not for a claims challenge (also 401): a new token of the
            // same sign-in would lack the same claims.
            Err(Error::Resource(refused))
                if refused.status == 401
                    && refused.challenge.as_ref().and_then(|c| c.error.as_ref())
                        != Some(&ErrorCode::InsufficientClaims) =>
            {
                tracing::info!("the API refused the token: requesting a new one, once");
                self.forget_access_token(&authority, &resource);
                let token = self.access_token(&authority, &resource).await?;
                self.send(url, &token).await
            }
            other => other,
        }
    }

    /// Like [`Client::call`], for a person at a browser: on
    /// `insufficient_scope` it signs them in again for the challenge's
    /// scope (through `open`) and retries once; on a claims challenge
    /// (`insufficient_claims`, or the token endpoint's
    /// `interaction_required` naming `claims`) it signs them in again with
    /// those claims, so the authority asks for what they name (a second
    /// factor), and retries once.
    pub async fn call_interactive(
        &self,
        url: &str,
        resource: Option<&str>,
        open: impl FnOnce(&str),
    ) -> Result<ApiResponse, Error> {
        let error = match self.call(url, resource).await {
            Err(error) => error,
            ok => return ok,
        };
        let (scope, claims) = match error.action() {
            crate::Action::Reauthorize { scope: Some(scope) } => (Some(scope), None),
            crate::Action::ReauthorizeWithClaims { claims } => (None, Some(claims)),
            _ => return Err(error),
        };
        let api = Url::parse(url).map_err(|_| Error::Usage(format!("'{url}' is not a URL")))?;
        let (authority, resource) = match (&self.config.authority, resource) {
            (Some(authority), Some(resource)) => (
                authority.trim_end_matches('/').to_owned(),
                resource.to_owned(),
            ),
            _ => self.discover(&api).await?,
        };
        if let Error::Resource(refused) = &error
            && let Some(uri) = refused
                .challenge
                .as_ref()
                .and_then(|c| c.authorization_uri.as_deref())
        {
            // The claims go to the authority the token came from, and only
            // if the challenge names one this client trusts too.
            let authority_url = Url::parse(&authority).ok();
            check_authorization_uri(uri, authority_url.as_ref(), &self.config.trusted_hosts)?;
        }
        match (&scope, &claims) {
            (Some(scope), _) => {
                tracing::info!(
                    scope,
                    "the API needs another scope: signing in again for it"
                )
            }
            (None, _) => tracing::info!(
                "the server asked for more claims (a second factor): signing in again with them"
            ),
        }
        self.login_with_claims(
            &authority,
            &resource,
            scope.as_deref(),
            claims.as_deref(),
            open,
        )
        .await?;
        let token = self.access_token(&authority, &resource).await?;
        self.send(url, &token).await
    }

    /// Sends the request with the token; 5xx and connection failures are
    /// retried by the policy, refusals come back as errors.
    async fn send(&self, url: &str, token: &str) -> Result<ApiResponse, Error> {
        self.config
            .retry
            .run(|| async {
                let response = self
                    .http
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .map_err(|e| transport(url, e))?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.text().await.map_err(|e| transport(url, e))?;
                if (200..300).contains(&status) {
                    return Ok(ApiResponse {
                        status,
                        headers,
                        body,
                    });
                }
                Err(Error::Resource(Box::new(ResourceError {
                    status,
                    challenge: bearer_challenge(&headers),
                    retry_after: retry_after(&headers, SystemTime::now()),
                })))
            })
            .await
    }
}
