//! `latchkey keys rotate|list`: signing keys in the store, which every
//! replica reads (see `KeyRing` in the server for which key signs when).
//! RSA (RS256) and P-256 (ES256) keys rotate each on their own.

use anyhow::Context;
use clap::{Args, Subcommand};
use latchkey_server::ServerConfig;
use latchkey_server::keys::{KeyRing, KeyStatus, SigningAlg, SigningKey};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::store_args::StoreArgs;

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Add a new signing key: published at once, signing after the delay.
    /// The key it replaces stays published until every token it signed has
    /// expired.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        /// Seconds between publishing the key and signing with it: longer
        /// than the replicas' key reload interval and than how long APIs
        /// cache the JWKS (it says max-age=3600).
        #[arg(long, default_value_t = 7200)]
        activate_after: u64,
        /// The kind of key: RS256 (RSA-2048) or ES256 (P-256), for the
        /// tenants whose `signing_alg` it is.
        #[arg(long, default_value = "RS256", value_parser = parse_alg)]
        alg: SigningAlg,
    },
    /// The keys in the store and what each does now.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::Rotate {
            store,
            activate_after,
            alg,
        } => {
            let (store, label) = store.open().await?;
            let now = OffsetDateTime::now_utc();
            let mut key = tokio::task::spawn_blocking(move || SigningKey::generate(now, alg))
                .await
                .context("generating a key")??;
            let delay = i64::try_from(activate_after).context("--activate-after is too large")?;
            key.activates_at = now.unix_timestamp().saturating_add(delay);
            store.insert_signing_key(&key).await?;
            say!(
                "{label}: new signing key {} ({alg}), published now, signing from {}",
                key.kid,
                timestamp(key.activates_at)
            );
            Ok(())
        }
        KeysCommand::List { store } => {
            let (store, label) = store.open().await?;
            let keys = store.signing_keys().await?;
            say!("{label}:");
            if keys.is_empty() {
                return Ok(());
            }
            let ring = KeyRing::load(&keys, None)?;
            let now = OffsetDateTime::now_utc().unix_timestamp();
            // The grace of a server with the default lifetimes.
            let grace = ServerConfig::new("").retirement_grace();
            for (kid, alg, status) in ring.statuses(now, grace) {
                let role = match status {
                    KeyStatus::Pending { signs_from } => {
                        format!("pending, signs from {}", timestamp(signs_from))
                    }
                    KeyStatus::Signing => "signing".to_owned(),
                    KeyStatus::Superseded { at, retired_at } => format!(
                        "superseded at {}, published until {}",
                        timestamp(at),
                        timestamp(retired_at)
                    ),
                    KeyStatus::Retired { at } => format!("retired at {}", timestamp(at)),
                };
                say!("  {kid}  {role} ({alg})");
            }
            Ok(())
        }
    }
}

fn parse_alg(value: &str) -> Result<SigningAlg, String> {
    value.parse()
}

fn timestamp(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
