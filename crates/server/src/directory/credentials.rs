//! An app's secretless credentials: the X.509 certificates whose keys sign
//! its client assertions (`private_key_jwt`), and the external issuers it
//! trusts for workload identity federation. Both are public material: the
//! private keys never leave the app.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
    RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_protocol::PublicJwk;
use serde_json::Value;
use x509_cert::der::{Decode, Encode};

/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
/// `id-ecPublicKey` (RFC 5480).
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// `secp256r1`, P-256 (RFC 5480).
const P256: &str = "1.2.840.10045.3.1.7";

/// A public key an assertion may be signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA, as the DER `RSAPublicKey` of a certificate.
    RsaDer(Vec<u8>),
    /// RSA, as a JWK's modulus and exponent (big-endian).
    RsaComponents { n: Vec<u8>, e: Vec<u8> },
    /// P-256, as an uncompressed point.
    P256(Vec<u8>),
}

impl PublicKey {
    /// The JWS algorithms this key verifies: the alg must fit the key's
    /// type, so a public key is never taken for an HMAC secret.
    pub fn algorithms(&self) -> &'static str {
        match self {
            PublicKey::RsaDer(_) | PublicKey::RsaComponents { .. } => "RS256,PS256",
            PublicKey::P256(_) => "ES256",
        }
    }

    /// Whether `alg` fits this key.
    pub fn takes(&self, alg: &str) -> bool {
        self.algorithms().split(',').any(|a| a == alg)
    }

    /// Whether `signature` over `signed` verifies with this key under
    /// `alg` (false for an alg the key does not take).
    pub fn verifies(&self, alg: &str, signed: &[u8], signature: &[u8]) -> bool {
        let rsa = match alg {
            "RS256" => &RSA_PKCS1_2048_8192_SHA256,
            "PS256" => &RSA_PSS_2048_8192_SHA256,
            "ES256" => {
                return match self {
                    PublicKey::P256(point) => {
                        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                            .verify(signed, signature)
                            .is_ok()
                    }
                    _ => false,
                };
            }
            _ => return false,
        };
        match self {
            PublicKey::RsaDer(der) => UnparsedPublicKey::new(rsa, der)
                .verify(signed, signature)
                .is_ok(),
            PublicKey::RsaComponents { n, e } => RsaPublicKeyComponents { n, e }
                .verify(rsa, signed, signature)
                .is_ok(),
            PublicKey::P256(_) => false,
        }
    }

    /// A public JWK (RFC 7517): RSA or P-256 EC, as `PublicJwk` reads it
    /// (the one reader of JWKs, the resource middleware's too); `None` for
    /// anything else, a private or symmetric key included.
    pub fn from_jwk(jwk: &Value) -> Option<PublicKey> {
        Some(match PublicJwk::from_value(jwk)? {
            PublicJwk::Rsa { n, e } => PublicKey::RsaComponents { n, e },
            PublicJwk::P256 { point } => PublicKey::P256(point),
        })
    }
}

/// A registered X.509 certificate, known by its thumbprints as Azure AD
/// knows it: `x5t` (SHA-1 of the DER) and `x5t#S256` (SHA-256).
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub sha1: Vec<u8>,
    pub sha256: Vec<u8>,
    /// Validity, in Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub key: PublicKey,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// A DER certificate with an RSA or P-256 key.
    pub fn from_der(der: &[u8]) -> Result<Certificate, String> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| format!("is not an X.509 certificate ({e})"))?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or("has a malformed public key")?
            .to_vec();
        let key = match spki.algorithm.oid.to_string().as_str() {
            RSA_ENCRYPTION => PublicKey::RsaDer(key_bytes),
            EC_PUBLIC_KEY
                if spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
                    .is_some_and(|curve| curve.to_string() == P256) =>
            {
                PublicKey::P256(key_bytes)
            }
            other => {
                return Err(format!(
                    "has a key of a kind Latchkey does not take ({other}): use RSA or P-256"
                ));
            }
        };
        let validity = &cert.tbs_certificate.validity;
        let seconds = |t: &x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
        let der = cert
            .to_der()
            .map_err(|e| format!("cannot be re-encoded ({e})"))?;
        Ok(Certificate {
            sha1: digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der)
                .as_ref()
                .to_vec(),
            sha256: digest::digest(&digest::SHA256, &der).as_ref().to_vec(),
            not_before: seconds(&validity.not_before),
            not_after: seconds(&validity.not_after),
            der,
            key,
        })
    }

    /// Every certificate in a PEM text. A private key in it is refused:
    /// the directory holds public material only.
    pub fn from_pem(text: &str) -> Result<Vec<Certificate>, String> {
        let blocks = pem::parse_many(text).map_err(|e| format!("is not PEM ({e})"))?;
        if blocks.iter().any(|b| b.tag().contains("PRIVATE KEY")) {
            return Err(
                "holds a private key: register only the certificate; its key stays with the app"
                    .into(),
            );
        }
        let certificates: Vec<Certificate> = blocks
            .iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| Certificate::from_der(b.contents()))
            .collect::<Result<_, _>>()?;
        if certificates.is_empty() {
            return Err("holds no '-----BEGIN CERTIFICATE-----' block".into());
        }
        Ok(certificates)
    }

    /// The SHA-1 thumbprint in upper-case hex, as Azure AD's messages and
    /// portal show it.
    pub fn thumbprint(&self) -> String {
        hex_upper(&self.sha1)
    }

    /// The base64 DER, as the store keeps it and `x5c` carries it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.der)
    }
}

/// Upper-case hex.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A trusted external issuer (Azure AD's federated identity credential):
/// an assertion it signed, for `subject` and one of `audiences`, is the
/// app's credential.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FederatedCredential {
    pub name: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    /// The issuer's keys, as the JWKS file's text; `None`: fetched from the
    /// issuer's OpenID configuration.
    pub jwks: Option<String>,
}

/// The audience Azure AD suggests for a federated credential.
pub const DEFAULT_FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The keys of a JWKS document, each with its `kid` when it has one; keys
/// of kinds Latchkey cannot verify with are left out. `None` for a text
/// that is not a JWKS.
pub fn jwks_keys(text: &str) -> Option<Vec<(Option<String>, PublicKey)>> {
    let document: Value = serde_json::from_str(text).ok()?;
    let keys = document.get("keys")?.as_array()?;
    Some(
        keys.iter()
            .filter(|k| {
                k.get("use")
                    .and_then(Value::as_str)
                    .is_none_or(|u| u == "sig")
            })
            .filter_map(|k| {
                let kid = k.get("kid").and_then(Value::as_str).map(str::to_owned);
                Some((kid, PublicKey::from_jwk(k)?))
            })
            .collect(),
    )
}
