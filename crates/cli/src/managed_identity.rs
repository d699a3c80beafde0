//! `serve --managed-identity-listen`: the App Service secret (given, or
//! made once and kept in the data directory) and the lines that tell an
//! app which environment variables reach the endpoints.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use latchkey_server::managed_identity::{APP_SERVICE_PATH, ManagedIdentityRouter};
use latchkey_server::private_files::{ensure_private_dir, ensure_private_file, write_private};
use latchkey_server::secrets::random_token;

/// The file in the data directory that keeps the generated secret.
pub const SECRET_FILE: &str = "managed-identity-secret";

/// The shortest `--managed-identity-secret` taken.
const MIN_SECRET_LEN: usize = 16;

/// The App Service protocol's secret: `given`, else the one kept in
/// `DATA/managed-identity-secret` (0600), made there on first use, so
/// that an app's `IDENTITY_HEADER` stays good across restarts.
pub fn secret(data: &Path, given: Option<&str>) -> anyhow::Result<String> {
    if let Some(secret) = given {
        if secret.chars().count() < MIN_SECRET_LEN {
            bail!("--managed-identity-secret needs at least {MIN_SECRET_LEN} characters");
        }
        if secret.chars().any(|c| c.is_control() || c.is_whitespace()) {
            bail!(
                "--managed-identity-secret must be one word of visible characters (it is sent in a header)"
            );
        }
        return Ok(secret.to_owned());
    }
    ensure_private_dir(data).with_context(|| {
        format!(
            "cannot create (or make private) the data directory {}",
            data.display()
        )
    })?;
    let path = data.join(SECRET_FILE);
    if path.exists() {
        ensure_private_file(&path)
            .with_context(|| format!("cannot make {} private", path.display()))?;
        let kept = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let kept = kept.trim();
        if kept.chars().count() >= MIN_SECRET_LEN {
            return Ok(kept.to_owned());
        }
    }
    let fresh = random_token(32).context("cannot draw a managed identity secret")?;
    write_private(&path, fresh.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(fresh)
}

/// Prints where the endpoints are and what an app sets to use them, one
/// `NAME=value` per line (after the "listening" line, which tests parse).
pub fn print_environment(local: SocketAddr, endpoints: &ManagedIdentityRouter, secret: &str) {
    let base = format!("http://{local}");
    say!(
        "Managed identity endpoints listening on {base} for tenant {} ({}); an app sets, for the App Service protocol:",
        endpoints.tenant_name,
        endpoints.tenant_id
    );
    say!("  IDENTITY_ENDPOINT={base}{APP_SERVICE_PATH}");
    say!("  IDENTITY_HEADER={secret}");
    say!("or, for the IMDS protocol:");
    say!("  AZURE_POD_IDENTITY_AUTHORITY_HOST={base}");
}
