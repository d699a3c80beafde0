//! `GET /common/discovery/instance` (and `/{tenant}/discovery/instance`):
//! Azure AD's instance discovery, which MSAL asks before it trusts an
//! authority host it does not know (MSAL Python's `instance_discovery=URL`
//! option points it here). The answer names this server's OpenID
//! configuration for the authority asked about, and this server's host as
//! a cloud of one host.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{Aadsts, InstanceDiscovery, InstanceMetadata};

use crate::ProtocolError;
use crate::state::AppState;

/// The version of the document written, whichever was asked (MSAL Python
/// asks 1.0, MSAL.js 1.1; Azure AD answers both with 1.1's fields).
const API_VERSION: &str = "1.1";

pub async fn instance_discovery(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ProtocolError> {
    let endpoint = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "authorization_endpoint")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty())
        .ok_or(Aadsts::MissingParameter {
            name: "authorization_endpoint",
        })?;
    let base = &state.config.public_url;
    let own = split_url(base).map(|(authority, _)| authority);
    let asked = split_url(&endpoint);
    let (Some(own), Some((authority, path))) = (own, asked) else {
        return Err(Aadsts::UnknownInstance.into());
    };
    // The host alone decides: MSAL Python writes the authority's host
    // without its port into `authorization_endpoint`.
    if !host_of(authority).eq_ignore_ascii_case(host_of(own)) {
        return Err(Aadsts::UnknownInstance.into());
    }
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let Some(tenant) = segments.next().filter(|t| !t.contains(['?', '#'])) else {
        return Err(Aadsts::UnknownInstance.into());
    };
    // `…/oauth2/v2.0/authorize` is a v2.0 authority; anything else v1.
    let v2 = segments.any(|s| s == "v2.0");
    let configuration = if v2 {
        "v2.0/.well-known/openid-configuration"
    } else {
        ".well-known/openid-configuration"
    };
    let document = InstanceDiscovery {
        tenant_discovery_endpoint: format!("{base}/{tenant}/{configuration}"),
        api_version: API_VERSION.to_owned(),
        metadata: vec![InstanceMetadata {
            preferred_network: own.to_owned(),
            preferred_cache: own.to_owned(),
            aliases: vec![own.to_owned()],
        }],
    };
    let mut response = document.to_json().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400, private"),
    );
    Ok(response)
}

/// An http(s) URL's authority (`host[:port]`) and path; `None` for
/// anything else.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    Some((authority, path))
}

/// The host of an authority, without its port.
fn host_of(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(
            split_url("https://login.example:8443/contoso/oauth2/v2.0/authorize?x=1"),
            Some(("login.example:8443", "/contoso/oauth2/v2.0/authorize"))
        );
        assert_eq!(split_url("HTTP://[::1]:80"), Some(("[::1]:80", "")));
        assert_eq!(split_url("ftp://host/x"), None);
        assert_eq!(split_url("https://user@host/x"), None);
        assert_eq!(split_url("host/x"), None);
        assert_eq!(host_of("[::1]:8443"), "::1");
        assert_eq!(host_of("login.example:443"), "login.example");
    }
}
