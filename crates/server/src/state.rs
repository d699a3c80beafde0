//! What every handler shares.

use std::sync::{Arc, RwLock};

use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::config::ServerConfig;
use crate::directory::Directory;
use crate::keys::{KeyError, KeyRing, SigningKey};
use crate::scenarios::Scenarios;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("scenario for tenant {tenant}: {problem}")]
    Scenario { tenant: uuid::Uuid, problem: String },
}

pub struct AppState {
    pub config: ServerConfig,
    pub store: Arc<dyn Store>,
    pub directory: Directory,
    /// Every signing key in the store, read again every
    /// `key_reload_interval` (see `KeyRing` for which signs when).
    keys: RwLock<Arc<KeyRing>>,
    pub in_flight: Arc<Semaphore>,
    pub scenarios: Scenarios,
}

impl AppState {
    /// Loads the directory view and the signing keys, making a key on first start.
    pub async fn load(config: ServerConfig, store: Arc<dyn Store>) -> Result<AppState, StartError> {
        let directory = Directory::new(store.load_directory().await?);
        let mut stored = store.signing_keys().await?;
        if stored.is_empty() {
            let fresh =
                tokio::task::spawn_blocking(|| SigningKey::generate(OffsetDateTime::now_utc()))
                    .await
                    .map_err(|_| KeyError::Generate)??;
            store.insert_signing_key(&fresh).await?;
            // Another replica may have raced us: the store's keys decide.
            stored = store.signing_keys().await?;
        }
        let keys = RwLock::new(Arc::new(KeyRing::load(&stored, None)?));
        let scenarios = Scenarios::new(config.scenario_seed);
        for (tenant, spec) in &config.scenarios {
            scenarios
                .add(*tenant, spec.clone())
                .map_err(|problem| StartError::Scenario {
                    tenant: *tenant,
                    problem,
                })?;
        }
        Ok(AppState {
            scenarios,
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
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

    /// The key that signs now.
    pub fn signing_key(&self) -> Arc<SigningKey> {
        self.ring()
            .signing(OffsetDateTime::now_utc().unix_timestamp())
    }

    /// The keys the JWKS names now.
    pub fn published_keys(&self) -> Vec<Arc<SigningKey>> {
        self.ring().published(
            OffsetDateTime::now_utc().unix_timestamp(),
            self.retirement_grace(),
        )
    }

    /// How long a superseded key stays published: until every token it
    /// signed has expired, counting a replica that signed with it until its
    /// next reload, and a resource server's clock leeway.
    fn retirement_grace(&self) -> i64 {
        let config = &self.config;
        (config.access_token_lifetime + config.key_reload_interval).as_secs() as i64 + 60
    }

    /// Reads the signing keys from the store again (keys another process
    /// added). On failure the keys held stay in use.
    pub async fn reload_keys(&self) -> Result<(), StartError> {
        let stored = self.store.signing_keys().await?;
        let current = self.ring();
        if stored.len() == current.len() && stored.iter().all(|k| current.contains(&k.kid)) {
            return Ok(());
        }
        let ring = Arc::new(KeyRing::load(&stored, Some(&current))?);
        tracing::info!(keys = ring.len(), "signing keys reloaded");
        match self.keys.write() {
            Ok(mut guard) => *guard = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }

    /// Reloads the keys every `key_reload_interval` until the state is dropped.
    pub fn spawn_key_reload(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let interval = self.config.key_reload_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(state) = weak.upgrade() else {
                    return;
                };
                if let Err(err) = state.reload_keys().await {
                    tracing::error!(error = %err, "reloading the signing keys failed");
                }
            }
        });
    }

    pub fn issuer(&self, tenant: uuid::Uuid) -> String {
        format!("{}/{}/", self.config.public_url, tenant)
    }

    /// The v2.0 endpoints' issuer: `{public-url}/{tenant-id}/v2.0`.
    pub fn issuer_v2(&self, tenant: uuid::Uuid) -> String {
        format!("{}/{}/v2.0", self.config.public_url, tenant)
    }
}
