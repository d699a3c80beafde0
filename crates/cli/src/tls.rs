//! TLS for `latchkey serve`: a certificate and key given by the operator,
//! or a local CA and a server certificate made once in the data directory
//! (`--tls-self-signed`), whose CA clients are told to trust.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use anyhow::Context;
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
    if files.cert.exists() && files.key.exists() && dir.join("ca.pem").exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
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

    write_private(&files.key, &key.serialize_pem())?;
    write_private(&dir.join("ca-key.pem"), &ca_key.serialize_pem())?;
    std::fs::write(&files.cert, cert.pem())?;
    std::fs::write(dir.join("ca.pem"), ca.pem())?;
    Ok(files)
}

/// A key file only its owner can read.
fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(pem.as_bytes())?;
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, pem).with_context(|| format!("cannot write {}", path.display()))
    }
}
