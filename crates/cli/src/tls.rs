//! TLS for `latchkey serve`: a certificate and key given by the operator,
//! or a local CA and a server certificate made once in the data directory
//! (`--tls-self-signed`), whose CA clients are told to trust.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use latchkey_server::private_files::{self, ensure_private_dir};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, SanType,
};

/// The PEM files a TLS listener uses.
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The local CA clients must trust (self-signed mode only).
    pub ca: Option<PathBuf>,
}

/// `{data}/tls/ca.pem` and a server certificate signed by it, for
/// localhost, 127.0.0.1, ::1 and `host`. Made once: later starts reuse
/// them, so clients keep trusting the same CA.
pub fn self_signed(data: &Path, host: IpAddr) -> anyhow::Result<TlsFiles> {
    let dir = data.join("tls");
    let files = TlsFiles {
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
        ca: Some(dir.join("ca.pem")),
    };
    ensure_private_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if files.cert.exists() && files.key.exists() && dir.join("ca.pem").exists() {
        return Ok(files);
    }
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Latchkey local CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key)?;

    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Latchkey");
    let mut names = vec![
        SanType::DnsName("localhost".try_into()?),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    if !host.is_loopback() && !host.is_unspecified() {
        names.push(SanType::IpAddress(host));
    }
    params.subject_alt_names = names;
    let cert = params.signed_by(&key, &ca, &ca_key)?;

    write_private(&files.key, key.serialize_pem().as_bytes())?;
    write_private(&dir.join("ca-key.pem"), ca_key.serialize_pem().as_bytes())?;
    write_private(&files.cert, cert.pem().as_bytes())?;
    write_private(&dir.join("ca.pem"), ca.pem().as_bytes())?;
    Ok(files)
}

/// Every file of the data directory is 0600 (`private_files`), certificates
/// included: they are the owner's to hand out.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    private_files::write_private(path, contents)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// An operator's own key file is theirs to manage (a group such as
/// `ssl-cert` may be meant to read it): warned about, not changed.
pub fn warn_if_readable_by_others(key: &Path) {
    if private_files::readable_by_others(key) {
        tracing::warn!(
            path = %key.display(),
            "the TLS key {} can be read by other users; `chmod 600` it",
            key.display()
        );
    }
}
