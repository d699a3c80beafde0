//! Starting a server and reading its answers.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_server::ServerConfig;
use latchkey_server::directory::parse_directory_at;
use latchkey_server::store::{SqliteStore, Store};
use serde_json::Value;
use tempfile::TempDir;

pub const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
pub const STRICT_TENANT: &str = "3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c";
pub const WEB: &str = "2d4d11a2-f814-46a7-890a-274a72a7309e";
pub const WEB_SECRET: &str = "web-secret-0123456789-abcdefghijklmnop";
pub const CLI: &str = "0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11";
pub const ROBOT: &str = "5c6b0b7e-2a4f-4d7e-8f38-4c1f0e9a7b21";
pub const ROBOT_SECRET: &str = "robot-secret-0123456789-abcdefghijklmn";
pub const FABRIKAM_DAEMON: &str = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
pub const FABRIKAM_SECRET: &str = "fabrikam-secret-0123456789-abcdefghijk";
pub const FILES: &str = "https://files.contoso.example/";

/// The Contoso test directory, shared with the other test suites.
pub const DIRECTORY: &str = include_str!("../../../../tests/fixtures/directory.toml");

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub db_path: std::path::PathBuf,
    /// The data directory, for a test that builds its own server
    /// (`managed_identity`).
    pub(crate) _dir: TempDir,
    pub(crate) server: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
        TestServer::start_with_directory(DIRECTORY, configure).await
    }

    /// A server over a variant of the test directory (see `contoso_with`).
    pub async fn start_with_directory(
        directory: &str,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("latchkey.db");
        let store = SqliteStore::open(&db_path).await.unwrap();
        TestServer::serve(Arc::new(store), directory, None, dir, db_path, configure).await
    }

    /// A server over a directory file whose relative paths (certificates,
    /// JWKS files) start at `base`.
    pub async fn start_with_directory_at(directory: &str, base: &std::path::Path) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("latchkey.db");
        let store = SqliteStore::open(&db_path).await.unwrap();
        TestServer::serve(Arc::new(store), directory, Some(base), dir, db_path, |_| {}).await
    }

    /// A server over `store` (either engine) with the test directory
    /// applied; its `db_path` names no file.
    pub async fn start_on(store: Arc<dyn Store>) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("none");
        TestServer::serve(store, DIRECTORY, None, dir, db_path, |_| {}).await
    }

    async fn serve(
        store: Arc<dyn Store>,
        directory: &str,
        base: Option<&std::path::Path>,
        dir: TempDir,
        db_path: std::path::PathBuf,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        store
            .apply_directory(&parse_directory_at(directory, base).unwrap().directory)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = ServerConfig::new(base.clone());
        configure(&mut config);
        let router = latchkey_server::router(config, store).await.unwrap();
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service).await.unwrap();
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        TestServer {
            base,
            http,
            db_path,
            _dir: dir,
            server,
        }
    }

    /// A browser: keeps cookies, follows no redirects.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    pub fn authorize_url(&self, tenant: &str, params: &[(&str, &str)]) -> String {
        format!("{}/{tenant}/oauth2/authorize?{}", self.base, form(params))
    }

    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/token", self.base)
    }

    /// POSTs `params` as a form to the tenant's token endpoint.
    pub async fn token(&self, tenant: &str, params: &[(&str, &str)]) -> reqwest::Response {
        self.token_with(tenant, params, |r| r).await
    }

    pub async fn token_with(
        &self,
        tenant: &str,
        params: &[(&str, &str)],
        decorate: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> reqwest::Response {
        let body = form(params);
        let request = self
            .http
            .post(self.token_url(tenant))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        decorate(request).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

/// The test directory with `line` added to the Contoso tenant (e.g.
/// `refresh_token_reuse_seconds = 0`).
pub fn contoso_with(line: &str) -> String {
    let anchor = "domains = [\"contoso.example\"]\n";
    assert!(DIRECTORY.contains(anchor));
    DIRECTORY.replacen(anchor, &format!("{anchor}{line}\n"), 1)
}

pub fn form(params: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// A token error as it must read on the wire.
pub struct Expected<'a> {
    pub status: u16,
    pub error: &'a str,
    pub aadsts: u32,
    /// The message after `AADSTSnnnn: `, exactly.
    pub message: &'a str,
    pub suberror: Option<&'a str>,
    /// The `claims` member (a claims request's JSON), after the others.
    pub claims: Option<&'a str>,
    /// The correlation id the client sent (a GUID), if any.
    pub correlation_id: Option<&'a str>,
    pub strict: bool,
    /// How far the server's (test) clock runs ahead of the system's.
    pub clock_ahead: Duration,
}

impl<'a> Expected<'a> {
    pub fn new(status: u16, error: &'a str, aadsts: u32, message: &'a str) -> Expected<'a> {
        Expected {
            status,
            error,
            aadsts,
            message,
            suberror: None,
            claims: None,
            correlation_id: None,
            strict: false,
            clock_ahead: Duration::ZERO,
        }
    }
}

/// Asserts status, headers, and every byte of the body: the six seed
/// fields in the seed's order, the description built from the same ids.
/// Returns the parsed document.
pub async fn assert_token_error(response: reqwest::Response, expected: Expected<'_>) -> Value {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    assert_eq!(status, expected.status, "status; body: {body}");
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let trace_id = doc["trace_id"].as_str().unwrap();
    let correlation_id = doc["correlation_id"].as_str().unwrap();
    let timestamp = doc["timestamp"].as_str().unwrap();
    assert_eq!(
        headers["x-ms-request-id"], trace_id,
        "x-ms-request-id is the trace id"
    );
    assert!(uuid::Uuid::try_parse(trace_id).is_ok());
    assert!(uuid::Uuid::try_parse(correlation_id).is_ok());
    if let Some(sent) = expected.correlation_id {
        assert_eq!(correlation_id, sent);
    }
    assert_recent_timestamp(timestamp, expected.clock_ahead);
    let sep = if expected.strict { " " } else { "\r\n" };
    let description = format!(
        "AADSTS{}: {}{sep}Trace ID: {trace_id}{sep}Correlation ID: {correlation_id}{sep}Timestamp: {timestamp}",
        expected.aadsts, expected.message
    );
    let suberror = expected
        .suberror
        .map(|s| format!(r#","suberror":"{s}""#))
        .unwrap_or_default();
    let claims = expected
        .claims
        .map(|c| format!(r#","claims":{}"#, serde_json::to_string(c).unwrap()))
        .unwrap_or_default();
    let wire = format!(
        r#"{{"error":"{}","error_description":{},"error_codes":[{}],"timestamp":"{timestamp}","trace_id":"{trace_id}","correlation_id":"{correlation_id}"{suberror}{claims}}}"#,
        expected.error,
        serde_json::to_string(&description).unwrap(),
        expected.aadsts,
    );
    assert_eq!(body, wire);
    doc
}

/// Reads the error document, builds the expected message from it (for a
/// message that names the request's time), and checks every byte.
pub async fn assert_token_error_naming(
    response: reqwest::Response,
    expected: Expected<'_>,
    message: impl FnOnce(&Value) -> String,
) {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    let message = message(&doc);
    let mut rebuilt = axum::http::Response::builder().status(status);
    for (name, value) in &headers {
        rebuilt = rebuilt.header(name, value);
    }
    let rebuilt = reqwest::Response::from(rebuilt.body(body).unwrap());
    assert_token_error(
        rebuilt,
        Expected {
            message: &message,
            ..expected
        },
    )
    .await;
}

/// `YYYY-MM-DD HH:MM:SSZ`, within a minute of now (on a clock `ahead`).
fn assert_recent_timestamp(timestamp: &str, ahead: Duration) {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    let parsed = time::PrimitiveDateTime::parse(timestamp, format)
        .unwrap()
        .assume_utc();
    let skew = (time::OffsetDateTime::now_utc() + ahead - parsed).abs();
    assert!(skew < time::Duration::minutes(1), "timestamp {timestamp}");
}

/// Mia's second factor (the test directory's `totp_secret`).
pub const MIA_TOTP: &str = "JBSWY3DPEHPK3PXP";

/// An authenticator app for `secret` (SHA-1, 6 digits, 30 s).
pub fn totp(secret: &str) -> totp_rs::TOTP {
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(secret.into()).to_bytes().unwrap(),
    )
}

/// Mia's current code.
pub fn totp_now() -> String {
    totp(MIA_TOTP).generate_current().unwrap()
}

/// Decodes the claims of a JWT without verifying it.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Verifies a JWT's RS256 signature with the server's published JWKS.
pub async fn verify_with_jwks(server: &TestServer, jwt: &str) {
    let (_, jwks) = server.get_json("/common/discovery/keys").await;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is published");
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .expect("the signature verifies");
}

/// What an authorization response told the client.
#[derive(Debug)]
pub enum Outcome {
    /// 302: the parameters in the Location's query or fragment.
    Redirect {
        location: String,
        params: std::collections::HashMap<String, String>,
    },
    /// 200 form_post page: where it posts and its fields.
    FormPost {
        action: String,
        params: std::collections::HashMap<String, String>,
    },
    /// One of our pages (sign-in, mfa, consent, error), with its status.
    Page {
        status: u16,
        html: String,
        headers: reqwest::header::HeaderMap,
    },
    /// 303 back to the authorize endpoint.
    SeeOther {
        location: String,
        headers: reqwest::header::HeaderMap,
    },
}

impl Outcome {
    pub async fn read(response: reqwest::Response) -> Outcome {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let html = response.text().await.unwrap();
        match (status, location) {
            (302, Some(location)) => {
                let (_, encoded) = location.split_once(['?', '#']).unwrap_or((&location, ""));
                let params = form_urlencoded::parse(encoded.as_bytes())
                    .into_owned()
                    .collect();
                Outcome::Redirect { location, params }
            }
            (303, Some(location)) => Outcome::SeeOther { location, headers },
            (200, None) if html.contains("document.forms[0].submit()") => {
                let action =
                    unescape(between(&html, "<form method=\"post\" action=\"", "\"").unwrap());
                Outcome::FormPost {
                    action,
                    params: hidden_fields(&html).into_iter().collect(),
                }
            }
            _ => Outcome::Page {
                status,
                html,
                headers,
            },
        }
    }

    /// The parameters a redirect or form post delivered.
    pub fn delivered(&self) -> &std::collections::HashMap<String, String> {
        match self {
            Outcome::Redirect { params, .. } | Outcome::FormPost { params, .. } => params,
            other => panic!("expected a response to the client, got {other:?}"),
        }
    }

    pub fn page(&self) -> &str {
        match self {
            Outcome::Page { html, .. } => html,
            other => panic!("expected a page, got {other:?}"),
        }
    }
}

pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// Reverses the HTML escaping of the templates.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `<input type="hidden" name=… value=…>` fields of a page.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let name = between(rest, "name=\"", "\"").unwrap();
            let value = between(rest, "value=\"", "\"").unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

/// The machine-readable document of the error page.
pub fn error_page_document(html: &str) -> Value {
    let json = between(
        html,
        "<script type=\"application/json\" id=\"latchkey-error\">",
        "</script>",
    )
    .unwrap();
    serde_json::from_str(json).unwrap()
}

impl TestServer {
    /// GET an authorize URL in `browser`.
    pub async fn open(&self, browser: &reqwest::Client, url: &str) -> Outcome {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        };
        Outcome::read(browser.get(url).send().await.unwrap()).await
    }

    /// Submits the form of `page` with `extra` fields.
    pub async fn submit(
        &self,
        browser: &reqwest::Client,
        page: &str,
        extra: &[(&str, &str)],
    ) -> Outcome {
        let action = unescape(between(page, "<form method=\"post\" action=\"", "\"").unwrap());
        let mut fields = hidden_fields(page);
        fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = browser
            .post(format!("{}{action}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&pairs))
            .send()
            .await
            .unwrap();
        Outcome::read(response).await
    }

    /// Signs `user` in on the sign-in page `url` leads to, and follows the
    /// 303 back to the authorize endpoint: the next outcome.
    pub async fn sign_in(
        &self,
        browser: &reqwest::Client,
        url: &str,
        user: &str,
        password: &str,
    ) -> Outcome {
        let page = self.open(browser, url).await;
        assert!(
            page.page().contains("id=\"signin\""),
            "expected the sign-in page: {page:?}"
        );
        let posted = self
            .submit(
                browser,
                page.page(),
                &[("username", user), ("password", password)],
            )
            .await;
        let Outcome::SeeOther { location, .. } = posted else {
            panic!("sign-in did not answer 303: {posted:?}")
        };
        self.open(browser, &location).await
    }
}

/// A scenario that answers ROBOT's client-credentials requests after
/// `delay_ms`: a request that has fully arrived and holds an in-flight
/// permit meanwhile (a slow body no longer holds one).
pub fn slow_robot(delay_ms: u64) -> latchkey_server::scenarios::Scenario {
    let spec: latchkey_server::scenarios::ScenarioSpec =
        serde_json::from_value(serde_json::json!({
            "endpoint": "token",
            "client_id": ROBOT,
            "error": "temporarily_unavailable",
            "delay_ms": delay_ms,
        }))
        .unwrap();
    spec.validate(TENANT.parse().unwrap()).unwrap()
}

impl TestServer {
    /// Sends ROBOT's token request in the background (see `slow_robot`).
    pub fn hold_a_permit(&self) -> tokio::task::JoinHandle<()> {
        let request = self
            .http
            .post(self.token_url(TENANT))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "client_credentials"),
                ("client_id", ROBOT),
                ("client_secret", ROBOT_SECRET),
                ("resource", FILES),
            ]));
        tokio::spawn(async move {
            let _ = request.send().await;
        })
    }

    /// Writes `request` on a new connection and reads until the server
    /// closes it (at most 10 s).
    pub async fn raw(&self, request: &[u8]) -> RawResponse {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.base.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        // The server may answer and close before reading everything.
        let _ = stream.write_all(request).await;
        let mut response = Vec::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
        RawResponse::parse(&response)
    }
}

/// An HTTP/1.1 response read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn parse(bytes: &[u8]) -> RawResponse {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        RawResponse {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Status, content type, `error`, `error_codes` and the description's
    /// first line, exactly (the rest of the document is ids and time).
    pub fn assert_token_error(&self, status: u16, error: &str, aadsts: u32, message: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let doc: Value = serde_json::from_str(&self.body).unwrap();
        assert_eq!(doc["error"], error);
        assert_eq!(doc["error_codes"], serde_json::json!([aadsts]));
        let description = doc["error_description"].as_str().unwrap();
        assert_eq!(
            description.split("\r\n").next().unwrap(),
            format!("AADSTS{aadsts}: {message}")
        );
    }
}
