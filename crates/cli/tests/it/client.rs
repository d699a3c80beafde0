//! The client commands (`token`, `call`, `scenario`) as a user runs them:
//! their exit codes are the client actions. The client library itself is
//! tested in `crates/client`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use latchkey_client::{Client, ClientConfig, Credentials};
use latchkey_resource::{Requirement, ResourceConfig, Validator};
use latchkey_server::ServerConfig;
use latchkey_server::directory::parse_directory;
use latchkey_server::store::{DirectoryStore, SqliteStore};
use tokio::net::TcpListener;

const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
const WEB: &str = "2d4d11a2-f814-46a7-890a-274a72a7309e";
const SECRET: &str = "web-secret-0123456789-abcdefghijklmnop";
const FILES: &str = "https://files.contoso.example/";
const ADMIN_KEY: &str = "admin-key-0123456789abcdef";

/// The Contoso test directory, shared with the other test suites.
const DIRECTORY: &str = include_str!("../../../../tests/fixtures/directory.toml");

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

fn spawn(listener: TcpListener, router: Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    })
}

/// The server (with an admin key), and a protected API.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
    store
        .apply_directory(&parse_directory(DIRECTORY).unwrap().directory)
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = ServerConfig::new(base.clone());
    config.admin_key = Some(ADMIN_KEY.into());
    // Devices poll every second here, not every five.
    config.device_code_interval = Duration::from_secs(1);
    let router = latchkey_server::router(config, Arc::new(store))
        .await
        .unwrap();
    let mut tasks = vec![spawn(listener, router)];
    let authority = format!("{base}/{TENANT}");
    let api_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/", api_listener.local_addr().unwrap());
    let validator = Arc::new(Validator::new(ResourceConfig::new(&authority, &api)).unwrap());
    validator.refresh_now().await.unwrap();
    let read = Router::new().route(
        "/api/read",
        get(|| async { "read" }).layer(validator.require(Requirement::role("Files.ReadAll"))),
    );
    tasks.push(spawn(api_listener, read));
    World {
        base,
        authority,
        api,
        _dir: dir,
        tasks,
    }
}

/// The web app, with its secret.
fn client(world: &World) -> Client {
    Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        credentials: Credentials {
            client_secret: Some(SECRET.into()),
            client_certificate: None,
            user: None,
        },
        ..ClientConfig::new(WEB)
    })
    .unwrap()
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

#[tokio::test]
async fn the_client_retries_through_injected_overload_and_invalid_token() {
    let world = world().await;
    // `latchkey scenario add`, as a developer would type it.
    let added = latchkey(&[
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
    ])
    .await;
    assert_eq!(
        added.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let c = client(&world);
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
    let c = client(&world);
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

/// Runs `latchkey ARGS…` off the async runtime: its exit code and output.
async fn latchkey(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(crate::serve::BIN)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn users_revoke_sessions_ends_a_users_refresh_tokens() {
    let world = world().await;
    let http = reqwest::Client::new();
    let token_url = format!("{}/oauth2/token", world.authority);
    let password_grant = [
        ("grant_type", "password"),
        ("client_id", "0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11"),
        ("username", "frank@contoso.example"),
        ("password", "frank-password"),
        ("resource", FILES),
    ];
    let tokens: serde_json::Value = http
        .post(&token_url)
        .form(&password_grant)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let revoked = latchkey(&[
        "users",
        "revoke-sessions",
        "frank@contoso.example",
        "--server",
        &world.base,
        "--admin-key",
        ADMIN_KEY,
    ])
    .await;
    assert_eq!(
        revoked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&revoked.stdout),
        "{\"refresh_tokens\":1,\"sessions\":0,\"value\":true}\n"
    );
    let refused: serde_json::Value = http
        .post(&token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11"),
            ("refresh_token", &refresh_token),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"], "invalid_grant");
    assert_eq!(refused["error_codes"], serde_json::json!([50173]));
    // An unknown user: the API's refusal, exit code 2.
    let unknown = latchkey(&[
        "users",
        "revoke-sessions",
        "nobody@contoso.example",
        "--server",
        &world.base,
        "--admin-key",
        ADMIN_KEY,
    ])
    .await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("404 Not Found"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}

#[tokio::test]
async fn login_with_a_device_code_waits_for_the_person() {
    use std::io::BufRead;
    const DEVICE: &str = "a1d2e3f4-5b6c-4d7e-8f90-1a2b3c4d5e6f";
    let world = world().await;
    for (accept, exit_code) in [(true, 0), (false, 4)] {
        let mut child = std::process::Command::new(crate::serve::BIN)
            .args([
                "login",
                "--device-code",
                "--authority",
                &world.authority,
                "--resource",
                FILES,
                "--client-id",
                DEVICE,
                "--json",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        // The reader stays open until the command exits.
        let (message, _stderr) = tokio::task::spawn_blocking(move || {
            let mut reader = std::io::BufReader::new(stderr);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            (line, reader)
        })
        .await
        .unwrap();
        let page = format!("{}/devicelogin", world.base);
        assert!(
            message.starts_with(&format!(
                "To sign in, use a web browser to open the page {page} and enter the code "
            )),
            "{message}"
        );
        let user_code = crate::sign_in::user_code_in(&message);
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        crate::sign_in::decide_device_as_frank(&browser, &world.base, &user_code, accept).await;
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(exit_code), "accept: {accept}");
        let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        if accept {
            assert!(printed["access_token"].is_string(), "{printed}");
        } else {
            assert_eq!(printed["action"], "ask_for_consent", "{printed}");
            assert_eq!(printed["document"]["error"], "authorization_declined");
        }
    }
}

#[tokio::test]
async fn token_on_behalf_of_exchanges_the_callers_token() {
    let world = world().await;
    let authority = world.authority.clone();
    // Ben's client (Contoso Todo Native, public) gets his token to the Todo API.
    let user = latchkey(&[
        "token",
        "--authority",
        &authority,
        "--resource",
        "api://todo.contoso.example",
        "--client-id",
        "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
        "--username",
        "ben@contoso.example",
        "--password",
        "ben-password",
    ])
    .await;
    assert_eq!(user.status.code(), Some(0));
    let user: serde_json::Value = serde_json::from_slice(&user.stdout).unwrap();
    let assertion = user["access_token"].as_str().unwrap().to_owned();
    // The Todo API exchanges it for a token to Contoso Graph.
    let on_behalf_of = |assertion: String, extra: &'static [&'static str]| {
        let authority = authority.clone();
        async move {
            let mut args = vec![
                "token",
                "--json",
                "--authority",
                &authority,
                "--resource",
                "https://graph.contoso.example/",
                "--client-id",
                "7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a",
                "--client-secret",
                "todo-api-secret-0123456789-abcdefghijk",
                "--on-behalf-of",
                &assertion,
            ];
            args.extend_from_slice(extra);
            let output = latchkey(&args).await;
            let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            (output.status.code(), body)
        }
    };
    let (code, body) = on_behalf_of(assertion.clone(), &[]).await;
    assert_eq!(code, Some(0), "{body}");
    assert_eq!(body["resource"], "https://graph.contoso.example/");
    assert_eq!(body["scope"], "User.Read");
    // Ben never consented to Mail.Read: the user must (exit 4).
    let (code, report) = on_behalf_of(assertion.clone(), &["--scope", "Mail.Read"]).await;
    assert_eq!(code, Some(4));
    assert_eq!(report["action"], "ask_for_consent");
    assert_eq!(report["document"]["error_codes"][0], 65001);
    // An altered assertion: the request must change (exit 2).
    let (signed, _) = assertion.rsplit_once('.').unwrap();
    let (code, report) = on_behalf_of(format!("{signed}.Zm9yZ2Vk"), &[]).await;
    assert_eq!(code, Some(2));
    assert_eq!(report["document"]["error_codes"][0], 50013);
}

#[tokio::test]
async fn a_user_the_app_does_not_admit_exits_4_with_a_different_account() {
    let world = world().await;
    // Contoso HR requires assignment; Ivan is not assigned.
    let output = latchkey(&[
        "token",
        "--json",
        "--authority",
        &world.authority,
        "--resource",
        FILES,
        "--client-id",
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
        "--client-secret",
        "hr-secret-0123456789-abcdefghijklmnopq",
        "--username",
        "ivan@contoso.example",
        "--password",
        "ivan-password",
    ])
    .await;
    assert_eq!(output.status.code(), Some(4));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["action"], "different_account");
    assert_eq!(report["document"]["error"], "invalid_grant");
    assert_eq!(report["document"]["error_codes"][0], 50105);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .starts_with("the token endpoint answered HTTP 403 invalid_grant: AADSTS50105: "),
        "{report}"
    );
}

#[tokio::test]
async fn token_with_a_client_certificate_signs_an_assertion() {
    let world = world().await;
    let pem = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/contoso-daemon.pem"
    );
    let daemon = "c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f";
    let token = |client_id: &'static str| {
        let authority = world.authority.clone();
        async move {
            let output = latchkey(&[
                "token",
                "--json",
                "--authority",
                &authority,
                "--resource",
                "https://files.contoso.example/",
                "--client-id",
                client_id,
                "--client-certificate",
                pem,
            ])
            .await;
            let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            (output.status.code(), body)
        }
    };
    let (code, body) = token(daemon).await;
    assert_eq!(code, Some(0), "{body}");
    let payload = body["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["appid"], daemon);
    assert_eq!(
        claims["appidacr"], "2",
        "a certificate authenticated the app"
    );
    // Another app, whose registration has no such certificate: its
    // credentials must be fixed (exit 3 is a retry; invalid_client is not).
    let (code, report) = token("5c6b0b7e-2a4f-4d7e-8f38-4c1f0e9a7b21").await;
    assert_ne!(code, Some(0), "{report}");
    assert_eq!(report["document"]["error_codes"][0], 700027, "{report}");
    assert_eq!(report["action"], "fix_credentials", "{report}");
}
