//! A record as its readers show it (the admin API, `latchkey logs
//! --json`, the pages), and the filters they share.

use latchkey_protocol::{Aadsts, ClientAction};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::store::{SignInQuery, SignInRecord};

/// One record on the wire: the stored fields, the time in RFC 3339, and
/// whether a scenario injected the error.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    pub time: String,
    pub tenant: Option<String>,
    pub endpoint: String,
    pub grant: Option<String>,
    pub app: Option<String>,
    pub user: Option<String>,
    pub client_ip: Option<String>,
    pub status: u16,
    pub outcome: String,
    pub error: Option<String>,
    pub error_codes: Vec<u32>,
    pub suberror: Option<String>,
    pub trace_id: String,
    pub correlation_id: String,
    pub injected: bool,
    pub scenario: Option<i64>,
}

impl From<&SignInRecord> for Entry {
    fn from(record: &SignInRecord) -> Entry {
        Entry {
            id: record.id,
            time: rfc3339(record.time),
            tenant: record.tenant.clone(),
            endpoint: record.endpoint.clone(),
            grant: record.grant.clone(),
            app: record.app.clone(),
            user: record.user.clone(),
            client_ip: record.client_ip.clone(),
            status: record.status,
            outcome: record.outcome.clone(),
            error: record.error.clone(),
            error_codes: record
                .error_codes
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect(),
            suberror: record.suberror.clone(),
            trace_id: record.trace_id.clone(),
            correlation_id: record.correlation_id.clone(),
            injected: record.injected(),
            scenario: record.scenario,
        }
    }
}

/// Unix seconds as RFC 3339 (`2026-12-06T09:12:33Z`).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// `--since` / `?since=`: an RFC 3339 time, Unix seconds, or a span back
/// from `now` (`30s`, `15m`, `2h`, `7d`).
pub fn parse_since(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(time.unix_timestamp());
    }
    if let Ok(unix) = text.parse::<i64>() {
        return Ok(unix);
    }
    let unit = text.chars().last().unwrap_or('?');
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 0,
    };
    let amount = text[..text.len() - unit.len_utf8().min(text.len())]
        .parse::<i64>()
        .ok()
        .filter(|_| seconds > 0);
    match amount {
        Some(amount) => Ok(now - amount.saturating_mul(seconds)),
        None => Err(format!(
            "'{}' is not a time (RFC 3339, Unix seconds, or a span such as 15m, 2h, 7d)",
            latchkey_protocol::bounded(text)
        )),
    }
}

/// The filters as their readers name them (flags, query parameters).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub user: Option<String>,
    pub app: Option<String>,
    pub error: Option<String>,
    pub since: Option<String>,
    pub limit: Option<u32>,
}

/// The most records one read returns.
pub const MAX_LIMIT: u32 = 1000;

impl Filters {
    /// The store's query, `since` read against `now`; empty filters count
    /// as absent (a page's form sends every field).
    pub fn query(&self, now: i64, default_limit: u32) -> Result<SignInQuery, String> {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Ok(SignInQuery {
            trace_id: given(&self.trace_id),
            correlation_id: given(&self.correlation_id),
            user: given(&self.user),
            app: given(&self.app),
            error: given(&self.error),
            since: given(&self.since)
                .map(|since| parse_since(&since, now))
                .transpose()?,
            after_id: None,
            limit: self.limit.unwrap_or(default_limit).clamp(1, MAX_LIMIT),
        })
    }
}

/// What the client should do about a record's error, in the seeds'
/// words: its AADSTS number's own action where the catalogue gives one,
/// else its OAuth code's.
pub fn client_action(entry: &Entry) -> Option<ClientAction> {
    let number = entry.error_codes.first().copied();
    if let Some(action) = number.and_then(Aadsts::action_for_number) {
        return Some(action);
    }
    let number = number?;
    Aadsts::CATALOGUE
        .iter()
        .find(|row| row.number == number)
        .map(|row| row.client_action())
}

/// When the catalogue says the error happens, for people.
pub fn when(entry: &Entry) -> Option<&'static str> {
    let number = entry.error_codes.first().copied()?;
    Aadsts::CATALOGUE
        .iter()
        .find(|row| row.number == number)
        .map(|row| row.when)
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_reads_times_and_spans() {
        let now = 1_800_000_000;
        assert_eq!(parse_since("15m", now), Ok(now - 900));
        assert_eq!(parse_since("2h", now), Ok(now - 7200));
        assert_eq!(parse_since("7d", now), Ok(now - 7 * 86_400));
        assert_eq!(parse_since("1700000000", now), Ok(1_700_000_000));
        assert_eq!(parse_since("2023-11-14T22:13:20Z", now), Ok(1_700_000_000));
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("m", now).is_err());
        assert!(parse_since("", now).is_err());
    }
}
