//! `/health/live` and `/health/ready`: ready turns 503 when PostgreSQL is
//! out of reach and 200 when it is back. PostgreSQL itself is never
//! stopped: the server reaches it through a loopback TCP proxy that the
//! test cuts and restores.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use latchkey_server::store::{PostgresStore, Store};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::harness::TestServer;
use crate::postgres;

#[tokio::test]
async fn live_and_ready_answer_on_the_main_listener() {
    let server = TestServer::start().await;
    let (status, body) = server.get_json("/health/live").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "live"}));
    let response = server
        .http
        .get(format!("{}/health/ready", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ready", "checks": {"store": "ok", "keys": "ok", "directory": "ok"}})
    );
}

/// A loopback TCP proxy to `upstream` that the test can cut (every
/// connection closed, new ones closed at once) and restore.
struct Proxy {
    address: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<tokio::sync::Mutex<JoinSet<()>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
        let accept = tokio::spawn({
            let open = open.clone();
            let connections = connections.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    connections.lock().await.spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
            }
        });
        Proxy {
            address,
            open,
            connections,
            accept,
        }
    }

    /// Closes every connection and refuses new ones.
    async fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.connections.lock().await.abort_all();
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Polls `/health/ready` until it answers `status`, or fails after `within`.
async fn ready_becomes(server: &TestServer, status: u16, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let response = server
            .http
            .get(format!("{}/health/ready", server.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap();
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if got == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/health/ready did not turn {status} within {within:?}: {got} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn ready_turns_503_when_postgres_is_out_of_reach_and_200_when_it_is_back() {
    let Some(schema) = postgres::fresh_schema("health").await else {
        return;
    };
    let test = async {
        let direct = PgConnectOptions::from_str(&schema.url_with_search_path()).unwrap();
        let upstream = tokio::net::lookup_host((direct.get_host(), direct.get_port()))
            .await
            .unwrap()
            .next()
            .unwrap();
        let proxy = Proxy::start(upstream).await;
        let through_proxy = direct.clone().host("127.0.0.1").port(proxy.address.port());
        let store = PostgresStore::connect(through_proxy, 4).await.unwrap();
        let server = TestServer::start_on(Arc::new(store) as Arc<dyn Store>).await;

        let body = ready_becomes(&server, 200, Duration::from_secs(5)).await;
        assert_eq!(body["checks"]["store"], "ok");

        proxy.cut().await;
        let started = Instant::now();
        let body = ready_becomes(&server, 503, Duration::from_secs(10)).await;
        assert_eq!(body["status"], "not ready");
        assert_eq!(body["missing"], json!(["store"]));
        assert!(
            body["checks"]["store"]
                .as_str()
                .unwrap()
                .starts_with("unreachable: "),
            "{body}"
        );
        assert_eq!(body["checks"]["keys"], "ok");
        assert_eq!(body["checks"]["directory"], "ok");
        // The answer is bounded by the store check's timeout, never the
        // pool's.
        let response = server
            .http
            .get(format!("{}/health/ready", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert!(started.elapsed() < Duration::from_secs(10));
        // Live does not look at the store.
        let (status, _) = server.get_json("/health/live").await;
        assert_eq!(status, 200);

        proxy.restore();
        let body = ready_becomes(&server, 200, Duration::from_secs(20)).await;
        assert_eq!(body["checks"]["store"], "ok");
    };
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("the health test finished within a minute");
    schema.drop_schema().await;
}
