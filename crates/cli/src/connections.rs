//! The serve loop, for http and https alike: accept a connection while
//! fewer than `max_connections` are open, shake hands (TLS) within the
//! header timeout, then serve HTTP/1.1 (and HTTP/2 where TLS negotiates it)
//! with hyper, whose timer closes a connection that has not sent a whole
//! request head within `header_read_timeout`, counted from when the server
//! was ready for it (the connection accepted, or its last response sent).
//! A connection with no request in progress for `keep_alive_timeout` is
//! closed too. What hyper refuses before routing gets the JSON error
//! document all the same (`head_refusals`). Request bodies have their own limits in the router
//! (`latchkey_server`'s body reader), and a request takes an in-flight
//! permit only once it has fully arrived: slow or idle clients cost a
//! connection slot, never a permit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::head_refusals::{JsonRefusals, RefusalStyle};

/// The limits of the serve loop (`serve`'s flags).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
}

/// How long open requests get to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then lets the
/// open connections finish their requests (at most `SHUTDOWN_GRACE`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ConnectionLimits,
    refusals: RefusalStyle,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let refusals = Arc::new(refusals);
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    http.http2().timer(TokioTimer::new());
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A slot first, then accept: past the cap, new connections wait in
        // the kernel's backlog instead of costing a file descriptor here.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: the process is out of descriptors
                    // for now; accepting again at once would spin.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            http: http.clone(),
            router: router.clone(),
            peer,
            limits,
            refusals: refusals.clone(),
            stopping: stopping.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            connection.run(stream, tls).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: all slots back means
    // all connections closed.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
    Ok(())
}

struct Connection {
    http: auto::Builder<TokioExecutor>,
    router: Router,
    /// The client's address, for the per-address limits (`ConnectInfo`).
    peer: SocketAddr,
    limits: ConnectionLimits,
    refusals: Arc<RefusalStyle>,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<tokio_rustls::TlsAcceptor>) {
        match tls {
            None => self.serve(stream).await,
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                match tokio::time::timeout(self.limits.header_read_timeout, handshake).await {
                    Ok(Ok(stream)) => self.serve(stream).await,
                    Ok(Err(err)) => tracing::debug!(error = %err, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            }
        }
    }

    async fn serve<I>(mut self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::new());
        let router = self.router.clone();
        let counted = activity.clone();
        let peer = ConnectInfo(self.peer);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let router = router.clone();
            let busy = counted.enter();
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(peer);
            async move {
                let response = router.oneshot(request).await;
                drop(busy);
                response
            }
        });
        let io = JsonRefusals::new(io, self.refusals.clone());
        let connection = self.http.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let mut closing = false;
        loop {
            let idle_until = activity.idle_deadline(self.limits.keep_alive_timeout);
            tokio::select! {
                outcome = connection.as_mut() => {
                    if let Err(err) = outcome {
                        tracing::debug!(error = %err, "connection ended");
                    }
                    return;
                }
                changed = self.stopping.changed(), if !closing => {
                    if changed.is_err() || *self.stopping.borrow() {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
                () = sleep_until(idle_until), if !closing && idle_until.is_some() => {
                    if activity.idle_for(self.limits.keep_alive_timeout) {
                        // Closes now if between requests; a request head
                        // still arriving has the header timeout.
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Whether a connection has a request in progress, and since when it has
/// had none.
struct Activity {
    origin: Instant,
    busy: AtomicUsize,
    /// Milliseconds after `origin` when the last request ended.
    quiet_since: AtomicU64,
}

struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = activity.origin.elapsed().as_millis() as u64;
        activity.quiet_since.store(now, Ordering::Relaxed);
        activity.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Activity {
    fn new() -> Activity {
        Activity {
            origin: Instant::now(),
            busy: AtomicUsize::new(0),
            quiet_since: AtomicU64::new(0),
        }
    }

    fn enter(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    /// When the connection will have been idle for `limit`, if it is idle.
    fn idle_deadline(&self, limit: Duration) -> Option<Instant> {
        if self.busy.load(Ordering::Acquire) > 0 {
            // Looked at again after the request ends: poll once a second.
            return Some(Instant::now() + Duration::from_secs(1).min(limit));
        }
        let quiet = Duration::from_millis(self.quiet_since.load(Ordering::Relaxed));
        Some(self.origin + quiet + limit)
    }

    fn idle_for(&self, limit: Duration) -> bool {
        self.busy.load(Ordering::Acquire) == 0
            && self.origin.elapsed()
                >= Duration::from_millis(self.quiet_since.load(Ordering::Relaxed)) + limit
    }
}

/// Raises the soft limit on open files to what `max_connections` needs
/// (up to the hard limit), as a server with thousands of connections must;
/// returns the number of connections the limit allows.
pub fn fit_open_files(max_connections: usize) -> usize {
    // Descriptors besides connections: the store, logs, the listener.
    const RESERVE: u64 = 64;
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write `limit`.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return max_connections;
            }
            let wanted = (max_connections as u64).saturating_add(RESERVE);
            if limit.rlim_cur < wanted {
                let raised = libc::rlimit {
                    rlim_cur: wanted.min(limit.rlim_max),
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit.rlim_cur = raised.rlim_cur;
                }
            }
        }
        let allowed = limit.rlim_cur.saturating_sub(RESERVE).max(1);
        if (max_connections as u64) > allowed {
            tracing::warn!(
                max_connections,
                open_file_limit = limit.rlim_cur,
                allowed,
                "the open-file limit is below --max-connections; serving at most {allowed} connections (raise `ulimit -n`)"
            );
            return allowed as usize;
        }
        max_connections
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = RESERVE;
        max_connections
    }
}
