//! `serve --managed-identity-listen`: the environment an app sets, the
//! endpoints on their own listener only, and the secret kept 0600.

use std::process::Command;

use serde_json::Value;

use crate::serve::{BIN, serve};

/// The value of the `  NAME=value` line `serve` printed.
fn env_line(lines: &[String], name: &str) -> String {
    let prefix = format!("{name}=");
    lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} line in {lines:?}"))
        .to_owned()
}

fn start(data: &std::path::Path, extra: &[&str]) -> crate::serve::Server {
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().unwrap(),
        "--managed-identity-listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    serve(&args)
}

#[tokio::test]
async fn serve_prints_the_environment_and_serves_it_on_its_own_listener_only() {
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &[]);
    let lines = &server.lines;
    // The "listening" line stays first and unchanged; the demo tenant is
    // the only one, so no --managed-identity-tenant is needed.
    assert!(
        lines[0].starts_with("Latchkey listening on http://127.0.0.1:"),
        "{lines:?}"
    );
    let base = lines[0].split_whitespace().nth(3).unwrap().to_owned();
    assert!(
        lines[1].starts_with("Managed identity endpoints listening on http://127.0.0.1:")
            && lines[1]
                .contains("for tenant Contoso (demo) (7fe81447-da57-4385-becb-6de57f21477e)"),
        "{lines:?}"
    );
    let endpoint = env_line(lines, "IDENTITY_ENDPOINT");
    let secret = env_line(lines, "IDENTITY_HEADER");
    let host = env_line(lines, "AZURE_POD_IDENTITY_AUTHORITY_HOST");
    assert_eq!(endpoint, format!("{host}/msi/token"));
    assert_ne!(host, base);

    let http = reqwest::Client::new();
    let resource = "https://files.contoso.example/";
    let response = http
        .get(&endpoint)
        .query(&[("resource", resource), ("api-version", "2019-08-01")])
        .header("X-IDENTITY-HEADER", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["client_id"], "8f4b2c6d-1e3a-4b5c-9d7e-0a1b2c3d4e5f");
    assert_eq!(doc["token_type"], "Bearer");
    let response = http
        .get(format!("{host}/metadata/identity/oauth2/token"))
        .query(&[("resource", resource), ("api-version", "2018-02-01")])
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Not on the main listener: 404 there, as any unknown route.
    for path in ["/msi/token", "/metadata/identity/oauth2/token"] {
        let response = http
            .get(format!("{base}{path}"))
            .query(&[("resource", resource), ("api-version", "2019-08-01")])
            .header("X-IDENTITY-HEADER", &secret)
            .header("Metadata", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }

    // The secret is kept 0600 in the data directory, and reused.
    let file = data.path().join("managed-identity-secret");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), secret);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    drop(server);
    let again = start(data.path(), &[]);
    assert_eq!(env_line(&again.lines, "IDENTITY_HEADER"), secret);
}

#[test]
fn a_given_secret_is_used_and_a_short_one_refused() {
    let data = tempfile::tempdir().unwrap();
    let server = start(
        data.path(),
        &["--managed-identity-secret", "given-secret-0123456789"],
    );
    assert_eq!(
        env_line(&server.lines, "IDENTITY_HEADER"),
        "given-secret-0123456789"
    );
    assert!(!data.path().join("managed-identity-secret").exists());
    drop(server);
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--managed-identity-listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data.path())
        .env("LATCHKEY_MANAGED_IDENTITY_SECRET", "short")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--managed-identity-secret needs at least 16 characters")
    );
}

#[test]
fn several_tenants_need_one_named() {
    let data = tempfile::tempdir().unwrap();
    let directory = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/directory.toml"
    );
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--managed-identity-listen",
            "127.0.0.1:0",
            "--directory",
            directory,
            "--data",
        ])
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the directory has several tenants: name the one whose managed identities are served with --managed-identity-tenant"),
        "{stderr}"
    );
    // The tenant flag without the listener is a usage error.
    let output = Command::new(BIN)
        .args(["serve", "--managed-identity-tenant", "contoso.example"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
