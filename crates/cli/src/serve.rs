//! `latchkey serve`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use latchkey_server::directory::{DemoCredentials, demo_directory, load_directory_file};

use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::connections::ConnectionLimits;
use crate::head_refusals::RefusalStyle;
use crate::store_args::StoreArgs;

use latchkey_server::managed_identity::ManagedIdentityConfig;
use latchkey_server::{Profile, ServerConfig};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A directory file (TOML); without it, a built-in demo tenant.
    #[arg(long)]
    directory: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    store: StoreArgs,
    /// How error descriptions are written: `azure` (the seeds) or `strict` (RFC 6749 §5.2).
    #[arg(long, default_value = "azure")]
    profile: Profile,
    /// The base URL clients see (issuer, endpoints), when behind a proxy.
    #[arg(long)]
    public_url: Option<String>,
    /// Requests served at once before answering 503 temporarily_unavailable
    /// (a request counts once it has fully arrived).
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
    /// Connections open at once; past it, new ones wait in the listen
    /// backlog (the open-file limit is raised to fit, up to its maximum).
    #[arg(long, default_value_t = 8192)]
    max_connections: usize,
    /// Seconds a connection gets to send a whole request head, counted from
    /// when the server is ready for it (accepted, or its last response
    /// sent); also the TLS handshake's limit.
    #[arg(long, default_value_t = 10)]
    header_read_timeout: u64,
    /// Seconds a request body gets to arrive, from the end of its head…
    #[arg(long, default_value_t = 10)]
    body_read_timeout: u64,
    /// …plus a second for every this many bytes that arrived (a minimum
    /// rate; 0 for none).
    #[arg(long, default_value_t = 1024)]
    body_min_rate: u64,
    /// Seconds a connection may stay open with no request in progress.
    #[arg(long, default_value_t = 5)]
    keep_alive_timeout: u64,
    /// Access token lifetime, in seconds.
    #[arg(long, default_value_t = 3600)]
    access_token_lifetime: u64,
    /// Seconds between reads of the signing keys from the store (a key
    /// `keys rotate` added is published within this time).
    #[arg(long, default_value_t = 60)]
    key_reload_interval: u64,
    /// Refresh token lifetime, in seconds (sliding: each refresh token lives
    /// this long from its issue).
    #[arg(long, default_value_t = 14 * 24 * 3600)]
    refresh_token_lifetime: u64,
    /// The absolute lifetime of a sign-in's refresh tokens, in seconds: none
    /// outlives its sign-in by more, however often refreshed.
    #[arg(long, default_value_t = 90 * 24 * 3600)]
    refresh_family_lifetime: u64,
    /// How long a device code (and the user code typed at /devicelogin)
    /// lives, in seconds.
    #[arg(long, default_value_t = 900)]
    device_code_lifetime: u64,
    /// The `interval` a device is told to wait between polls, in seconds;
    /// polling sooner is answered `slow_down`.
    #[arg(long, default_value_t = 5)]
    device_code_interval: u64,
    /// Password hashes (Argon2id, 19 MiB each) computed at once; 0: one per
    /// core, at least 2. Bounds the memory unauthenticated sign-ins can take.
    #[arg(long, default_value_t = 0)]
    max_password_hashes: usize,
    /// Password checks a client IP address may start at once before it is
    /// held to one every 100 ms (503 with Retry-After past it).
    #[arg(long, default_value_t = 30)]
    password_burst_per_ip: u32,
    /// Turns the admin API (/_admin/scenarios) on, answering to this key.
    /// Prefer the environment variable LATCHKEY_ADMIN_KEY: a flag's value
    /// is visible to every local user in the process list (`ps`).
    #[arg(long, env = "LATCHKEY_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Seeds the draws of scenarios with a probability, for reproducible runs.
    #[arg(long)]
    scenario_seed: Option<u64>,
    /// Days the sign-in log keeps a record (Azure AD: 30).
    #[arg(long, default_value_t = 30)]
    sign_in_log_days: u64,
    /// Records the sign-in log keeps at most, the newest.
    #[arg(long, default_value_t = 1_000_000)]
    sign_in_log_max_rows: u64,
    /// Keep no sign-in log (records already kept are still pruned).
    #[arg(long)]
    no_sign_in_log: bool,
    /// Serve https with this certificate chain (PEM)…
    #[arg(long, requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// …and this private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve https with a local CA and certificate made once in DATA/tls;
    /// clients trust DATA/tls/ca.pem.
    #[arg(long)]
    tls_self_signed: bool,
    /// Serve the managed identity endpoints (App Service and IMDS
    /// protocols) on this address: a listener of their own, plain http,
    /// meant for loopback. Off without it.
    #[arg(long)]
    managed_identity_listen: Option<SocketAddr>,
    /// The tenant (id or domain) whose managed identities they serve;
    /// needed when the directory has more than one tenant.
    #[arg(long, requires = "managed_identity_listen")]
    managed_identity_tenant: Option<String>,
    /// The App Service protocol's secret (an app's IDENTITY_HEADER);
    /// without it, one made once and kept in DATA/managed-identity-secret.
    /// Prefer LATCHKEY_MANAGED_IDENTITY_SECRET: a flag shows in `ps`.
    #[arg(long, env = "LATCHKEY_MANAGED_IDENTITY_SECRET", hide_env_values = true)]
    managed_identity_secret: Option<String>,
    /// Serve Prometheus metrics at /metrics on this address: a listener
    /// of its own, plain http (the main listener never serves them). Off
    /// without it.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let (store, store_label) = args.store.open().await?;
    let mut scenarios = Vec::new();
    let demo = match &args.directory {
        Some(path) => {
            let file = load_directory_file(path)?;
            scenarios = file.scenarios;
            store
                .apply_directory(&file.directory)
                .await
                .context("loading the directory file into the store")?;
            None
        }
        None => {
            let (data, credentials) = demo_directory()?;
            store
                .apply_directory(&data)
                .await
                .context("loading the demo tenant into the store")?;
            Some(credentials)
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let mi_listener =
        match args.managed_identity_listen {
            Some(address) => Some(tokio::net::TcpListener::bind(address).await.with_context(
                || format!("cannot listen on {address} (--managed-identity-listen)"),
            )?),
            None => None,
        };
    let metrics_listener = match args.metrics_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (--metrics-listen)"))?,
        ),
        None => None,
    };
    // Before the router: recording is on from its first request.
    let metrics = match metrics_listener {
        Some(listener) => Some((listener, crate::metrics_listener::install()?)),
        None => None,
    };
    // Without --public-url, the address actually bound (port 0 picks one).
    let tls = match (&args.tls_cert, &args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), _) => Some(crate::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            ca: None,
        }),
        (_, _, true) => Some(crate::tls::self_signed(&args.store.data, local.ip())?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| base_url(scheme, local));
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        bail!("--public-url must start with http:// or https://");
    }
    let mut config = ServerConfig::new(public_url);
    config.profile = args.profile;
    config.max_in_flight = args.max_in_flight;
    config.body_read_timeout = Duration::from_secs(args.body_read_timeout.max(1));
    config.body_min_rate = args.body_min_rate;
    config.access_token_lifetime = Duration::from_secs(args.access_token_lifetime);
    config.refresh_token_lifetime = Duration::from_secs(args.refresh_token_lifetime);
    config.refresh_family_lifetime = Duration::from_secs(args.refresh_family_lifetime);
    config.device_code_lifetime = Duration::from_secs(args.device_code_lifetime.max(1));
    config.device_code_interval = Duration::from_secs(args.device_code_interval.max(1));
    if args.max_password_hashes > 0 {
        config.max_concurrent_password_hashes = args.max_password_hashes;
    }
    config.password_checks_per_ip_burst = args.password_burst_per_ip.max(1);
    config.key_reload_interval = Duration::from_secs(args.key_reload_interval.max(1));
    if args.admin_key.as_deref().is_some_and(|k| k.len() < 16) {
        bail!("--admin-key needs at least 16 characters");
    }
    config.admin_key = args.admin_key.clone();
    config.scenarios = scenarios;
    config.scenario_seed = args.scenario_seed;
    config.sign_in_log.enabled = !args.no_sign_in_log;
    config.sign_in_log.retention = Duration::from_secs(args.sign_in_log_days.max(1) * 86_400);
    config.sign_in_log.max_rows = args.sign_in_log_max_rows.max(1);
    let public_url = config.public_url.clone();
    let (router, managed_identity) = match mi_listener {
        Some(mi_listener) => {
            let secret = crate::managed_identity::secret(
                &args.store.data,
                args.managed_identity_secret.as_deref(),
            )?;
            let mi_config = ManagedIdentityConfig {
                tenant: args.managed_identity_tenant.clone(),
                secret: secret.clone(),
            };
            let (router, endpoints) =
                latchkey_server::router_with_managed_identity(config, store, &mi_config).await?;
            (router, Some((mi_listener, endpoints, secret)))
        }
        None => (latchkey_server::router(config, store).await?, None),
    };
    crate::release_startup_heap();
    let shutdown = shutdown_signal();
    // Registered now too: a signal right after the lines below stops both.
    let mi_shutdown = shutdown_signal();
    say!(
        "Latchkey listening on {} (store: {store_label}, profile: {})",
        base_url(scheme, local),
        profile_name(args.profile)
    );
    if let Some(ca) = tls.as_ref().and_then(|t| t.ca.as_ref()) {
        say!("TLS: clients must trust the local CA at {}", ca.display());
    }
    if let Some((mi_listener, endpoints, secret)) = &managed_identity {
        crate::managed_identity::print_environment(mi_listener.local_addr()?, endpoints, secret);
    }
    if let Some((listener, _)) = &metrics {
        crate::metrics_listener::print_address(listener.local_addr()?);
    }
    if let Some(demo) = demo {
        print_demo(&public_url, &demo);
    }
    let limits = ConnectionLimits {
        max_connections: crate::connections::fit_open_files(args.max_connections.max(1)),
        header_read_timeout: Duration::from_secs(args.header_read_timeout.max(1)),
        keep_alive_timeout: Duration::from_secs(args.keep_alive_timeout.max(1)),
    };
    let hsts = tls.is_some() && sends_hsts(&public_url);
    let (router, acceptor) = match tls {
        None => (router, None),
        Some(files) if hsts => (with_hsts(router), Some(tls_acceptor(&files).await?)),
        Some(files) => (router, Some(tls_acceptor(&files).await?)),
    };
    let refusals = RefusalStyle {
        profile: args.profile,
        hsts: hsts.then_some(HSTS),
    };
    if let Some((listener, handle)) = metrics {
        let style = RefusalStyle {
            hsts: None,
            ..refusals.clone()
        };
        let router = crate::metrics_listener::router(handle);
        let stopped = shutdown_signal();
        tokio::spawn(async move {
            let served = crate::connections::serve(listener, router, None, limits, style, stopped);
            if let Err(err) = served.await {
                tracing::error!(error = %err, "serving the metrics failed");
            }
        });
    }
    let main = crate::connections::serve(
        listener,
        router,
        acceptor,
        limits,
        refusals.clone(),
        shutdown,
    );
    let Some((mi_listener, endpoints, _)) = managed_identity else {
        return main.await.context("serving");
    };
    // The managed identity endpoints: their own listener, plain http, the
    // same connection handling; never routes of the main listener.
    let mi_refusals = RefusalStyle {
        hsts: None,
        ..refusals
    };
    let mi = crate::connections::serve(
        mi_listener,
        endpoints.router,
        None,
        limits,
        mi_refusals,
        mi_shutdown,
    );
    tokio::try_join!(async { main.await.context("serving") }, async {
        mi.await.context("serving the managed identity endpoints")
    },)?;
    Ok(())
}

/// Over https, browsers are told to come back over https only (RFC 6797),
/// as Azure AD's `Strict-Transport-Security` does. Never over http, where
/// the header means nothing and a proxy in front decides.
/// Not for a loopback or IP-literal host: HSTS on `localhost` would pin
/// every `http://localhost:…` of the developer's browser to https for a
/// year, loopback redirect URIs (`http://localhost:5000/callback`) included,
/// and forbid clicking through a self-signed certificate.
fn sends_hsts(public_url: &str) -> bool {
    let Some(rest) = public_url.strip_prefix("https://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    !(host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok())
}

/// The `Strict-Transport-Security` value (a year, as Azure AD's).
const HSTS: &str = "max-age=31536000; includeSubDomains";

fn with_hsts(router: axum::Router) -> axum::Router {
    router.layer(SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    ))
}

fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Azure => "azure",
        Profile::Strict => "strict",
    }
}

/// The URL of `local`, without the scheme's default port: clients such as
/// MSAL build some URLs from the host alone, so `https://127.0.0.1:443`
/// must be spelled `https://127.0.0.1` to be the same authority.
fn base_url(scheme: &str, local: SocketAddr) -> String {
    match (scheme, local.port()) {
        ("https", 443) | ("http", 80) => match local.ip() {
            IpAddr::V4(ip) => format!("{scheme}://{ip}"),
            IpAddr::V6(ip) => format!("{scheme}://[{ip}]"),
        },
        _ => format!("{scheme}://{local}"),
    }
}

fn print_demo(public_url: &str, demo: &DemoCredentials) {
    say!();
    say!("Demo tenant {} ({})", demo.tenant_id, demo.domain);
    say!("  resource (API):       {}", demo.resource);
    say!("  confidential client:  {}", demo.client_id);
    say!(
        "  client secret:        {}   (new at every start)",
        demo.client_secret
    );
    say!("  public client:        {}", demo.public_client_id);
    say!(
        "  users:                {} and {} (needs a second factor)",
        demo.user,
        demo.mfa_user
    );
    say!(
        "  user password:        {}   (new at every start)",
        demo.user_password
    );
    say!();
    say!("Get a token:");
    say!(
        "  curl -s {public_url}/{}/oauth2/token -d grant_type=client_credentials -d client_id={} --data-urlencode 'client_secret={}' --data-urlencode 'resource={}'",
        demo.tenant_id,
        demo.client_id,
        demo.client_secret,
        demo.resource
    );
    say!();
    say!("Protect a demo API with it:");
    say!(
        "  latchkey demo-api --authority {public_url}/{} --resource-id {} --listen 127.0.0.1:8081",
        demo.tenant_id,
        demo.resource
    );
    say!();
}

/// The TLS side of the serve loop: rustls with the certificate and key.
async fn tls_acceptor(files: &crate::tls::TlsFiles) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    crate::tls::warn_if_readable_by_others(&files.key);
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .with_context(|| {
            format!(
                "cannot load the TLS certificate {} and key {}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    Ok(tokio_rustls::TlsAcceptor::from(config.get_inner()))
}

/// Resolves at the first Ctrl-C or SIGTERM. The handlers are registered
/// when this is called, not when the future is first polled: a signal
/// that comes right after the "listening" line (a supervisor stopping a
/// server it just saw start) must still shut down cleanly.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let (interrupt, terminate) = signals;
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_only_for_a_dns_name_over_https() {
        assert!(sends_hsts("https://login.contoso.example"));
        assert!(sends_hsts("https://login.contoso.example:8443/base"));
        for url in [
            "http://login.contoso.example",
            "https://localhost:8443",
            "https://LOCALHOST.",
            "https://app.localhost",
            "https://127.0.0.1:8443",
            "https://[::1]:8443",
            "https://10.0.0.5",
        ] {
            assert!(!sends_hsts(url), "{url}");
        }
    }

    #[test]
    fn the_default_port_is_left_out_of_the_base_url() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(base_url("https", at("127.0.0.1:443")), "https://127.0.0.1");
        assert_eq!(base_url("https", at("[::1]:443")), "https://[::1]");
        assert_eq!(base_url("http", at("127.0.0.1:80")), "http://127.0.0.1");
        assert_eq!(
            base_url("http", at("127.0.0.1:443")),
            "http://127.0.0.1:443"
        );
        assert_eq!(base_url("https", at("[::1]:8443")), "https://[::1]:8443");
    }
}
