//! The client library against the real server and real protected APIs,
//! all started in-process on loopback ports: each error leads to its
//! client action.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use latchkey_client::{Action, Client, ClientConfig, Credentials, Error, RetryPolicy};
use latchkey_resource::{Requirement, ResourceConfig, TokenClaims, Validator};
use latchkey_server::ServerConfig;
use latchkey_server::directory::parse_directory;
use latchkey_server::store::{SqliteStore, Store};
use tokio::net::TcpListener;

const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
const WEB: &str = "2d4d11a2-f814-46a7-890a-274a72a7309e";
const SECRET: &str = "web-secret-0123456789-abcdefghijklmnop";
const FILES: &str = "https://files.contoso.example/";
const NATIVE: &str = "0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11";
const ADMIN_KEY: &str = "admin-key-0123456789abcdef";

/// A directory whose second API is named by `api_url` (a loopback API's
/// own base URL, so its `resource_id` passes the client's check).
fn directory(api_url: &str) -> String {
    format!(
        r#"
[[tenants]]
id = "{TENANT}"
domains = ["contoso.example"]
  [[tenants.apis]]
  name = "Files"
  app_id_uri = "{FILES}"
  scopes = ["Files.Read", "user_impersonation"]
  roles = ["Files.ReadAll"]
  [[tenants.apis]]
  name = "Local API"
  app_id_uri = "{api_url}"
  scopes = ["Files.Read"]
  roles = ["Files.ReadAll"]
  [[tenants.apps]]
  client_id = "{WEB}"
  name = "Web"
  secret = "{SECRET}"
  grant_types = ["client_credentials", "password", "refresh_token"]
    [[tenants.apps.permissions]]
    api = "{FILES}"
    scopes = ["Files.Read", "user_impersonation"]
    roles = ["Files.ReadAll"]
    [[tenants.apps.permissions]]
    api = "{api_url}"
    roles = ["Files.ReadAll"]
  [[tenants.apps]]
  client_id = "{NATIVE}"
  name = "Native"
  redirect_uris = ["http://127.0.0.1/"]
  grant_types = ["authorization_code", "refresh_token", "password"]
    [[tenants.apps.permissions]]
    api = "{FILES}"
    scopes = ["Files.Read", "user_impersonation"]
  [[tenants.users]]
  upn = "frank@contoso.example"
  password = "frank-password"
    [[tenants.users.consents]]
    client_id = "{WEB}"
    scopes = ["Files.Read", "user_impersonation"]
    [[tenants.users.consents]]
    client_id = "{NATIVE}"
    scopes = ["Files.Read", "user_impersonation"]
  [[tenants.users]]
  upn = "mia@contoso.example"
  password = "mia-password"
  totp_secret = "JBSWY3DPEHPK3PXP"
"#
    )
}

struct World {
    base: String,
    authority: String,
    /// A protected API whose resource id is its own base URL.
    api: String,
    _dir: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// Serves `router` on a fresh loopback port; its base URL, `http://IP:PORT`.
async fn serve_on_loopback(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

fn spawn(listener: TcpListener, router: Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    })
}

async fn protected_api(authority: &str, resource_id: &str) -> Router {
    let validator = Arc::new(Validator::new(ResourceConfig::new(authority, resource_id)).unwrap());
    validator.refresh_now().await.unwrap();
    let read = Requirement::AnyOf(vec![
        Requirement::scope("Files.Read"),
        Requirement::role("Files.ReadAll"),
    ]);
    let admin = Requirement::AllOf(vec![read.clone(), Requirement::role("Files.Admin")]);
    Router::new()
        .route(
            "/api/read",
            get(|c: TokenClaims| async move { format!("read {}", c.get("aud").unwrap()) })
                .layer(validator.require(read)),
        )
        .route(
            "/api/admin",
            get(|| async { "admin" }).layer(validator.require(admin)),
        )
}

/// The server, and a protected API listening at the URL its directory names.
async fn world() -> World {
    let api_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/", api_listener.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
    store
        .apply_directory(&parse_directory(&directory(&api)).unwrap().directory)
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = ServerConfig::new(base.clone());
    config.admin_key = Some(ADMIN_KEY.into());
    let router = latchkey_server::router(config, Arc::new(store))
        .await
        .unwrap();
    let mut tasks = vec![spawn(listener, router)];
    let authority = format!("{base}/{TENANT}");
    tasks.push(spawn(api_listener, protected_api(&authority, &api).await));
    World {
        base,
        authority,
        api,
        _dir: dir,
        tasks,
    }
}

fn client(world: &World, configure: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut config = ClientConfig::new(WEB);
    config.authority = Some(world.authority.clone());
    config.credentials = Credentials {
        client_secret: Some(SECRET.into()),
        user: None,
    };
    config.retry = RetryPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
        ..RetryPolicy::default()
    };
    configure(&mut config);
    Client::new(config).unwrap()
}

#[tokio::test]
async fn token_endpoint_errors_lead_to_their_actions() {
    let world = world().await;
    let wrong_secret = client(&world, |c| {
        c.credentials.client_secret = Some("wrong".into())
    });
    let error = wrong_secret
        .client_credentials(&world.authority, FILES)
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::FixCredentials);
    assert_eq!(
        wrong_secret.token_requests(),
        1,
        "invalid_client is never retried"
    );
    assert!(error.correlation_id().is_some());

    let stranger = Client::new(ClientConfig {
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        ..ClientConfig::new("x")
    })
    .unwrap();
    let error = stranger
        .client_credentials(&world.authority, FILES)
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::InstallApplication);

    let c = client(&world, |_| {});
    let error = c
        .client_credentials(&world.authority, "https://nowhere.example/")
        .await
        .unwrap_err();
    assert_eq!(
        error.action(),
        Action::InstallApplication,
        "invalid_resource"
    );
    let error = c
        .password(
            &world.authority,
            FILES,
            "frank@contoso.example",
            "wrong",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::FixRequest, "invalid_grant");
    let error = c
        .password(
            &world.authority,
            FILES,
            "mia@contoso.example",
            "mia-password",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::InteractionRequired);
    let error = c
        .request_token(&world.authority, &[("grant_type", "magic")])
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::ChangeGrantType);
    let ok = c.client_credentials(&world.authority, FILES).await.unwrap();
    assert_eq!(ok.resource, FILES);
}

/// A token endpoint that is overloaded twice, then answers.
async fn flaky_token_endpoint(
    failures: u32,
    retry_after: &'static str,
) -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let router = Router::new().route(
        "/{tenant}/oauth2/token",
        post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < failures {
                    let body = r#"{"error":"temporarily_unavailable","error_description":"AADSTS90055: busy","error_codes":[90055],"timestamp":"2026-11-25 00:00:00Z","trace_id":"t","correlation_id":"c"}"#;
                    (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", retry_after), ("content-type", "application/json")], body).into_response()
                } else {
                    let body = r#"{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"3600","expires_on":"9999999999","not_before":"0","resource":"r","access_token":"t"}"#;
                    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
                }
            }
        }),
    );
    let base = format!("{}/{TENANT}", serve_on_loopback(router).await);
    (base, calls)
}

#[tokio::test]
async fn temporarily_unavailable_is_retried_after_retry_after() {
    let (authority, calls) = flaky_token_endpoint(2, "1").await;
    let c = Client::new(ClientConfig {
        credentials: Credentials {
            client_secret: Some("s".into()),
            user: None,
        },
        ..ClientConfig::new(WEB)
    })
    .unwrap();
    let started = Instant::now();
    let token = c.client_credentials(&authority, "r").await.unwrap();
    assert_eq!(token.access_token, "t");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited Retry-After twice: {:?}",
        started.elapsed()
    );

    // Still failing after every try: reported as such, action retry later.
    let (authority, calls) = flaky_token_endpoint(100, "0").await;
    let c = Client::new(ClientConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        ..ClientConfig::new(WEB)
    })
    .unwrap();
    let error = c.client_credentials(&authority, "r").await.unwrap_err();
    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 3, .. }),
        "{error:?}"
    );
    assert_eq!(error.action(), Action::RetryLater);
    assert_eq!(error.action().exit_code(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn invalid_token_gets_exactly_one_new_token_and_one_retry() {
    let world = world().await;
    // An API that refuses the first token it sees, then accepts.
    let seen = Arc::new(AtomicU32::new(0));
    let counter = seen.clone();
    let api = Router::new().route(
        "/api/read",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    (StatusCode::UNAUTHORIZED, [("www-authenticate", r#"Bearer authorization_uri="x", error="invalid_token", error_description="The access token is expired.""#)], "").into_response()
                } else {
                    (StatusCode::OK, "ok").into_response()
                }
            }
        }),
    );
    let url = format!("{}/api/read", serve_on_loopback(api).await);
    let c = client(&world, |_| {});
    let response = c.call(&url, Some(FILES)).await.unwrap();
    assert_eq!(response.body, "ok");
    assert_eq!(seen.load(Ordering::SeqCst), 2, "one retry");
    assert_eq!(c.token_requests(), 2, "one new token");

    // A real API that refuses every token (its resource id is not the
    // token's audience): one new token, one retry, then the error.
    let mismatched = Router::new()
        .merge(protected_api(&world.authority, "https://other.contoso.example/").await);
    let url = format!("{}/api/read", serve_on_loopback(mismatched).await);
    let c = client(&world, |_| {});
    let error = c.call(&url, Some(FILES)).await.unwrap_err();
    assert_eq!(error.action(), Action::RequestNewToken);
    assert_eq!(error.action().exit_code(), 3);
    assert_eq!(c.token_requests(), 2, "exactly one new token, no loop");
}

#[tokio::test]
async fn insufficient_scope_surfaces_the_scope_and_insufficient_access_stops() {
    let world = world().await;
    let read = format!("{}api/read", world.api);
    let narrow = client(&world, |c| {
        c.credentials.user = Some(("frank@contoso.example".into(), "frank-password".into()))
    });
    // Frank's token for the local API has no delegated scope there.
    let error = narrow.call(&read, Some(&world.api)).await.unwrap_err();
    assert_eq!(error.action(), Action::AskForConsent, "{error:?}");
    assert_eq!(narrow.token_requests(), 1);
    // With the files API's narrow scope, straight from the token endpoint:
    let token = narrow
        .password(
            &world.authority,
            FILES,
            "frank@contoso.example",
            "frank-password",
            Some("user_impersonation"),
        )
        .await
        .unwrap();
    narrow.remember(&world.authority, FILES, &token);
    let files_api = Router::new().merge(protected_api(&world.authority, FILES).await);
    let files_url = format!("{}/api/", serve_on_loopback(files_api).await);
    let error = narrow
        .call(&format!("{files_url}read"), Some(FILES))
        .await
        .unwrap_err();
    assert_eq!(
        error.action(),
        Action::Reauthorize {
            scope: Some("Files.Read".into())
        }
    );
    assert_eq!(error.action().exit_code(), 4);

    let app = client(&world, |_| {});
    let error = app
        .call(&format!("{}api/admin", world.api), Some(&world.api))
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::DifferentAccount);
    assert_eq!(error.action().exit_code(), 4);
}

#[tokio::test]
async fn discovery_from_the_challenge_gets_a_token_for_exactly_that_resource() {
    let world = world().await;
    let host = world.base.trim_start_matches("http://").to_owned();
    let c = client(&world, |c| {
        c.authority = None;
        c.trusted_hosts = vec![host.parse().unwrap()];
    });
    let response = c
        .call(&format!("{}api/read", world.api), None)
        .await
        .unwrap();
    assert_eq!(
        response.body,
        format!("read \"{}\"", world.api),
        "the token's audience is the discovered resource"
    );
    assert_eq!(c.token_requests(), 1);
}

/// An API whose challenge says whatever we like.
async fn lying_api(challenge: String) -> String {
    let router = Router::new().route(
        "/api/read",
        get(move || {
            let challenge = challenge.clone();
            async move {
                (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", challenge)],
                    "",
                )
                    .into_response()
            }
        }),
    );
    let url = format!("{}/api/read", serve_on_loopback(router).await);
    url
}

#[tokio::test]
async fn a_foreign_resource_id_or_an_untrusted_authority_gets_no_token() {
    let world = world().await;
    let host = world.base.trim_start_matches("http://").to_owned();
    let authorize = format!("{}/oauth2/authorize", world.authority);
    // Names the real local API as its resource: a token for it would be
    // an elevation of privilege.
    let thief = lying_api(format!(r#"Bearer authorization_uri="{authorize}", error="invalid_token", error_description="The access token is missing.", resource_id="{}""#, world.api)).await;
    let c = client(&world, |c| {
        c.authority = None;
        c.trusted_hosts = vec![host.parse().unwrap()];
    });
    let error = c.call(&thief, None).await.unwrap_err();
    assert!(matches!(error, Error::ForeignResource { .. }), "{error:?}");
    assert_eq!(error.action().exit_code(), 5);
    assert_eq!(c.token_requests(), 0, "no token at all");

    // An authority that is not trusted.
    let phish = lying_api(r#"Bearer authorization_uri="https://login.evil.example/t/oauth2/authorize", error="invalid_token", error_description="x", resource_id="https://login.evil.example/""#.into()).await;
    let error = c.call(&phish, None).await.unwrap_err();
    assert!(
        matches!(error, Error::UntrustedAuthority { .. }),
        "{error:?}"
    );
    assert_eq!(c.token_requests(), 0);
    // Without --trusted-host, not even the real server's http origin is trusted.
    let untrusting = client(&world, |c| c.authority = None);
    let error = untrusting
        .call(&format!("{}api/read", world.api), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::UntrustedAuthority { .. }),
        "{error:?}"
    );
    assert_eq!(untrusting.token_requests(), 0);
}

#[tokio::test]
async fn an_unreachable_api_is_retried_then_reported() {
    let world = world().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/read", closed.local_addr().unwrap());
    drop(closed);
    let c = client(&world, |_| {});
    let error = c.call(&url, Some(FILES)).await.unwrap_err();
    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 4, .. }),
        "{error:?}"
    );
    assert_eq!(error.action().exit_code(), 3);
}

#[tokio::test]
async fn the_command_line_exits_with_the_action() {
    let world = world().await;
    let run = |args: Vec<String>| {
        std::process::Command::new(crate::serve::BIN)
            .args(args)
            .output()
            .unwrap()
    };
    let common = |secret: &str| -> Vec<String> {
        [
            "--authority",
            &world.authority,
            "--resource",
            FILES,
            "--client-id",
            WEB,
            "--client-secret",
            secret,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut args = vec!["token".to_string()];
    args.extend(common(SECRET));
    let ok = tokio::task::spawn_blocking(move || run(args))
        .await
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let body: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(body["resource"], FILES);

    let mut args = vec!["token".to_string(), "--json".to_string()];
    args.extend(common("wrong"));
    let run2 = |args: Vec<String>| {
        std::process::Command::new(crate::serve::BIN)
            .args(args)
            .output()
            .unwrap()
    };
    let bad = tokio::task::spawn_blocking(move || run2(args))
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(4));
    let report: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(report["action"], "fix_credentials");
    assert_eq!(report["document"]["error"], "invalid_client");
    assert_eq!(report["document"]["error_codes"][0], 7000215);
    assert!(
        !String::from_utf8_lossy(&bad.stdout).contains("wrong\""),
        "the secret is not echoed"
    );

    let url = format!("{}api/read", world.api);
    let args: Vec<String> = ["call", &url, "--client-id", WEB, "--client-secret", SECRET]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let run3 = |args: Vec<String>| {
        std::process::Command::new(crate::serve::BIN)
            .args(args)
            .output()
            .unwrap()
    };
    let refused = tokio::task::spawn_blocking(move || run3(args))
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("not a trusted authority")
            && stderr.contains("what to do: Refused for safety"),
        "{stderr}"
    );
}

/// The value of `name="…" value="…"` pairs of hidden inputs, unescaped.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&#x2f;", "/")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest
                .split_once("value=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            (unescape(name), unescape(value))
        })
        .collect()
}

#[tokio::test]
async fn login_runs_the_code_flow_with_pkce_through_a_loopback_listener() {
    let world = world().await;
    let c = Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        ..ClientConfig::new(NATIVE)
    })
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let browser = tokio::spawn(async move { scripted_sign_in(rx.await.unwrap()).await });
    let tokens = c
        .login(&world.authority, FILES, Some("openid"), move |url| {
            assert!(
                url.contains("code_challenge_method=S256")
                    && url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A")
            );
            tx.send(url.to_owned()).unwrap();
        })
        .await
        .unwrap();
    browser.await.unwrap();
    assert_eq!(
        tokens.scope.as_deref(),
        Some("Files.Read user_impersonation"),
        "v1: every permitted, consented scope"
    );
    assert!(tokens.id_token.is_some() && tokens.refresh_token.is_some());
    // The tokens are cached for the resource.
    let cached = c.access_token(&world.authority, FILES).await.unwrap();
    assert_eq!(cached, tokens.access_token);
    assert_eq!(c.token_requests(), 1);
}

/// A person's browser, scripted: opens the sign-in URL, signs Frank in
/// (consent is on file), and follows the redirect to the loopback listener.
async fn scripted_sign_in(url: String) {
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    let mut fields = hidden_fields(&page);
    fields.push(("username".into(), "frank@contoso.example".into()));
    fields.push(("password".into(), "frank-password".into()));
    let base = url.split("/7fe81447").next().unwrap().to_owned();
    let posted = b
        .post(format!("{base}/{TENANT}/oauth2/authorize"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    let back = posted.headers()["location"].to_str().unwrap().to_owned();
    let to_app = b.get(format!("{base}{back}")).send().await.unwrap();
    assert_eq!(to_app.status(), 302);
    let loopback = to_app.headers()["location"].to_str().unwrap().to_owned();
    assert!(loopback.starts_with("http://127.0.0.1:"), "{loopback}");
    let landed = b.get(&loopback).send().await.unwrap().text().await.unwrap();
    assert!(landed.contains("Signed in"));
}

#[tokio::test]
async fn an_interactive_call_reauthorizes_for_the_scope_the_api_names() {
    let world = world().await;
    let files_api = Router::new().merge(protected_api(&world.authority, FILES).await);
    let url = format!("{}/api/read", serve_on_loopback(files_api).await);
    let c = Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        ..ClientConfig::new(NATIVE)
    })
    .unwrap();
    // A token with only user_impersonation, as an earlier sign-in left it.
    let narrow = c
        .password(
            &world.authority,
            FILES,
            "frank@contoso.example",
            "frank-password",
            Some("user_impersonation"),
        )
        .await
        .unwrap();
    c.remember(&world.authority, FILES, &narrow);
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let browser = tokio::spawn(async move { scripted_sign_in(rx.await.unwrap()).await });
    let response = c
        .call_interactive(&url, Some(FILES), move |sign_in| {
            assert!(sign_in.contains("scope=Files.Read"), "{sign_in}");
            tx.send(sign_in.to_owned()).unwrap();
        })
        .await
        .unwrap();
    browser.await.unwrap();
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn a_cached_token_is_refreshed_before_it_expires() {
    let world = world().await;
    let c = client(&world, |c| {
        c.credentials.user = Some(("frank@contoso.example".into(), "frank-password".into()));
        // Every token is "about to expire": the next use refreshes it.
        c.refresh_before_expiry = Duration::from_secs(7200);
    });
    let first = c.access_token(&world.authority, FILES).await.unwrap();
    let second = c.access_token(&world.authority, FILES).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(
        c.token_requests(),
        2,
        "one password grant, then one refresh"
    );
    let kept = client(&world, |c| {
        c.credentials.user = Some(("frank@contoso.example".into(), "frank-password".into()))
    });
    let a = kept.access_token(&world.authority, FILES).await.unwrap();
    let b = kept.access_token(&world.authority, FILES).await.unwrap();
    assert_eq!(a, b, "a fresh token comes from the cache");
    assert_eq!(kept.token_requests(), 1);
}

#[tokio::test]
async fn the_client_retries_through_injected_overload_and_invalid_token() {
    let world = world().await;
    // `latchkey scenario add`, as a developer would type it.
    let args: Vec<String> = [
        "scenario",
        "add",
        "--server",
        &world.base,
        "--admin-key",
        ADMIN_KEY,
        "--tenant",
        "contoso.example",
        "--endpoint",
        "token",
        "--error",
        "temporarily_unavailable",
        "--times",
        "2",
        "--retry-after",
        "1",
        "--client-id",
        WEB,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let added = tokio::task::spawn_blocking(move || {
        std::process::Command::new(crate::serve::BIN)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        added.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let c = client(&world, |_| {});
    let started = Instant::now();
    let token = c.client_credentials(&world.authority, FILES).await.unwrap();
    assert!(!token.access_token.is_empty());
    assert_eq!(c.token_requests(), 3, "two injected 503s, then the token");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured: {:?}",
        started.elapsed()
    );

    // The demo API, told to answer invalid_token once.
    let api_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{api_port}");
    let mut demo = std::process::Command::new(crate::serve::BIN)
        .args([
            "demo-api",
            "--authority",
            &world.authority,
            "--resource-id",
            FILES,
            "--listen",
            &listen,
            "--scenario",
            "invalid_token:1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Read its first line off the runtime: the server it asks for keys runs here.
    let stdout = demo.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        line
    })
    .await
    .unwrap();
    assert!(line.starts_with("Demo API listening"), "{line}");
    let c = client(&world, |_| {});
    let response = c
        .call(&format!("http://{listen}/api/read"), Some(FILES))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        c.token_requests(),
        2,
        "the injected invalid_token cost one new token"
    );
    let _ = demo.kill();
    let _ = demo.wait();
}
