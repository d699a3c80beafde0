//! What every handler shares.

use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;

use crate::config::ServerConfig;
use crate::directory::Directory;
use crate::issuer_keys::IssuerKeys;
use crate::keys::{KeyError, KeyRing, SigningAlg, SigningKey};
use crate::scenarios::Scenarios;
use crate::secrets::{MacKey, RngError, random_bytes};
use crate::sign_in::SignInLimits;
use crate::sign_in_log::SignInLog;
use crate::store::{Store, StoreError, StoredKey};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Rng(#[from] RngError),
    /// The managed identity endpoints' tenant is unknown, or not named
    /// while the directory has several.
    #[error("{0}")]
    ManagedIdentityTenant(String),
}

/// What a request sees: one consistent view of the directory, with the
/// keys, limits and scenarios every view shares.
pub struct AppState {
    pub config: ServerConfig,
    pub store: Arc<dyn Store>,
    /// The tenants, APIs and apps in the store when this view was made.
    pub directory: Directory,
    /// Every signing key in the store, read again every
    /// `key_reload_interval` (see `KeyRing` for which signs when).
    keys: Arc<RwLock<Arc<KeyRing>>>,
    pub in_flight: Arc<Semaphore>,
    pub scenarios: Arc<Scenarios>,
    /// The limits on password hashing (per client IP, and at once).
    pub sign_in_limits: Arc<SignInLimits>,
    /// Binds the pages' CSRF tokens to the browser's cookies.
    pub csrf_key: Arc<MacKey>,
    /// The keys of the external issuers apps trust, fetched on demand.
    pub issuer_keys: Arc<IssuerKeys>,
    /// The sign-in log's queue.
    pub sign_in_log: Arc<SignInLog>,
}

/// The router's state: the current view, replaced whole when the directory
/// in the store changes (another replica started with a new directory
/// file), so replicas agree again within `key_reload_interval`. Handlers
/// take `State<Arc<AppState>>` and get the view current when they started.
#[derive(Clone)]
pub struct Shared {
    current: Arc<RwLock<Arc<AppState>>>,
}

impl axum::extract::FromRef<Shared> for Arc<AppState> {
    fn from_ref(shared: &Shared) -> Arc<AppState> {
        shared.current()
    }
}

impl Shared {
    pub fn new(state: AppState) -> Shared {
        Shared {
            current: Arc::new(RwLock::new(Arc::new(state))),
        }
    }

    pub fn current(&self) -> Arc<AppState> {
        match self.current.read() {
            Ok(state) => state.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the keys and the directory from the store again; a view with
    /// the new directory replaces the current one if it changed.
    pub async fn reload(&self) -> Result<(), StartError> {
        let state = self.current();
        state.reload_keys().await?;
        state.forget_stale_sign_ins().await?;
        let directory = Directory::new(state.store.load_directory().await?);
        if directory == state.directory {
            return Ok(());
        }
        tracing::info!("the directory in the store changed: serving the new one");
        let next = Arc::new(AppState {
            config: state.config.clone(),
            store: state.store.clone(),
            directory,
            keys: state.keys.clone(),
            in_flight: state.in_flight.clone(),
            scenarios: state.scenarios.clone(),
            sign_in_limits: state.sign_in_limits.clone(),
            csrf_key: state.csrf_key.clone(),
            issuer_keys: state.issuer_keys.clone(),
            sign_in_log: state.sign_in_log.clone(),
        });
        // A tenant the new directory signs for with a kind of key the
        // store does not have yet (another process applied the file).
        if next
            .directory
            .tenants()
            .any(|t| !next.ring().has(t.signing_alg))
        {
            let stored = ensure_key_kinds(
                &*next.store,
                &next.config,
                &next.directory,
                next.store.signing_keys().await?,
            )
            .await?;
            next.replace_ring(&stored)?;
        }
        match self.current.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        Ok(())
    }

    /// Reloads every `key_reload_interval` until the router is dropped.
    pub fn spawn_reload(&self) {
        let weak = Arc::downgrade(&self.current);
        let interval = self.current().config.key_reload_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(current) = weak.upgrade() else {
                    return;
                };
                let reloaded = (Shared { current }).reload().await;
                crate::telemetry::reloaded(reloaded.is_ok());
                if let Err(err) = reloaded {
                    tracing::error!(error = %err, "reloading keys and directory from the store failed");
                }
            }
        });
    }
}

impl AppState {
    /// Loads the directory view and the signing keys, making a key on first start.
    pub async fn load(config: ServerConfig, store: Arc<dyn Store>) -> Result<AppState, StartError> {
        let directory = Directory::new(store.load_directory().await?);
        let stored =
            ensure_key_kinds(&*store, &config, &directory, store.signing_keys().await?).await?;
        let keys = Arc::new(RwLock::new(Arc::new(KeyRing::load(&stored, None)?)));
        let now = config.clock.now().unix_timestamp();
        let csrf_key = store.mac_key("csrf", &random_bytes(32)?, now).await?;
        let csrf_key = Arc::new(MacKey::new(&csrf_key));
        let scenarios = Arc::new(Scenarios::new(config.scenario_seed));
        for scenario in &config.scenarios {
            scenarios.add(scenario.clone());
        }
        Ok(AppState {
            scenarios,
            csrf_key,
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            sign_in_limits: Arc::new(SignInLimits::new(&config)),
            issuer_keys: Arc::new(IssuerKeys::new()),
            sign_in_log: Arc::new(SignInLog::start(store.clone(), &config.sign_in_log)),
            config,
            store,
            directory,
            keys,
        })
    }

    fn ring(&self) -> Arc<KeyRing> {
        match self.keys.read() {
            Ok(ring) => ring.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key of `alg`'s kind that signs now (a tenant's `signing_alg`).
    pub fn signing_key(&self, alg: SigningAlg) -> Result<Arc<SigningKey>, KeyError> {
        self.ring()
            .signing(self.config.clock.now().unix_timestamp(), alg)
            .ok_or(KeyError::Missing(alg))
    }

    /// The signing algorithms the directory's tenants use, RS256 first
    /// (`common`'s discovery lists them all).
    pub fn signing_algs(&self) -> Vec<SigningAlg> {
        let mut algs: Vec<SigningAlg> = std::iter::once(SigningAlg::Rs256)
            .chain(self.directory.tenants().map(|t| t.signing_alg))
            .collect();
        algs.sort();
        algs.dedup();
        algs
    }

    /// The keys the JWKS names now.
    pub fn published_keys(&self) -> Vec<Arc<SigningKey>> {
        self.ring().published(
            self.config.clock.now().unix_timestamp(),
            self.config.retirement_grace(),
        )
    }

    /// Forgets what no longer matters, so it cannot pile up: the sign-in
    /// failures of names idle for a day (that were not locked), the client
    /// addresses whose allowance is full, expired sessions, and device
    /// codes an hour after they expired (until then a late poll is told
    /// `expired_token`, not that the code is unknown), and spent client
    /// assertions once expired (a replay then fails on its `exp`), and the
    /// sign-in log's records past its retention (days, then rows).
    async fn forget_stale_sign_ins(&self) -> Result<(), StartError> {
        self.sign_in_limits.forget_idle();
        let now = self.config.clock.now().unix_timestamp();
        self.store.prune_sign_in_attempts(now - 86_400).await?;
        self.store.delete_expired_sessions(now).await?;
        self.store.delete_expired_device_codes(now - 3_600).await?;
        self.store.delete_expired_assertions(now).await?;
        let log = &self.config.sign_in_log;
        self.store
            .prune_sign_ins(now - log.retention.as_secs() as i64, log.max_rows)
            .await?;
        Ok(())
    }

    /// Reads the signing keys from the store again (keys another process
    /// added). On failure the keys held stay in use.
    async fn reload_keys(&self) -> Result<(), StartError> {
        let stored = self.store.signing_keys().await?;
        let current = self.ring();
        if stored.len() == current.len() && stored.iter().all(|k| current.contains(&k.kid)) {
            return Ok(());
        }
        self.replace_ring(&stored)
    }

    fn replace_ring(&self, stored: &[StoredKey]) -> Result<(), StartError> {
        let ring = Arc::new(KeyRing::load(stored, Some(&self.ring()))?);
        tracing::info!(keys = ring.len(), "signing keys reloaded");
        crate::telemetry::key_ring_replaced();
        match self.keys.write() {
            Ok(mut guard) => *guard = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }

    pub fn issuer(&self, tenant: uuid::Uuid) -> String {
        format!("{}/{}/", self.config.public_url, tenant)
    }

    /// The v2.0 endpoints' issuer: `{public-url}/{tenant-id}/v2.0`.
    pub fn issuer_v2(&self, tenant: uuid::Uuid) -> String {
        format!("{}/{}/v2.0", self.config.public_url, tenant)
    }
}

/// `stored`, with a key made for each kind missing from it that signs
/// something: RSA always (Azure AD's RS256 is every tenant's default and
/// `common`'s), P-256 when a tenant of `directory` signs with ES256. A made
/// key signs at once; when two replicas make one together, both are kept
/// and the ring's signing order picks the same one on each.
async fn ensure_key_kinds(
    store: &dyn Store,
    config: &ServerConfig,
    directory: &Directory,
    mut stored: Vec<StoredKey>,
) -> Result<Vec<StoredKey>, StartError> {
    let needed =
        std::iter::once(SigningAlg::Rs256).chain(directory.tenants().map(|t| t.signing_alg));
    let mut missing: Vec<SigningAlg> = needed
        .filter(|alg| !stored.iter().any(|k| k.alg == *alg))
        .collect();
    missing.sort();
    missing.dedup();
    for alg in missing {
        let fresh = {
            let now = config.clock.now();
            tokio::task::spawn_blocking(move || SigningKey::generate(now, alg))
        }
        .await
        .map_err(|_| KeyError::Generate)??;
        store.insert_signing_key(&fresh).await?;
        tracing::info!(kid = %fresh.kid, %alg, "signing key made");
        // Another replica may have raced us: the store's keys decide.
        stored = store.signing_keys().await?;
    }
    Ok(stored)
}
