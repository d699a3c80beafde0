//! A world to run the client in: the server on the shared Contoso
//! directory, and protected APIs, on loopback ports.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use latchkey_client::{Client, ClientConfig, Credentials, RetryPolicy};
use latchkey_resource::{Requirement, ResourceConfig, TokenClaims, Validator};
use latchkey_server::ServerConfig;
use latchkey_server::directory::{Api, DirectoryData, Permission, parse_directory};
use latchkey_server::store::{DirectoryStore, SqliteStore};
use tokio::net::TcpListener;
use uuid::Uuid;

pub const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
/// Confidential: client credentials, password, refresh.
pub const SERVICE: &str = "4b7a9c2e-1d3f-4e5a-b6c7-d8e9f0a1b2c3";
pub const SECRET: &str = "service-secret-0123456789-abcdefghijk";
/// Public, on any loopback port.
pub const DESKTOP: &str = "8f3e2d1c-0b9a-4c8d-a7e6-f5d4c3b2a190";
pub const FILES: &str = "https://files.contoso.example/";
/// Confidential with a certificate (tests/fixtures/contoso-daemon.pem).
pub const DAEMON: &str = "c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f";
/// Contoso Device: public, the device code grant.
pub const DEVICE: &str = "a1d2e3f4-5b6c-4d7e-8f90-1a2b3c4d5e6f";

/// The Contoso test directory, shared with the other test suites.
const DIRECTORY: &str = include_str!("../../../../tests/fixtures/directory.toml");

/// The shared directory, plus an API named by `api_url` (a loopback API's
/// own base URL, so its `resource_id` passes the client's check) on which
/// the service holds the role `Files.ReadAll`.
fn directory(api_url: &str) -> DirectoryData {
    let mut data = parse_directory(DIRECTORY).unwrap().directory;
    data.apis.push(Api {
        tenant_id: TENANT.parse().unwrap(),
        name: "Local API".into(),
        app_id_uri: api_url.into(),
        scopes: vec!["Files.Read".into()],
        roles: vec!["Files.ReadAll".into()],
        app_id: None,
        access_token_version: None,
        require_mfa: false,
    });
    let service: Uuid = SERVICE.parse().unwrap();
    data.apps
        .iter_mut()
        .find(|app| app.client_id == service)
        .unwrap()
        .permissions
        .push(Permission {
            api: api_url.into(),
            scopes: vec![],
            roles: vec!["Files.ReadAll".into()],
        });
    // Contoso Daemon (a certificate) takes each assertion once here: the
    // client must sign a fresh one for every request.
    let daemon: Uuid = DAEMON.parse().unwrap();
    data.apps
        .iter_mut()
        .find(|app| app.client_id == daemon)
        .unwrap()
        .single_use_assertions = true;
    data
}

pub struct World {
    pub base: String,
    pub authority: String,
    /// A protected API whose resource id is its own base URL.
    pub api: String,
    _dir: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// Serves `router` on a fresh loopback port; its base URL, `http://IP:PORT`.
pub async fn serve_on_loopback(router: Router) -> String {
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

pub async fn protected_api(authority: &str, resource_id: &str) -> Router {
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
pub async fn world() -> World {
    let api_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/", api_listener.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
    store.apply_directory(&directory(&api)).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = ServerConfig::new(base.clone());
    // Devices poll every second here, not every five; and the device
    // app's first poll is told to slow down (a client must then wait 5
    // seconds more).
    config.device_code_interval = std::time::Duration::from_secs(1);
    let slow_down: latchkey_server::scenarios::ScenarioSpec =
        serde_json::from_value(serde_json::json!({
            "endpoint": "token",
            "client_id": DEVICE,
            "grant_type": "device_code",
            "error": "slow_down",
            "times": 1,
        }))
        .unwrap();
    config.scenarios = vec![slow_down.validate(TENANT.parse().unwrap()).unwrap()];
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

/// The service, with its secret and a quick retry policy.
pub fn client(world: &World, configure: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut config = ClientConfig::new(SERVICE);
    config.authority = Some(world.authority.clone());
    config.credentials = Credentials {
        client_secret: Some(SECRET.into()),
        client_certificate: None,
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

/// Puts in `client`'s cache a token of Frank's for the files API with the
/// scope `user_impersonation` alone, straight from the token endpoint.
pub async fn holds_only_user_impersonation(client: &Client, world: &World) {
    let token = client
        .password(
            &world.authority,
            FILES,
            "frank@contoso.example",
            "frank-password",
            Some("user_impersonation"),
        )
        .await
        .unwrap();
    client.remember(&world.authority, FILES, &token);
}
