//! Server settings, already validated (the CLI parses flags into this).

use std::time::Duration;

pub use latchkey_protocol::Profile;

#[derive(Clone)]
pub struct ServerConfig {
    /// The base URL issuers, endpoints and `authorization_uri` use, without
    /// a trailing slash (e.g. `http://127.0.0.1:8080`).
    pub public_url: String,
    /// The description profile of tenants that set none.
    pub profile: Profile,
    /// Requests served at once; past it, 503 `temporarily_unavailable`.
    pub max_in_flight: usize,
    /// The largest token request body read.
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive, counted from the end of
    /// its headers…
    pub body_read_timeout: Duration,
    /// …plus one second for every this many bytes that arrived (a minimum
    /// rate; 0 for none).
    pub body_min_rate: u64,
    pub access_token_lifetime: Duration,
    /// The sliding lifetime: each refresh token lives this long from its
    /// issue…
    pub refresh_token_lifetime: Duration,
    /// …but no token of a sign-in's family outlives the sign-in by more
    /// than this (Azure AD's default: 90 days).
    pub refresh_family_lifetime: Duration,
    /// The absolute lifetime of a single-page application's refresh-token
    /// family (Azure AD: 24 hours, fixed): refreshing never extends it.
    pub spa_refresh_lifetime: Duration,
    /// Password hashes (Argon2id, 19 MiB each) computed at once, whatever
    /// the load: what bounds the memory unauthenticated requests can use.
    pub max_concurrent_password_hashes: usize,
    /// Password checks one client IP address may start: a burst of this
    /// many…
    pub password_checks_per_ip_burst: u32,
    /// …then one every this long.
    pub password_check_interval_per_ip: Duration,
    /// How long an authorization code can be redeemed (at most 10 minutes).
    pub code_lifetime: Duration,
    /// How long a browser stays signed in.
    pub session_lifetime: Duration,
    /// How long a device code and its user code live (Azure AD: 15 minutes).
    pub device_code_lifetime: Duration,
    /// The seconds a device waits between polls (`interval`; Azure AD: 5).
    pub device_code_interval: Duration,
    /// User codes one client IP address may look up at the device login
    /// page: a burst of this many (each page of one sign-in is one)…
    pub user_code_lookups_per_ip_burst: u32,
    /// …then one every this long: guessing a user code is throttled.
    pub user_code_lookup_interval_per_ip: Duration,
    /// The admin API's key; without one the admin API does not exist.
    pub admin_key: Option<String>,
    /// Error scenarios in force at start, by tenant (from the directory file).
    pub scenarios: Vec<crate::scenarios::Scenario>,
    /// Seeds the draws of scenarios with a `probability`, for reproducible runs.
    pub scenario_seed: Option<u64>,
    /// How often the signing keys are read again from the store: a key
    /// another process added (`latchkey keys rotate`) is published within
    /// this time. Rotate with an activation delay longer than this.
    pub key_reload_interval: Duration,
    /// What every request reads the time from, once.
    pub clock: crate::Clock,
    /// Whether and how long the sign-in log keeps its records.
    pub sign_in_log: crate::sign_in_log::SignInLogConfig,
}

impl ServerConfig {
    pub fn new(public_url: impl Into<String>) -> ServerConfig {
        let public_url: String = public_url.into();
        ServerConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            profile: Profile::Azure,
            max_in_flight: 1024,
            max_body_bytes: 64 * 1024,
            body_read_timeout: Duration::from_secs(10),
            body_min_rate: 1024,
            access_token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(14 * 24 * 3600),
            refresh_family_lifetime: Duration::from_secs(90 * 24 * 3600),
            spa_refresh_lifetime: Duration::from_secs(24 * 3600),
            max_concurrent_password_hashes: std::thread::available_parallelism()
                .map_or(2, |n| n.get().max(2)),
            password_checks_per_ip_burst: 30,
            password_check_interval_per_ip: Duration::from_millis(100),
            code_lifetime: Duration::from_secs(600),
            session_lifetime: Duration::from_secs(8 * 3600),
            device_code_lifetime: Duration::from_secs(900),
            device_code_interval: Duration::from_secs(5),
            user_code_lookups_per_ip_burst: 20,
            user_code_lookup_interval_per_ip: Duration::from_secs(3),
            admin_key: None,
            scenarios: Vec::new(),
            scenario_seed: None,
            key_reload_interval: Duration::from_secs(60),
            clock: crate::Clock::system(),
            sign_in_log: crate::sign_in_log::SignInLogConfig::default(),
        }
    }
}

impl ServerConfig {
    /// How long a superseded signing key stays published: until every
    /// token it signed has expired, counting a replica that signed with it
    /// until its next reload, and a resource server's clock leeway.
    pub fn retirement_grace(&self) -> i64 {
        (self.access_token_lifetime + self.key_reload_interval).as_secs() as i64 + 60
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("public_url", &self.public_url)
            .field("profile", &self.profile)
            .field("max_in_flight", &self.max_in_flight)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "redacted"))
            .field("scenarios", &self.scenarios.len())
            .finish_non_exhaustive()
    }
}
