//! Client assertions spent, for apps that accept each one once
//! (`single_use_assertions`): `AssertionStore`, a part of `Store` with a room
//! of its own, expanded for both engines by `assertion_store!`. One
//! `INSERT … ON CONFLICT DO NOTHING` decides, so of two presentations of one
//! assertion, on any replicas, exactly one is taken.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;

#[async_trait]
pub trait AssertionStore {
    /// Records that `client_id` presented the assertion `jti`, kept until
    /// `expires_at` (its `exp`); `false` when it was presented before.
    async fn spend_assertion(
        &self,
        client_id: Uuid,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError>;

    /// Forgets assertions that expired before `before`: a replay of one
    /// fails on its `exp` from then on.
    async fn delete_expired_assertions(&self, before: i64) -> Result<(), StoreError>;
}

/// `impl AssertionStore for $store`, beside `sql_store!`.
macro_rules! assertion_store {
    ($store:ident) => {
        mod assertion_impl {
            use async_trait::async_trait;
            use uuid::Uuid;

            use super::$store;
            use crate::store::{AssertionStore, StoreError};

            #[async_trait]
            impl AssertionStore for $store {
                async fn spend_assertion(
                    &self,
                    client_id: Uuid,
                    jti: &str,
                    expires_at: i64,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query("INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(client_id.to_string())
                        .bind(jti)
                        .bind(expires_at)
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_expired_assertions(&self, before: i64) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM client_assertion_jtis WHERE expires_at < $1")
                        .bind(before)
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }
            }
        }
    };
}

pub(super) use assertion_store;
