//! Metrics: what the server counts and times, through the `metrics`
//! facade. The binary installs a recorder (Prometheus, `serve
//! --metrics-listen`) and then calls [`enable`]; until then nothing here
//! records anything, so a server without metrics pays one relaxed load
//! per request. The recorder is process-global (the facade's), and so is
//! the switch. docs/observability.md lists every series.
//!
//! Label values are `&'static str` wherever the value set is closed (the
//! route patterns are interned once each), and each thread keeps the
//! handles it recorded through: a series is looked up in the recorder
//! (a hash of all its labels) once per thread, and after that recording
//! is an atomic add.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::Response;
use latchkey_protocol::{Aadsts, ConditionSpec, GrantType};
use metrics::{
    Counter, Gauge, Histogram, Unit, counter, describe_counter, describe_gauge, describe_histogram,
    histogram,
};

use crate::ProtocolError;

/// Requests answered, by `endpoint` (the matched route, `unmatched` for
/// none), `grant` (token requests), `status`, `error` (the OAuth error)
/// and `aadsts`.
pub const REQUESTS: &str = "latchkey_http_requests_total";
/// Seconds from the request's arrival at the router to its response, by
/// `endpoint`.
pub const REQUEST_DURATION: &str = "latchkey_http_request_duration_seconds";
/// Requests holding an overload permit now (`--max-in-flight`).
pub const IN_FLIGHT: &str = "latchkey_http_requests_in_flight";
/// Requests refused with 503 past `--max-in-flight`, by `endpoint`.
pub const OVERLOAD_REFUSALS: &str = "latchkey_http_overload_refusals_total";
/// Seconds a store call took, by `operation`.
pub const STORE_DURATION: &str = "latchkey_store_operation_duration_seconds";
/// Store calls that failed, by `operation`.
pub const STORE_ERRORS: &str = "latchkey_store_errors_total";
/// Tokens signed, by `alg`.
pub const SIGNATURES: &str = "latchkey_signatures_total";
/// Reads of the signing keys and directory from the store (every
/// `--key-reload-interval`), by `outcome` (`ok`, `failed`).
pub const KEY_RELOADS: &str = "latchkey_key_reloads_total";
/// Key rings loaded after a reload found the stored keys changed (a key
/// added by `keys rotate` or another replica).
pub const KEY_RING_REPLACEMENTS: &str = "latchkey_key_ring_replacements_total";
/// Sign-in log records written to the store.
pub const SIGN_IN_LOG_WRITTEN: &str = "latchkey_sign_in_log_records_written_total";
/// Sign-in log records dropped (under overload, or when the store failed).
pub const SIGN_IN_LOG_DROPPED: &str = "latchkey_sign_in_log_records_dropped_total";

/// The label `endpoint` takes for a path no route matched (never the
/// path itself: any caller could grow the series without bound).
pub const UNMATCHED: &str = "unmatched";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns recording on, describes every series and starts the unlabelled
/// counters at 0 (so a scrape shows them before the first event). Call
/// once a recorder is installed.
pub fn enable() {
    describe_counter!(
        REQUESTS,
        Unit::Count,
        "Requests answered, by endpoint (the matched route), grant, status, OAuth error and AADSTS number."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from a request's arrival at the router to its response, by endpoint."
    );
    describe_gauge!(
        IN_FLIGHT,
        Unit::Count,
        "Requests holding an overload permit (--max-in-flight) now."
    );
    describe_counter!(
        OVERLOAD_REFUSALS,
        Unit::Count,
        "Requests refused with 503 temporarily_unavailable past --max-in-flight, by endpoint."
    );
    describe_histogram!(
        STORE_DURATION,
        Unit::Seconds,
        "Time a store call took, by operation."
    );
    describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Store calls that failed, by operation."
    );
    describe_counter!(SIGNATURES, Unit::Count, "Tokens signed, by alg.");
    describe_counter!(
        KEY_RELOADS,
        Unit::Count,
        "Reads of the signing keys and directory from the store, by outcome (ok, failed)."
    );
    describe_counter!(
        KEY_RING_REPLACEMENTS,
        Unit::Count,
        "Key rings loaded because the stored signing keys changed."
    );
    describe_counter!(
        SIGN_IN_LOG_WRITTEN,
        Unit::Count,
        "Sign-in log records written to the store."
    );
    describe_counter!(
        SIGN_IN_LOG_DROPPED,
        Unit::Count,
        "Sign-in log records dropped: the queue was full (overload) or the store refused the batch."
    );
    metrics::gauge!(IN_FLIGHT).set(0.0);
    counter!(KEY_RING_REPLACEMENTS).absolute(0);
    counter!(SIGN_IN_LOG_WRITTEN).absolute(0);
    counter!(SIGN_IN_LOG_DROPPED).absolute(0);
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether a recorder is installed and recording is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The route pattern as a `&'static str`: each pattern is leaked once
/// (the routes are a fixed, small set), so labels never copy it. Each
/// thread keeps the patterns it met, so the shared set is locked only the
/// first time.
pub(crate) fn intern(route: &str) -> &'static str {
    thread_local! {
        static SEEN: RefCell<HashSet<&'static str>> = RefCell::new(HashSet::new());
    }
    if let Some(found) = SEEN.with(|seen| seen.borrow().get(route).copied()) {
        return found;
    }
    static ROUTES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut routes = match ROUTES.get_or_init(Default::default).lock() {
        Ok(routes) => routes,
        Err(poisoned) => poisoned.into_inner(),
    };
    let interned = match routes.get(route) {
        Some(found) => *found,
        None => {
            let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
            routes.insert(leaked);
            leaked
        }
    };
    SEEN.with(|seen| seen.borrow_mut().insert(interned));
    interned
}

/// The handles a thread has recorded through, by what tells their series
/// apart: a handle is looked up in the recorder (a hash of every label)
/// once per thread and series, then only incremented.
#[derive(Default)]
struct Handles {
    requests: HashMap<RequestSeries, (Counter, Histogram)>,
    /// By operation (its address).
    store: HashMap<usize, (Histogram, Counter)>,
    /// By alg (its address).
    signatures: HashMap<usize, Counter>,
    in_flight: Option<Gauge>,
}

/// What tells a request's series apart, cheaply: the endpoint (its
/// interned address), grant, status and the refusal's row (its address;
/// 0 for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RequestSeries {
    endpoint: usize,
    grant: Option<GrantType>,
    status: u16,
    refused: usize,
}

thread_local! {
    static HANDLES: RefCell<Handles> = RefCell::new(Handles::default());
}

fn with_handles<T>(f: impl FnOnce(&mut Handles) -> T) -> T {
    HANDLES.with(|handles| f(&mut handles.borrow_mut()))
}

/// A response extension: the condition an answer that is not a JSON
/// error document refused with (the authorization endpoint's redirect or
/// error page), for the `error` and `aadsts` labels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused(pub &'static ConditionSpec);

/// One answered request: its count and its latency.
pub(crate) fn request(response: &Response, endpoint: &'static str, elapsed: Duration) {
    let grant = response.extensions().get::<GrantType>().copied();
    let refused = match response.extensions().get::<ProtocolError>() {
        Some(error) => Some(error.condition().spec()),
        None => response.extensions().get::<Refused>().map(|r| r.0),
    };
    let status = response.status();
    let key = RequestSeries {
        endpoint: endpoint.as_ptr() as usize,
        grant,
        status: status.as_u16(),
        refused: refused.map_or(0, |row| std::ptr::from_ref(row) as usize),
    };
    with_handles(|handles| {
        let (count, latency) = handles.requests.entry(key).or_insert_with(|| {
            let (error, aadsts) = match refused {
                Some(row) => (row.code.spec().wire, number_label(row.number)),
                None => ("", ""),
            };
            let count = counter!(
                REQUESTS,
                "endpoint" => endpoint,
                "grant" => grant.map(GrantType::as_str).unwrap_or_default(),
                "status" => status_label(status),
                "error" => error,
                "aadsts" => aadsts,
            );
            (count, histogram!(REQUEST_DURATION, "endpoint" => endpoint))
        });
        count.increment(1);
        latency.record(elapsed.as_secs_f64());
    });
}

/// A request refused past the in-flight limit.
pub(crate) fn overload_refused(endpoint: &'static str) {
    if enabled() {
        counter!(OVERLOAD_REFUSALS, "endpoint" => endpoint).increment(1);
    }
}

/// Counts a request in flight while it lives.
pub(crate) struct InFlight(bool);

impl InFlight {
    pub(crate) fn start() -> InFlight {
        let on = enabled();
        if on {
            in_flight(1.0);
        }
        InFlight(on)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0 {
            in_flight(-1.0);
        }
    }
}

fn in_flight(change: f64) {
    with_handles(|handles| {
        handles
            .in_flight
            .get_or_insert_with(|| metrics::gauge!(IN_FLIGHT))
            .increment(change);
    });
}

/// Awaits the store call `call`, timing it as `operation`.
pub(crate) async fn store<T, E>(
    operation: &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    if !enabled() {
        return call.await;
    }
    let started = Instant::now();
    let result = call.await;
    let elapsed = started.elapsed().as_secs_f64();
    let failed = result.is_err();
    with_handles(|handles| {
        let (latency, errors) = handles
            .store
            .entry(operation.as_ptr() as usize)
            .or_insert_with(|| {
                (
                    histogram!(STORE_DURATION, "operation" => operation),
                    counter!(STORE_ERRORS, "operation" => operation),
                )
            });
        latency.record(elapsed);
        if failed {
            errors.increment(1);
        }
    });
    result
}

/// A token signed with `alg`.
pub(crate) fn signed(alg: &'static str) {
    if enabled() {
        with_handles(|handles| {
            handles
                .signatures
                .entry(alg.as_ptr() as usize)
                .or_insert_with(|| counter!(SIGNATURES, "alg" => alg))
                .increment(1);
        });
    }
}

/// A reload of the keys and directory, and whether it worked.
pub(crate) fn reloaded(ok: bool) {
    if enabled() {
        let outcome = if ok { "ok" } else { "failed" };
        counter!(KEY_RELOADS, "outcome" => outcome).increment(1);
    }
}

/// A new key ring loaded.
pub(crate) fn key_ring_replaced() {
    if enabled() {
        counter!(KEY_RING_REPLACEMENTS).increment(1);
    }
}

/// The status as a label, without allocating for the statuses Latchkey
/// answers with.
fn status_label(status: StatusCode) -> metrics::SharedString {
    let known = match status.as_u16() {
        200 => "200",
        204 => "204",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        414 => "414",
        415 => "415",
        429 => "429",
        431 => "431",
        500 => "500",
        502 => "502",
        503 => "503",
        other => return metrics::SharedString::from(other.to_string()),
    };
    metrics::SharedString::const_str(known)
}

/// An AADSTS number as a label: each number of the
/// catalogue spelled once, at first use.
fn number_label(number: u32) -> &'static str {
    static NUMBERS: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();
    let numbers = NUMBERS.get_or_init(|| {
        let mut numbers: Vec<u32> = Aadsts::CATALOGUE.iter().map(|row| row.number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        numbers
            .into_iter()
            .map(|n| (n, &*Box::leak(n.to_string().into_boxed_str())))
            .collect()
    });
    numbers
        .binary_search_by_key(&number, |(n, _)| *n)
        .map(|i| numbers[i].1)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_interned_once() {
        let a = intern("/{tenant}/oauth2/token");
        let b = intern(&String::from("/{tenant}/oauth2/token"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "/{tenant}/oauth2/token");
    }

    #[test]
    fn labels_of_numbers_and_statuses() {
        let number = Aadsts::ServerError.number();
        assert_eq!(number_label(number), number.to_string());
        assert_eq!(number_label(1), "");
        assert_eq!(status_label(StatusCode::OK).as_ref(), "200");
        assert_eq!(status_label(StatusCode::IM_A_TEAPOT).as_ref(), "418");
    }
}
