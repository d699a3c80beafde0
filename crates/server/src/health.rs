//! `/health/live` and `/health/ready`, for load balancers and
//! orchestrators, on the main listener.
//!
//! Live: the process answers (no store, no keys: a process that answers
//! at all is alive; restarting it would not bring the database back).
//! Ready: it can serve tokens: the store answers a `SELECT 1` within
//! [`STORE_TIMEOUT`], a key signs now for every algorithm a tenant uses,
//! and the directory has a tenant. 503 with what is missing otherwise.
//!
//! Both are cheap to poll every second: neither takes an overload permit
//! (a replica that sheds load stays in rotation; pulling it would move its
//! load onto the others), and the store check is one at a time, its result
//! shared by the polls that arrive while it runs and for [`FRESH`] after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::state::AppState;
use crate::store::Store;

pub const LIVE_PATH: &str = "/health/live";
pub const READY_PATH: &str = "/health/ready";

/// How long the store gets to answer before it counts as unreachable.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a store check's result answers later polls.
const FRESH: Duration = Duration::from_millis(250);

/// The last store check, one at a time.
#[derive(Default)]
pub struct StoreProbe {
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl StoreProbe {
    /// Whether the store answers: a fresh result if one is, else a new
    /// check (those waiting meanwhile get its result).
    async fn check(&self, store: &dyn Store) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, result)) = &*last
            && at.elapsed() < FRESH
        {
            return result.clone();
        }
        let result = match tokio::time::timeout(STORE_TIMEOUT, store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(format!("unreachable: {err}")),
            Err(_) => Err(format!(
                "unreachable: no answer within {} ms",
                STORE_TIMEOUT.as_millis()
            )),
        };
        *last = Some((Instant::now(), result.clone()));
        result
    }
}

#[derive(Debug, Serialize)]
struct Readiness {
    /// `ready` or `not ready`.
    status: &'static str,
    /// What is missing: `store`, `keys`, `directory`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    missing: Vec<&'static str>,
    /// Each check: `ok`, or what is wrong.
    checks: Checks,
}

#[derive(Debug, Serialize)]
struct Checks {
    store: String,
    keys: String,
    directory: String,
}

/// `GET /health/live`.
pub async fn live() -> Response {
    no_store(
        StatusCode::OK,
        Json(serde_json::json!({ "status": "live" })).into_response(),
    )
}

/// `GET /health/ready`.
pub async fn ready(State(state): State<Arc<AppState>>, probe: Arc<StoreProbe>) -> Response {
    let store = probe.check(&*state.store).await;
    let keys = keys_loaded(&state);
    let directory = if state.directory.tenants().next().is_some() {
        Ok(())
    } else {
        Err("no tenant loaded".to_owned())
    };
    let missing: Vec<&'static str> = [
        ("store", &store),
        ("keys", &keys),
        ("directory", &directory),
    ]
    .into_iter()
    .filter(|(_, result)| result.is_err())
    .map(|(name, _)| name)
    .collect();
    let said = |result: Result<(), String>| result.err().unwrap_or_else(|| "ok".to_owned());
    let status = if missing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if missing.is_empty() {
            "ready"
        } else {
            "not ready"
        },
        missing,
        checks: Checks {
            store: said(store),
            keys: said(keys),
            directory: said(directory),
        },
    };
    no_store(status, Json(body).into_response())
}

/// A key signs now for every algorithm the tenants sign with.
fn keys_loaded(state: &AppState) -> Result<(), String> {
    let missing: Vec<String> = state
        .signing_algs()
        .into_iter()
        .filter(|alg| state.signing_key(*alg).is_err())
        .map(|alg| alg.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("no key signs {} now", missing.join(", ")))
    }
}

fn no_store(status: StatusCode, mut response: Response) -> Response {
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
