//! An app's certificates and federated credentials as the directory file
//! gives them: a certificate's PEM in the file or in a file beside it, a
//! federated issuer with its keys in a JWKS file beside it or fetched
//! later from the issuer.

use std::path::Path;

use super::raw::{OneOrMany, RawCertificate, RawFederatedCredential};
use super::{DirectoryError, invalid};
use crate::directory::credentials::{
    Certificate, DEFAULT_FEDERATED_AUDIENCE, FederatedCredential, jwks_keys,
};

/// The certificates of `[[tenants.apps.certificates]]`, each `pem` or
/// `path` (relative to `base`, the directory file's folder).
pub(super) fn certificates(
    at: &str,
    raw: Vec<RawCertificate>,
    base: Option<&Path>,
) -> Result<Vec<Certificate>, DirectoryError> {
    let mut certificates: Vec<Certificate> = Vec::new();
    for (c, raw) in raw.into_iter().enumerate() {
        let at = format!("{at}.certificates[{c}]");
        let text = match (raw.pem, raw.path) {
            (Some(pem), None) => pem,
            (None, Some(path)) => read_beside(&at, base, &path)?,
            _ => return Err(invalid(at, "give exactly one of 'pem' and 'path'")),
        };
        for certificate in
            Certificate::from_pem(&text).map_err(|problem| invalid(&at, format!("it {problem}")))?
        {
            if certificates.iter().any(|c| c.sha1 == certificate.sha1) {
                return Err(invalid(
                    &at,
                    format!("certificate {} appears twice", certificate.thumbprint()),
                ));
            }
            certificates.push(certificate);
        }
    }
    Ok(certificates)
}

/// The issuers of `[[tenants.apps.federated_credentials]]`.
pub(super) fn federated_credentials(
    at: &str,
    raw: Vec<RawFederatedCredential>,
    base: Option<&Path>,
) -> Result<Vec<FederatedCredential>, DirectoryError> {
    let mut credentials = Vec::new();
    for (f, raw) in raw.into_iter().enumerate() {
        let at = format!("{at}.federated_credentials[{f}]");
        if !raw.issuer.starts_with("https://") && !raw.issuer.starts_with("http://") {
            return Err(invalid(
                format!("{at}.issuer"),
                format!("'{}' is not an issuer URL", raw.issuer),
            ));
        }
        if raw.subject.is_empty() {
            return Err(invalid(format!("{at}.subject"), "the subject is empty"));
        }
        let audiences = match raw.audience {
            None => vec![DEFAULT_FEDERATED_AUDIENCE.to_owned()],
            Some(OneOrMany::One(audience)) => vec![audience],
            Some(OneOrMany::Many(audiences)) => audiences,
        };
        if audiences.is_empty() || audiences.iter().any(String::is_empty) {
            return Err(invalid(format!("{at}.audience"), "an audience is empty"));
        }
        let jwks = match raw.jwks_path {
            None => None,
            Some(path) => {
                let at = format!("{at}.jwks_path");
                let text = read_beside(&at, base, &path)?;
                match jwks_keys(&text) {
                    Some(keys) if !keys.is_empty() => Some(text),
                    Some(_) => {
                        return Err(invalid(at, "the JWKS holds no RSA or P-256 signing key"));
                    }
                    None => return Err(invalid(at, "the file is not a JWKS ({\"keys\": [...]})")),
                }
            }
        };
        credentials.push(FederatedCredential {
            name: raw.name,
            issuer: raw.issuer,
            subject: raw.subject,
            audiences,
            jwks,
        });
    }
    Ok(credentials)
}

/// A file named relative to the directory file.
fn read_beside(at: &str, base: Option<&Path>, path: &str) -> Result<String, DirectoryError> {
    let base = base.ok_or_else(|| {
        invalid(
            at,
            "a path needs the directory file's location: load the directory from a file",
        )
    })?;
    let full = base.join(path);
    std::fs::read_to_string(&full)
        .map_err(|e| invalid(at, format!("cannot read {}: {e}", full.display())))
}
