//! `latchkey keys rotate|list`: signing keys in the store, which every
//! replica reads (see `KeyRing` in the server for which key signs when).

use anyhow::Context;
use clap::{Args, Subcommand};
use latchkey_server::keys::{KeyTimes, SigningKey, signing_index, sort_key_times};
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
        } => {
            let (store, label) = store.open().await?;
            let now = OffsetDateTime::now_utc();
            let mut key = tokio::task::spawn_blocking(move || SigningKey::generate(now))
                .await
                .context("generating a key")??;
            let delay = i64::try_from(activate_after).context("--activate-after is too large")?;
            key.activates_at = now.unix_timestamp().saturating_add(delay);
            store.insert_signing_key(&key).await?;
            say!(
                "{label}: new signing key {}, published now, signing from {}",
                key.kid,
                timestamp(key.activates_at)
            );
            Ok(())
        }
        KeysCommand::List { store } => {
            let (store, label) = store.open().await?;
            let keys = store.signing_keys().await?;
            let mut times: Vec<KeyTimes> = keys.iter().map(KeyTimes::of).collect();
            sort_key_times(&mut times);
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let signing = signing_index(&times, now);
            say!("{label}:");
            for (i, key) in times.iter().enumerate() {
                let role = match i.cmp(&signing) {
                    std::cmp::Ordering::Less => {
                        format!("superseded at {}", timestamp(times[i + 1].activates_at))
                    }
                    std::cmp::Ordering::Equal => "signing".to_owned(),
                    std::cmp::Ordering::Greater => {
                        format!("pending, signs from {}", timestamp(key.activates_at))
                    }
                };
                say!("  {}  {role}", key.kid);
            }
            Ok(())
        }
    }
}

fn timestamp(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
