//! Where the store is: `--data` and `--database`, shared by `serve`, `db`
//! and `keys`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use latchkey_server::private_files::ensure_private_dir;
use latchkey_server::store::{PostgresStore, SqliteStore, Store};

#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Where the SQLite database (and `serve`'s TLS files) live.
    #[arg(long, default_value = "./latchkey-data")]
    pub data: PathBuf,
    /// The store: `sqlite://PATH` (default: DATA/latchkey.db) or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`.
    #[arg(long, env = "LATCHKEY_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
    /// Connections each process opens to PostgreSQL at most (mind the
    /// server's `max_connections` across all replicas).
    #[arg(long, default_value_t = 16)]
    pub database_connections: u32,
}

impl StoreArgs {
    /// Opens (and migrates) the store; with a label for messages.
    pub async fn open(&self) -> anyhow::Result<(Arc<dyn Store>, String)> {
        let args = self;
        match args.database.as_deref() {
            None => {
                ensure_private_dir(&args.data).with_context(|| {
                    format!(
                        "cannot create (or make private) the data directory {}",
                        args.data.display()
                    )
                })?;
                // `serve --tls-self-signed`'s keys, from this start or an earlier one.
                let tls = args.data.join("tls");
                if tls.is_dir() {
                    ensure_private_dir(&tls)
                        .with_context(|| format!("cannot make {} private", tls.display()))?;
                }
                let path = args.data.join("latchkey.db");
                let store = SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("cannot open the SQLite store {}", path.display()))?;
                Ok((Arc::new(store), format!("sqlite {}", path.display())))
            }
            Some(url) if url.starts_with("sqlite:") => {
                let store = SqliteStore::open_url(url)
                    .await
                    .with_context(|| format!("cannot open {url}"))?;
                Ok((
                    Arc::new(store),
                    format!("sqlite {}", url.trim_start_matches("sqlite://")),
                ))
            }
            Some(url) if is_postgres_url(url) => {
                let store = PostgresStore::open_url(url, args.database_connections)
                    .await
                    .with_context(|| {
                        format!("cannot open the PostgreSQL store {}", redact_url(url))
                    })?;
                Ok((Arc::new(store), format!("postgres {}", redact_url(url))))
            }
            Some(other) => bail!(
                "--database '{}' is neither sqlite://PATH nor postgres://…",
                redact_url(other)
            ),
        }
    }
}

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A database URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_never_printed() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/latchkey?sslmode=require"),
            "postgres://app:***@db.internal:5432/latchkey?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://127.0.0.1/latchkey"),
            "postgres://127.0.0.1/latchkey"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/latchkey"),
            "postgres://postgres@127.0.0.1/latchkey"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/x.db"),
            "sqlite:///var/lib/x.db"
        );
    }
}
