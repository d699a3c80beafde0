//! `serve --metrics-listen`: the Prometheus recorder, installed for the
//! process (the `metrics` facade has one), and `GET /metrics` on a
//! listener of its own, rendered by the exporter's handle. The main
//! listener never serves it: a scrape tells who signs in how often.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The path scraped.
pub const PATH: &str = "/metrics";

/// The latency histograms' buckets, in seconds: a client-credentials
/// token takes well under a millisecond, a password check tens of them,
/// a store that stalls seconds.
const BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// How often the exporter's histograms are compacted between scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder for the process and turns the
/// server's recording on. Before the router is built, so that nothing
/// it does goes unrecorded.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .context("the metrics' histogram buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    latchkey_server::telemetry::enable();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP).await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The metrics listener's routes: `/metrics` only.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        PATH,
        get(move || {
            let handle = handle.clone();
            async move {
                let mut response = handle.render().into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                response
            }
        }),
    )
}

/// Says where to scrape (after the "listening" line, which tests parse).
pub fn print_address(local: SocketAddr) {
    say!("Metrics listening on http://{local}{PATH}");
}
