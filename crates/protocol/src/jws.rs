//! A compact JWS (RFC 7515 §7.1) taken apart, before anything is verified:
//! its JSON header and claims, the bytes that were signed and the
//! signature. Every assertion the server reads (an on-behalf-of user
//! assertion, a client assertion) is parsed here, once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// A compact JWS: three base64url parts, a JSON object header and JSON
/// object claims.
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// `base64url(header) "." base64url(claims)`: what the signature covers.
    pub signed: &'a [u8],
    pub signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    /// `None` for anything that is not a compact JWS of JSON objects.
    pub fn parse(raw: &'a str) -> Option<Jws<'a>> {
        let (signed, signature) = raw.rsplit_once('.')?;
        let (header, claims) = signed.split_once('.')?;
        let object = |part: &str| -> Option<Map<String, Value>> {
            match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()? {
                Value::Object(map) => Some(map),
                _ => None,
            }
        };
        Some(Jws {
            header: object(header)?,
            claims: object(claims)?,
            signed: signed.as_bytes(),
            signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
        })
    }

    /// A string member of the header.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A time claim (`exp`, `nbf`, `iat`) in whole seconds. A fractional
    /// NumericDate (RFC 7519 §2 allows one; MSAL Python writes them) counts
    /// from its whole second.
    pub fn claim_seconds(&self, name: &str) -> Option<i64> {
        let value = self.claims.get(name)?;
        value.as_i64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f.floor() as i64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn a_compact_jws_is_three_base64url_parts_of_json_objects() {
        let good = format!(
            "{}.{}.{}",
            part(r#"{"alg":"RS256"}"#),
            part("{}"),
            part("sig")
        );
        let parsed = Jws::parse(&good).unwrap();
        assert_eq!(parsed.header_str("alg"), Some("RS256"));
        assert_eq!(parsed.signature, b"sig");
        for bad in [
            "not a token".to_owned(),
            format!("{}.{}", part("{}"), part("{}")),
            format!("{}.{}.{}", part("[]"), part("{}"), part("s")),
            format!("{}.{}.{}", part("{}"), part("not json"), part("s")),
            format!("{}.{}.a=", part("{}"), part("{}")),
            format!("{}.{}.{}.{}", part("{}"), part("{}"), part("{}"), part("s")),
        ] {
            assert!(Jws::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn time_claims_may_be_fractional() {
        let token = format!(
            "{}.{}.{}",
            part("{}"),
            part(r#"{"exp":1714564800.75,"iat":1714564200,"nbf":"soon","big":1e300}"#),
            part("s")
        );
        let parsed = Jws::parse(&token).unwrap();
        assert_eq!(parsed.claim_seconds("exp"), Some(1_714_564_800));
        assert_eq!(parsed.claim_seconds("iat"), Some(1_714_564_200));
        assert_eq!(parsed.claim_seconds("nbf"), None);
        assert_eq!(parsed.claim_seconds("big"), None);
        assert_eq!(parsed.claim_seconds("absent"), None);
    }
}
