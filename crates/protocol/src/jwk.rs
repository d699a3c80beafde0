//! A public JWK (RFC 7517, RFC 7518 §6) read from a JWKS, and which JWS
//! algorithms fit it. Pure: the verifiers (the resource middleware, the
//! server's client assertions) hold the crypto; this says what a key is and
//! which `alg` it may verify, so that check is written once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// A public signing key from a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicJwk {
    /// RSA: modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// EC P-256: the uncompressed point `04 || x || y` (65 bytes).
    P256 { point: Vec<u8> },
}

impl PublicJwk {
    /// An RSA or EC P-256 public JWK; `None` for anything else, a private
    /// (`d`) or symmetric (`oct`) key included, and for a key whose `use`
    /// is not `sig` or whose own `alg` does not fit its type.
    pub fn from_value(jwk: &Value) -> Option<PublicJwk> {
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        let member = |name: &str| {
            text(name).and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
        };
        if jwk.get("d").is_some() || text("use").is_some_and(|u| u != "sig") {
            return None;
        }
        let key = match text("kty")? {
            "RSA" => PublicJwk::Rsa {
                n: member("n")?,
                e: member("e")?,
            },
            "EC" if text("crv") == Some("P-256") => {
                let (x, y) = (member("x")?, member("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend(x);
                point.extend(y);
                PublicJwk::P256 { point }
            }
            _ => return None,
        };
        match text("alg") {
            Some(alg) if !key.fits(alg) => None,
            _ => Some(key),
        }
    }

    /// Whether a JWS signed with `alg` can be this key's: RS256 and PS256
    /// for RSA, ES256 for P-256; never `none` nor an HMAC. A token whose
    /// alg does not fit the key its `kid` names has an invalid signature.
    pub fn fits(&self, alg: &str) -> bool {
        matches!(
            (self, alg),
            (PublicJwk::Rsa { .. }, "RS256" | "PS256") | (PublicJwk::P256 { .. }, "ES256")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn each_type_takes_only_its_own_algorithms() {
        let ec =
            PublicJwk::from_value(&json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y})).unwrap();
        let rsa = PublicJwk::from_value(&json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})).unwrap();
        assert!(ec.fits("ES256") && !ec.fits("RS256") && !ec.fits("HS256") && !ec.fits("none"));
        assert!(rsa.fits("RS256") && rsa.fits("PS256") && !rsa.fits("ES256") && !rsa.fits("HS256"));
        let PublicJwk::P256 { point } = ec else {
            panic!()
        };
        assert_eq!((point.len(), point[0]), (65, 4));
    }

    #[test]
    fn private_symmetric_odd_curves_and_mismatched_algs_are_not_keys() {
        for jwk in [
            json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "d": X}),
            json!({"kty": "EC", "crv": "P-384", "x": X, "y": Y}),
            json!({"kty": "EC", "crv": "P-256", "x": "AQAB", "y": Y}),
            json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "alg": "RS256"}),
            json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "use": "enc"}),
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "ES256"}),
            json!({"kty": "oct", "k": "AQAB"}),
        ] {
            assert_eq!(PublicJwk::from_value(&jwk), None, "{jwk}");
        }
    }
}
