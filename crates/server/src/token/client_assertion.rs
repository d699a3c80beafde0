//! Client authentication by a signed assertion (RFC 7523 §2.2,
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`),
//! as Azure AD takes it, on every grant and both endpoint versions:
//!
//! - **a certificate's** (`private_key_jwt`): `iss` = `sub` = the client id,
//!   `aud` = this tenant's token endpoint, signed (RS256 or PS256, or ES256
//!   for a P-256 key) by a certificate the app registered, named by its
//!   thumbprint in the header (`x5t`, `x5t#S256`, or a hex `kid`);
//! - **a federated issuer's** (workload identity federation): `iss` is one
//!   of the app's `federated_credentials`, signed by that issuer's key,
//!   `sub` and `aud` as the credential names them.
//!
//! The assertion is a token from across a trust boundary: its algorithm is
//! checked before anything (never `none`, never an HMAC keyed with public
//! material), then the key it names, the signature, and only then what its
//! claims say, in the order a developer fixes them. An assertion is not
//! spent unless the app opts in (`single_use_assertions`): MSAL reuses one
//! for minutes, for every resource, and Azure AD takes that.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use latchkey_protocol::{Aadsts, Jws};
use serde_json::Value;
use time::OffsetDateTime;

use super::Caller;
use crate::ProtocolError;
use crate::directory::App;
use crate::directory::credentials::{Certificate, FederatedCredential, PublicKey, hex_upper};
use crate::state::AppState;

/// The algorithms an assertion may be signed with (each checked against
/// its key's type too).
const ALGORITHMS: &str = "RS256,PS256,ES256";
/// How far an assertion's `nbf` may lie ahead of this server's clock.
const NOT_BEFORE_SKEW: i64 = 300;
/// The longest a certificate's assertion may be valid: MSAL and the Azure
/// SDKs make them for ten minutes.
pub const CERTIFICATE_LIFETIME_CAP: i64 = 3_600;
/// The longest a federated issuer's token may be valid: Kubernetes
/// service-account tokens last an hour by default, and up to a day.
pub const FEDERATED_LIFETIME_CAP: i64 = 86_400;

/// Checks `raw` as the caller's credential.
pub async fn verify(state: &AppState, caller: &Caller<'_>, raw: &str) -> Result<(), ProtocolError> {
    let token = Jws::parse(raw).ok_or(Aadsts::AssertionMalformed)?;
    let alg = token.header_str("alg").unwrap_or("none");
    if !ALGORITHMS.split(',').any(|a| a == alg) {
        return Err(refused_algorithm(alg, ALGORITHMS));
    }
    let issuer = required(&token, "iss")?;
    let app = caller.app;
    let trusted: Vec<&FederatedCredential> = app
        .federated_credentials
        .iter()
        .filter(|f| f.issuer == issuer)
        .collect();
    let exp = if trusted.is_empty() {
        if issuer != app.client_id.to_string() && !app.federated_credentials.is_empty() {
            return Err(Aadsts::FederatedIssuerNotFound {
                issuer: issuer.to_owned(),
            }
            .into());
        }
        certificate_assertion(state, caller, &token, alg)?
    } else {
        federated_assertion(state, caller, &token, alg, &trusted).await?
    };
    if app.single_use_assertions {
        let jti = required(&token, "jti")?;
        if !state.store.spend_assertion(app.client_id, jti, exp).await? {
            return Err(Aadsts::ClientAssertionReplayed {
                jti: jti.to_owned(),
            }
            .into());
        }
    }
    Ok(())
}

/// A certificate's assertion; its `exp` when it is good.
fn certificate_assertion(
    state: &AppState,
    caller: &Caller<'_>,
    token: &Jws<'_>,
    alg: &str,
) -> Result<i64, ProtocolError> {
    let app = caller.app;
    let certificate = named_certificate(app, token)?;
    if !certificate.key.takes(alg) {
        return Err(refused_algorithm(alg, certificate.key.algorithms()));
    }
    if !certificate
        .key
        .verifies(alg, token.signed, &token.signature)
    {
        return Err(Aadsts::ClientAssertionSignatureInvalid {
            thumbprint: certificate.thumbprint().into(),
        }
        .into());
    }
    let now = caller.now.unix_timestamp();
    if now < certificate.not_before || now > certificate.not_after {
        return Err(Aadsts::ClientCertificateExpired {
            thumbprint: certificate.thumbprint().into(),
            start: azure_time(certificate.not_before, 0).into(),
            end: azure_time(certificate.not_after, 0).into(),
        }
        .into());
    }
    let client_id = app.client_id.to_string();
    let subject = required(token, "sub")?;
    if required(token, "iss")? != client_id || subject != client_id {
        return Err(Aadsts::ClientAssertionSubject.into());
    }
    let audiences = audiences(token)?;
    if !audiences
        .iter()
        .any(|aud| is_token_endpoint(state, caller, aud))
    {
        return Err(Aadsts::ClientAssertionAudience {
            expected: token_endpoint(state, caller).into(),
        }
        .into());
    }
    in_time_range(caller, token, CERTIFICATE_LIFETIME_CAP)
}

/// The registered certificate the assertion's header names: by `x5c`'s
/// first certificate when sent (MSAL's `send_certificate_chain`), else by
/// `x5t#S256`, `x5t` or a hex `kid`.
fn named_certificate<'a>(app: &'a App, token: &Jws<'_>) -> Result<&'a Certificate, ProtocolError> {
    let not_found = |thumbprint: String| -> ProtocolError {
        Aadsts::ClientCertificateNotFound {
            thumbprint: thumbprint.into(),
            client_id: app.client_id.to_string().into(),
        }
        .into()
    };
    if let Some(first) = token
        .header
        .get("x5c")
        .and_then(Value::as_array)
        .and_then(|chain| chain.first())
    {
        // MSAL Python copies the PEM's base64 lines, line breaks and all.
        let der = first
            .as_str()
            .map(|b64| b64.split_ascii_whitespace().collect::<String>())
            .and_then(|b64| STANDARD.decode(b64).ok())
            .ok_or(Aadsts::AssertionMalformed)?;
        let sent = Certificate::from_der(&der).map_err(|_| Aadsts::AssertionMalformed)?;
        return app
            .certificates
            .iter()
            .find(|c| c.sha1 == sent.sha1)
            .ok_or_else(|| not_found(sent.thumbprint()));
    }
    let (thumbprint, find): (Vec<u8>, Thumbprint) = if let Some(s256) = token.header_str("x5t#S256")
    {
        (base64url_lenient(s256)?, |c| &c.sha256)
    } else if let Some(sha1) = token.header_str("x5t") {
        (base64url_lenient(sha1)?, |c| &c.sha1)
    } else if let Some(kid) = token.header_str("kid") {
        match hex_bytes(kid) {
            Some(bytes) if bytes.len() == 32 => (bytes, |c| &c.sha256),
            Some(bytes) => (bytes, |c| &c.sha1),
            None => return Err(not_found(kid.to_owned())),
        }
    } else {
        return Err(Aadsts::ClientAssertionNoKeyId.into());
    };
    app.certificates
        .iter()
        .find(|c| find(c) == thumbprint.as_slice())
        .ok_or_else(|| not_found(hex_upper(&thumbprint)))
}

/// Which of a certificate's thumbprints a header names.
type Thumbprint = fn(&Certificate) -> &[u8];

/// A federated issuer's token; its `exp` when it is good.
async fn federated_assertion(
    state: &AppState,
    caller: &Caller<'_>,
    token: &Jws<'_>,
    alg: &str,
    trusted: &[&FederatedCredential],
) -> Result<i64, ProtocolError> {
    let issuer = trusted[0].issuer.as_str();
    let kid = token.header_str("kid");
    let key = issuer_key(state, trusted, kid).await?;
    if !key.takes(alg) {
        return Err(refused_algorithm(alg, key.algorithms()));
    }
    if !key.verifies(alg, token.signed, &token.signature) {
        return Err(Aadsts::ClientAssertionSignatureInvalid {
            thumbprint: kid.unwrap_or_default().into(),
        }
        .into());
    }
    let subject = required(token, "sub")?;
    let for_subject: Vec<&&FederatedCredential> =
        trusted.iter().filter(|f| f.subject == subject).collect();
    if for_subject.is_empty() {
        return Err(Aadsts::FederatedSubjectNotFound {
            subject: subject.to_owned(),
        }
        .into());
    }
    let audiences = audiences(token)?;
    let matches = |f: &&&FederatedCredential| audiences.iter().any(|a| f.audiences.contains(a));
    if !for_subject.iter().any(matches) {
        return Err(Aadsts::FederatedAudienceNotFound {
            audience: audiences.join(", "),
        }
        .into());
    }
    tracing::debug!(issuer, subject, "federated credential accepted");
    in_time_range(caller, token, FEDERATED_LIFETIME_CAP)
}

/// The issuer's key named `kid` (or its only key, when the token names
/// none): from the credentials' JWKS files, else the issuer's published
/// keys, fetched again once if the `kid` is new.
async fn issuer_key(
    state: &AppState,
    trusted: &[&FederatedCredential],
    kid: Option<&str>,
) -> Result<PublicKey, ProtocolError> {
    let issuer = trusted[0].issuer.as_str();
    let pick = |keys: &[(Option<String>, PublicKey)]| -> Option<PublicKey> {
        match kid {
            Some(kid) => keys
                .iter()
                .find(|(k, _)| k.as_deref() == Some(kid))
                .map(|(_, key)| key.clone()),
            None if keys.len() == 1 => Some(keys[0].1.clone()),
            None => None,
        }
    };
    let files: Vec<(Option<String>, PublicKey)> = trusted
        .iter()
        .filter_map(|f| f.jwks.as_deref())
        .filter_map(crate::directory::credentials::jwks_keys)
        .flatten()
        .collect();
    let found = if !files.is_empty() {
        pick(&files)
    } else {
        let unavailable = |e: crate::issuer_keys::FetchError| -> ProtocolError {
            tracing::warn!(error = %e, "a federated issuer's keys could not be fetched");
            Aadsts::FederatedKeysUnavailable {
                issuer: issuer.to_owned(),
            }
            .into()
        };
        let keys = state
            .issuer_keys
            .keys(issuer, false)
            .await
            .map_err(unavailable)?;
        match pick(&keys) {
            Some(key) => Some(key),
            None => pick(
                &state
                    .issuer_keys
                    .keys(issuer, true)
                    .await
                    .map_err(unavailable)?,
            ),
        }
    };
    found.ok_or_else(|| {
        Aadsts::FederatedKeyNotFound {
            kid: kid.unwrap_or_default().into(),
            issuer: issuer.into(),
        }
        .into()
    })
}

/// `exp` and `nbf` against the request's time, and the assertion's whole
/// lifetime against `cap`; its `exp` when it is good.
fn in_time_range(caller: &Caller<'_>, token: &Jws<'_>, cap: i64) -> Result<i64, ProtocolError> {
    let now = caller.now.unix_timestamp();
    let expires = token
        .claim_seconds("exp")
        .ok_or(Aadsts::CredentialFieldMissing { field: "exp" })?;
    let valid_from = token.claim_seconds("nbf");
    if expires <= now || valid_from.is_some_and(|nbf| nbf > now + NOT_BEFORE_SKEW) {
        return Err(Aadsts::ClientAssertionTimeRange {
            now: azure_time(now, caller.now.nanosecond()).into(),
            valid_from: azure_time(valid_from.unwrap_or(0), 0).into(),
            expires: azure_time(expires, 0).into(),
        }
        .into());
    }
    let start = valid_from
        .or_else(|| token.claim_seconds("iat"))
        .map_or(now, |start| start.min(now));
    let lifetime = expires - start;
    if lifetime > cap {
        return Err(Aadsts::ClientAssertionLifetime {
            lifetime: lifetime.unsigned_abs(),
            cap: cap.unsigned_abs(),
        }
        .into());
    }
    Ok(expires)
}

/// Whether `aud` names this tenant's token endpoint, v1 or v2.0, the tenant
/// named by its id, a domain or the request's path segment (case and a
/// trailing slash aside).
fn is_token_endpoint(state: &AppState, caller: &Caller<'_>, aud: &str) -> bool {
    let base = state.config.public_url.trim_end_matches('/');
    let aud = aud.trim_end_matches('/');
    let Some(rest) = aud
        .get(..base.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(base))
        .map(|_| &aud[base.len()..])
    else {
        return false;
    };
    let Some((segment, path)) = rest.strip_prefix('/').and_then(|r| r.split_once('/')) else {
        return false;
    };
    let tenant = caller.tenant;
    let names_tenant = segment.eq_ignore_ascii_case(&tenant.id.to_string())
        || segment.eq_ignore_ascii_case(caller.tenant_segment)
        || tenant
            .domains
            .iter()
            .any(|d| segment.eq_ignore_ascii_case(d));
    names_tenant && (path == "oauth2/token" || path == "oauth2/v2.0/token")
}

/// This request's token endpoint, for the message.
fn token_endpoint(state: &AppState, caller: &Caller<'_>) -> String {
    let path = match caller.version {
        latchkey_protocol::Version::V1 => "oauth2/token",
        latchkey_protocol::Version::V2 => "oauth2/v2.0/token",
    };
    format!(
        "{}/{}/{path}",
        state.config.public_url.trim_end_matches('/'),
        caller.tenant_segment
    )
}

/// `aud`: one string, or an array of them (RFC 7519 §4.1.3).
fn audiences(token: &Jws<'_>) -> Result<Vec<String>, ProtocolError> {
    match token.claims.get("aud") {
        Some(Value::String(aud)) => Ok(vec![aud.clone()]),
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Aadsts::AssertionMalformed.into()),
        _ => Err(Aadsts::CredentialFieldMissing { field: "aud" }.into()),
    }
}

/// A string claim the assertion must carry.
fn required<'t>(token: &'t Jws<'_>, field: &'static str) -> Result<&'t str, ProtocolError> {
    token
        .claim_str(field)
        .ok_or_else(|| Aadsts::CredentialFieldMissing { field }.into())
}

fn refused_algorithm(alg: &str, supported: &'static str) -> ProtocolError {
    Aadsts::ClientAssertionAlgorithm {
        alg: alg.into(),
        supported,
    }
    .into()
}

/// base64url with or without padding (MSAL Python pads `x5t`), or plain
/// base64.
fn base64url_lenient(text: &str) -> Result<Vec<u8>, ProtocolError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(text))
        .map_err(|_| Aadsts::AssertionMalformed.into())
}

/// A hex string's bytes (a thumbprint written as Windows shows it).
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.is_empty() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A time as Azure AD's assertion messages write it:
/// `2023-12-11T23:52:19.6223401Z` (seven fractional digits).
fn azure_time(seconds: i64, nanos: u32) -> String {
    match OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            nanos / 100
        ),
        Err(_) => seconds.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_azure_ad_writes_them() {
        assert_eq!(azure_time(0, 0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(
            azure_time(1_702_338_739, 622_340_100),
            "2023-12-11T23:52:19.6223401Z"
        );
    }

    #[test]
    fn thumbprints_are_read_leniently() {
        assert_eq!(hex_bytes("0aFF"), Some(vec![10, 255]));
        assert_eq!(hex_bytes("abc"), None);
        assert_eq!(hex_bytes("zz"), None);
        let padded = "q83vASNFZ4mrze8BI0VniavN7wE=";
        assert_eq!(base64url_lenient(padded).unwrap().len(), 20);
        assert_eq!(
            base64url_lenient(padded.trim_end_matches('='))
                .unwrap()
                .len(),
            20
        );
    }
}
