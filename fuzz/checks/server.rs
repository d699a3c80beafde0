//! The real router over a temporary SQLite store with the Contoso test
//! directory, built once per fuzzing process, and a way to send it one
//! request and read the whole answer.

use std::future::IntoFuture;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use latchkey_server::config::ServerConfig;
use latchkey_server::directory::parse_directory;
use latchkey_server::store::{DirectoryStore, SqliteStore};
use tower::ServiceExt;

const DIRECTORY: &str = include_str!("../../tests/fixtures/directory.toml");

pub struct Harness {
    pub runtime: tokio::runtime::Runtime,
    /// `http://127.0.0.1:PORT`, where the same router also listens (served
    /// while the runtime runs, that is inside `send` and `block_on`).
    pub base: String,
    router: Router,
    _dir: tempfile::TempDir,
}

pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (router, base) = runtime.block_on(async {
            let store = SqliteStore::open(&dir.path().join("fuzz.db"))
                .await
                .expect("the store");
            let directory = parse_directory(DIRECTORY).expect("the directory").directory;
            store.apply_directory(&directory).await.expect("applied");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let base = format!("http://{}", listener.local_addr().expect("an address"));
            let mut config = ServerConfig::new(base.clone());
            // A password check is an Argon2id hash: allow one an hour, so
            // that executions go to the parsers, not to hashing.
            config.password_checks_per_ip_burst = 1;
            config.password_check_interval_per_ip = std::time::Duration::from_secs(3600);
            let router = latchkey_server::router(config, Arc::new(store))
                .await
                .expect("the router");
            tokio::spawn(axum::serve(listener, router.clone()).into_future());
            (router, base)
        });
        Harness {
            runtime,
            base,
            router,
            _dir: dir,
        }
    })
}

impl Harness {
    /// The router's answer to `request`, with its whole body.
    pub fn send(&self, request: Request<Body>) -> (Response<()>, Vec<u8>) {
        self.runtime.block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .expect("a body that reads");
            (Response::from_parts(parts, ()), bytes.to_vec())
        })
    }
}

/// An error answer is the seed's document: its six fields, `error` first.
pub fn assert_error_document(body: &[u8]) {
    let doc: serde_json::Value = serde_json::from_slice(body).expect("a JSON error document");
    for field in [
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    ] {
        assert!(doc.get(field).is_some(), "no {field} in {doc}");
    }
}
