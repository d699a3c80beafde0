//! What every handler shares.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::config::ServerConfig;
use crate::directory::Directory;
use crate::keys::{KeyError, SigningKey};
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
    /// The key new tokens are signed with.
    pub signing_key: SigningKey,
    /// Every published key, the signing one included.
    pub published_keys: Vec<SigningKey>,
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
        let published_keys = stored
            .iter()
            .map(SigningKey::load)
            .collect::<Result<Vec<_>, _>>()?;
        let newest = stored.last().ok_or(KeyError::Generate)?;
        let signing_key = SigningKey::load(newest)?;
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
            signing_key,
            published_keys,
        })
    }

    pub fn issuer(&self, tenant: uuid::Uuid) -> String {
        format!("{}/{}/", self.config.public_url, tenant)
    }

    /// The v2.0 endpoints' issuer: `{public-url}/{tenant-id}/v2.0`.
    pub fn issuer_v2(&self, tenant: uuid::Uuid) -> String {
        format!("{}/{}/v2.0", self.config.public_url, tenant)
    }
}
