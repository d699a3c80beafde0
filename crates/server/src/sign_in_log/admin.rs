//! The sign-in log through the admin key: `GET /_admin/sign-ins` (JSON,
//! the filters of `latchkey logs` as query parameters: `trace_id`,
//! `correlation_id`, `user`, `app`, `error`, `since`, and `limit`),
//! `GET /_admin/sign-ins/{id}`, and the pages for people,
//! `/_admin/portal/sign-ins` and `/_admin/portal/sign-ins/{id}`, which take
//! the key as HTTP Basic's password too (a browser cannot send a Bearer
//! header).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::entry::{Entry, Filters};
use super::pages;
use crate::admin::{Refusal, authorized, authorized_page, refuse};
use crate::state::AppState;
use crate::store::StoreError;

/// Records one read returns unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 100;

fn store_failed(err: StoreError) -> Refusal {
    tracing::error!(error = %err, "reading the sign-in log failed");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "the store could not be reached".into(),
    )
}

/// The query string's filters: an unknown parameter is refused (a
/// misspelt filter would otherwise match everything).
fn filters(query: Option<&str>) -> Result<Filters, Refusal> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let mut object = serde_json::Map::new();
    for (name, value) in pairs {
        let value = if name == "limit" {
            match value.trim().parse::<u32>() {
                Ok(n) => json!(n),
                Err(_) if value.trim().is_empty() => continue,
                Err(_) => {
                    return Err(refuse(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "'limit' is a number".into(),
                    ));
                }
            }
        } else {
            json!(value)
        };
        if object.insert(name.clone(), value).is_some() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("'{}' is given twice", latchkey_protocol::bounded(&name)),
            ));
        }
    }
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, "invalid_request", e.to_string()))
}

async fn read(state: &AppState, filters: &Filters) -> Result<Vec<Entry>, Refusal> {
    let now = state.config.clock.now().unix_timestamp();
    let query = filters
        .query(now, DEFAULT_LIMIT)
        .map_err(|problem| refuse(StatusCode::BAD_REQUEST, "invalid_request", problem))?;
    let records = state
        .store
        .find_sign_ins(&query)
        .await
        .map_err(store_failed)?;
    Ok(records.iter().map(Entry::from).collect())
}

async fn read_one(state: &AppState, id: &str) -> Result<Entry, Refusal> {
    let unknown = || {
        refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no sign-in '{}' is kept", latchkey_protocol::bounded(id)),
        )
    };
    let id: i64 = id.parse().map_err(|_| unknown())?;
    state
        .store
        .find_sign_in(id)
        .await
        .map_err(store_failed)?
        .map(|record| Entry::from(&record))
        .ok_or_else(unknown)
}

/// `GET /_admin/sign-ins`: `{"value": [records, newest first]}`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Refusal> {
    authorized(&state, &headers)?;
    let entries = read(&state, &filters(query.as_deref())?).await?;
    Ok(Json(json!({ "value": entries })).into_response())
}

/// `GET /_admin/sign-ins/{id}`.
pub async fn one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    authorized(&state, &headers)?;
    Ok(Json(read_one(&state, &id).await?).into_response())
}

/// `GET /_admin/portal/sign-ins`: the table, with the filter form.
pub async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Refusal> {
    authorized_page(&state, &headers)?;
    let filters = filters(query.as_deref())?;
    let entries = read(&state, &filters).await?;
    Ok(pages::list(&entries, &filters))
}

/// `GET /_admin/portal/sign-ins/{id}`: one record, with its client action.
pub async fn detail_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    authorized_page(&state, &headers)?;
    Ok(pages::detail(&read_one(&state, &id).await?))
}
