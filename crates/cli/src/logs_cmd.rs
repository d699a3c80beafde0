//! `latchkey logs`: the sign-in log, read from the store as `db` and `keys`
//! read it (`--data`, `--database`), so it works with the server stopped
//! and sees every replica's records. Newest first as a table, or `--json`
//! one record per line; `--follow` then prints new records as they come,
//! oldest first, until interrupted.

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use latchkey_server::sign_in_log::{Entry, Filters};
use latchkey_server::store::{SignInQuery, Store};
use time::OffsetDateTime;

use crate::store_args::StoreArgs;

#[derive(Args, Debug)]
pub struct LogsArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only the record of this trace id (the error's `trace_id`, the
    /// `x-ms-request-id` header).
    #[arg(long)]
    trace_id: Option<String>,
    /// Only records of this correlation id (`correlation_id`, the client's
    /// `client-request-id`).
    #[arg(long)]
    correlation_id: Option<String>,
    /// Only this user (UPN, any case).
    #[arg(long)]
    user: Option<String>,
    /// Only this app (client id).
    #[arg(long)]
    app: Option<String>,
    /// Only this error: an OAuth code (`invalid_client`) or an AADSTS
    /// number (`7000215`, `AADSTS7000215`).
    #[arg(long)]
    error: Option<String>,
    /// Only records since: RFC 3339, Unix seconds, or a span (15m, 2h, 7d).
    #[arg(long)]
    since: Option<String>,
    /// At most this many records (the newest).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// Keep printing new records as they are written.
    #[arg(long)]
    follow: bool,
}

pub async fn run(args: LogsArgs) -> anyhow::Result<()> {
    let (store, _) = args.store.open().await?;
    let filters = Filters {
        trace_id: args.trace_id.clone(),
        correlation_id: args.correlation_id.clone(),
        user: args.user.clone(),
        app: args.app.clone(),
        error: args.error.clone(),
        since: args.since.clone(),
        limit: Some(args.limit),
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let query = match filters.query(now, args.limit) {
        Ok(query) => query,
        Err(problem) => bail!("--since: {problem}"),
    };
    let mut records = store.find_sign_ins(&query).await?;
    // Printed oldest first, as a log reads; the query took the newest.
    records.reverse();
    if !args.json {
        say!("{}", header());
    }
    let mut last = records.last().map_or(0, |r| r.id);
    for record in &records {
        print(&Entry::from(record), args.json);
    }
    if args.follow {
        follow(&*store, query, &mut last, args.json).await?;
    }
    Ok(())
}

/// Polls for records after the last one printed, once a second.
async fn follow(
    store: &dyn Store,
    mut query: SignInQuery,
    last: &mut i64,
    json: bool,
) -> anyhow::Result<()> {
    query.since = None;
    query.limit = latchkey_server::sign_in_log::MAX_LIMIT;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        query.after_id = Some(*last);
        let mut records = store.find_sign_ins(&query).await?;
        records.reverse();
        for record in &records {
            print(&Entry::from(record), json);
            *last = record.id;
        }
    }
}

fn header() -> String {
    format!(
        "{:<20} {:<7} {:<13} {:<18} {:<36} {:<28} {:<24} {:<36} {:<36}",
        "TIME",
        "OUTCOME",
        "ENDPOINT",
        "GRANT",
        "APP",
        "USER",
        "ERROR",
        "TRACE ID",
        "CORRELATION ID"
    )
}

fn print(entry: &Entry, json: bool) {
    if json {
        match serde_json::to_string(entry) {
            Ok(line) => say!("{line}"),
            Err(err) => eprintln!("latchkey: record {} cannot be written: {err}", entry.id),
        }
        return;
    }
    let outcome = if entry.outcome == "success" {
        "ok"
    } else {
        "FAILED"
    };
    let mut error = entry.error.clone().unwrap_or_else(|| "-".into());
    for number in &entry.error_codes {
        error.push_str(&format!(" {number}"));
    }
    if entry.injected {
        error.push_str(" (scenario)");
    }
    say!(
        "{:<20} {:<7} {:<13} {:<18} {:<36} {:<28} {:<24} {:<36} {:<36}",
        entry.time,
        outcome,
        entry.endpoint,
        entry.grant.as_deref().unwrap_or("-"),
        entry.app.as_deref().unwrap_or("-"),
        entry.user.as_deref().unwrap_or("-"),
        error,
        entry.trace_id,
        entry.correlation_id
    );
}
