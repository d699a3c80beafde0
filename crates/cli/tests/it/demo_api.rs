//! `latchkey demo-api` against a running `latchkey serve`: tokens from the
//! real server, used at the real API.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use latchkey_protocol::BearerChallenge;

use crate::serve::{BIN, Server, serve, value_after};

pub struct DemoApi {
    pub base: String,
    server: Server,
}

fn demo_api(authority: &str, resource: &str) -> DemoApi {
    demo_api_with(authority, resource, &[])
}

pub fn demo_api_with(authority: &str, resource: &str, extra: &[&str]) -> DemoApi {
    let mut child = Command::new(BIN)
        .args([
            "demo-api",
            "--authority",
            authority,
            "--resource-id",
            resource,
            "--listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("Demo API listening on http://127.0.0.1:"),
        "{first}"
    );
    let base = first["Demo API listening on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    DemoApi {
        base,
        server: Server {
            child,
            lines: vec![first],
        },
    }
}

async fn token(base: &str, tenant: &str, form: &[(&str, &str)]) -> String {
    let body: String = form
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('%', "%25")
                    .replace(':', "%3A")
                    .replace('/', "%2F")
                    .replace('@', "%40")
                    .replace('+', "%2B")
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let response = reqwest::Client::new()
        .post(format!("{base}/{tenant}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn call(api: &DemoApi, path: &str, token: Option<&str>) -> (u16, Option<BearerChallenge>) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", api.base));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status().as_u16(), challenge)
}

#[tokio::test]
async fn tokens_from_serve_open_exactly_the_routes_they_should() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.path().to_str().unwrap(),
    ]);
    let base = server.lines[0]["Latchkey listening on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let tenant = value_after(&server.lines, "Demo tenant");
    let resource = value_after(&server.lines, "resource (API):");
    let client = value_after(&server.lines, "confidential client:");
    let secret = value_after(&server.lines, "client secret:");
    let password = value_after(&server.lines, "user password:");
    let api = demo_api(&format!("{base}/contoso.example"), &resource);

    let (status, challenge) = call(&api, "/api/read", None).await;
    assert_eq!(status, 401);
    let challenge = challenge.unwrap();
    assert_eq!(
        challenge.authorization_uri.unwrap(),
        format!("{base}/{tenant}/oauth2/authorize")
    );
    assert_eq!(
        challenge.error_description.unwrap(),
        "The access token is missing."
    );
    assert_eq!(challenge.resource_id.unwrap(), resource);
    assert_eq!(call(&api, "/health", None).await.0, 200);

    // An app token with the Files.ReadAll role reads, but is no admin.
    let app = token(
        &base,
        &tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client),
            ("client_secret", &secret),
            ("resource", &resource),
        ],
    )
    .await;
    assert_eq!(call(&api, "/api/read", Some(&app)).await.0, 200);
    let (status, challenge) = call(&api, "/api/admin", Some(&app)).await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge.unwrap().error.unwrap().as_str(),
        "insufficient_access"
    );

    // Frank, with only user_impersonation: re-authorize for Files.Read.
    let user = |upn: &'static str, scope: &'static str| {
        let (base, tenant, client, secret, password, resource) = (
            base.clone(),
            tenant.clone(),
            client.clone(),
            secret.clone(),
            password.clone(),
            resource.clone(),
        );
        async move {
            token(
                &base,
                &tenant,
                &[
                    ("grant_type", "password"),
                    ("client_id", &client),
                    ("client_secret", &secret),
                    ("username", upn),
                    ("password", &password),
                    ("resource", &resource),
                    ("scope", scope),
                ],
            )
            .await
        }
    };
    let narrow = user("frank@contoso.example", "user_impersonation").await;
    let (status, challenge) = call(&api, "/api/read", Some(&narrow)).await;
    assert_eq!(status, 403);
    let challenge = challenge.unwrap();
    assert_eq!(challenge.error.unwrap().as_str(), "insufficient_scope");
    assert_eq!(challenge.scope.as_deref(), Some("Files.Read"));

    let frank = user("frank@contoso.example", "Files.Read").await;
    assert_eq!(call(&api, "/api/read", Some(&frank)).await.0, 200);
    assert_eq!(call(&api, "/api/admin", Some(&frank)).await.0, 403);
    let ada = user("admin@contoso.example", "Files.Read").await;
    assert_eq!(call(&api, "/api/admin", Some(&ada)).await.0, 200);
    drop(api.server);
}

#[test]
fn a_multi_tenant_authority_needs_its_tenants_named() {
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args([
                "demo-api",
                "--authority",
                "http://127.0.0.1:1/common",
                "--resource-id",
                "https://files.contoso.example/",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "latchkey: configuring the resource middleware: the authority \
         'http://127.0.0.1:1/common' is multi-tenant: name the tenants whose tokens this API \
         accepts (or accept any tenant, explicitly)\n"
    );
    let both = run(&[
        "--tenant",
        "7fe81447-da57-4385-becb-6de57f21477e",
        "--any-tenant",
    ]);
    assert!(!both.status.success());
    // Any tenant starts, and says so: here it stops at a port in use,
    // after the warning.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let any = run(&["--any-tenant", "--listen", &port]);
    let log = String::from_utf8_lossy(&any.stderr);
    assert!(
        log.contains(" WARN ")
            && log.contains("accepting tokens from ANY tenant of the authority")
            && log.contains(&format!("latchkey: cannot listen on {port}")),
        "{log}"
    );
}

/// An API with an `app_id` (docs/directory-file.md): its v1 tokens name the
/// App ID URI, its v2 tokens the application id; `demo-api --app-id`
/// accepts both, and without it only the App ID URI.
#[tokio::test]
async fn with_its_app_id_demo_api_accepts_both_audience_forms() {
    const APP_ID: &str = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";
    const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
    const FILES: &str = "https://files.contoso.example/";
    let anchor = "app_id_uri = \"https://files.contoso.example/\"\n";
    let fixture = include_str!("../../../../tests/fixtures/directory.toml");
    assert!(fixture.contains(anchor));
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("directory.toml");
    std::fs::write(
        &file,
        fixture.replacen(anchor, &format!("{anchor}  app_id = \"{APP_ID}\"\n"), 1),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .arg("--directory")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _server = Server {
        child,
        lines: vec![first.clone()],
    };
    let base = first
        .split_whitespace()
        .nth(3)
        .unwrap_or_else(|| panic!("serve did not start: {first:?}"))
        .to_owned();
    let frank = [
        ("grant_type", "password"),
        ("client_id", "2d4d11a2-f814-46a7-890a-274a72a7309e"),
        ("client_secret", "web-secret-0123456789-abcdefghijklmnop"),
        ("username", "frank@contoso.example"),
        ("password", "frank-password"),
    ];
    let mut v1_form = frank.to_vec();
    v1_form.push(("resource", FILES));
    let v1 = token(&base, TENANT, &v1_form).await;
    let v2 = {
        let mut form = frank.to_vec();
        form.push(("scope", "https://files.contoso.example/Files.Read"));
        let response = reqwest::Client::new()
            .post(format!("{base}/{TENANT}/oauth2/v2.0/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    };

    let authority = format!("{base}/{TENANT}");
    let both = demo_api_with(&authority, FILES, &["--app-id", APP_ID]);
    assert_eq!(call(&both, "/api/read", Some(&v1)).await.0, 200);
    assert_eq!(call(&both, "/api/read", Some(&v2)).await.0, 200);

    let uri_only = demo_api(&authority, FILES);
    assert_eq!(call(&uri_only, "/api/read", Some(&v1)).await.0, 200);
    let (status, challenge) = call(&uri_only, "/api/read", Some(&v2)).await;
    assert_eq!(status, 401);
    assert_eq!(challenge.unwrap().error.unwrap().as_str(), "invalid_token");
}

/// `demo-api --require-mfa` (issue 16): a password-only token gets the
/// claims challenge, and `latchkey call` without `--login` reports its
/// claims with the exit code of a person's action.
#[tokio::test]
async fn with_require_mfa_a_password_only_token_gets_the_claims_challenge() {
    const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
    const FILES: &str = "https://files.contoso.example/";
    const PORTAL: &str = "c1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607";
    const PORTAL_SECRET: &str = "payroll-secret-0123456789-abcdefghijk";
    let data = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/directory.toml"
    );
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--directory",
            fixture,
            "--data",
        ])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let server = Server {
        child,
        lines: vec![first.clone()],
    };
    let base = first
        .split_whitespace()
        .nth(3)
        .unwrap_or_else(|| panic!("serve did not start: {first:?}"))
        .to_owned();
    let authority = format!("{base}/{TENANT}");
    let api = demo_api_with(&authority, FILES, &["--require-mfa"]);
    let quinn = token(
        &base,
        TENANT,
        &[
            ("grant_type", "password"),
            ("client_id", PORTAL),
            ("client_secret", PORTAL_SECRET),
            ("username", "quinn@contoso.example"),
            ("password", "quinn-password"),
            ("resource", FILES),
        ],
    )
    .await;
    let (status, challenge) = call(&api, "/api/read", Some(&quinn)).await;
    assert_eq!(status, 401);
    let challenge = challenge.unwrap();
    assert_eq!(challenge.error.unwrap().as_str(), "insufficient_claims");
    assert_eq!(
        challenge.claims.as_deref(),
        Some("eyJhY2Nlc3NfdG9rZW4iOnsiYW1yIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWVzIjpbIm1mYSJdfX19")
    );

    let url = format!("{}/api/read", api.base);
    let output = Command::new(BIN)
        .args(["call", &url, "--authority", &authority, "--resource", FILES])
        .args([
            "--client-id",
            PORTAL,
            "--username",
            "quinn@contoso.example",
            "--json",
        ])
        .env("LATCHKEY_CLIENT_SECRET", PORTAL_SECRET)
        .env("LATCHKEY_PASSWORD", "quinn-password")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["action"], "reauthorize_with_claims", "{report}");
    assert_eq!(
        report["claims"],
        r#"{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}"#
    );
    drop(server);
}
