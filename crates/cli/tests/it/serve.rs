//! `latchkey serve`: the README's first command, and its failures.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

pub struct Server {
    pub child: Child,
    pub lines: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `latchkey serve ARGS` and reads its output up to the curl line.
pub fn serve(args: &[&str]) -> Server {
    serve_logging_to(args, Stdio::null())
}

/// `serve`, with its log (standard error) going to `log`.
pub fn serve_logging_to(args: &[&str], log: Stdio) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lines
        .iter()
        .any(|l: &String| l.trim_start().starts_with("curl "))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("serve did not print its demo in time: {lines:?}"),
        }
    }
    Server { child, lines }
}

pub fn value_after(lines: &[String], label: &str) -> String {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap();
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn serve_prints_a_demo_whose_curl_gets_a_token() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.path().to_str().unwrap(),
    ]);
    let listening = &server.lines[0];
    assert!(
        listening.starts_with("Latchkey listening on http://127.0.0.1:"),
        "{listening}"
    );
    assert!(listening.contains("store: sqlite"), "{listening}");
    let base = listening["Latchkey listening on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    // Run exactly what the user is told to paste: the URL and -d fields.
    let curl = server
        .lines
        .iter()
        .find(|l| l.trim_start().starts_with("curl "))
        .unwrap();
    let url = curl.split_whitespace().nth(2).unwrap();
    assert!(
        url.starts_with(&base),
        "the curl names the bound address: {url}"
    );
    let client_id = value_after(&server.lines, "confidential client:");
    let secret = value_after(&server.lines, "client secret:");
    let resource = value_after(&server.lines, "resource (API):");
    assert!(curl.contains(&format!("client_secret={secret}")));
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}&resource={}",
            resource.replace(':', "%3A").replace('/', "%2F")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["resource"], resource);

    // The demo user signs in with the printed password.
    let password = value_after(&server.lines, "user password:");
    let tenant = value_after(&server.lines, "Demo tenant");
    let public_client = value_after(&server.lines, "public client:");
    let response = reqwest::Client::new()
        .post(format!("{base}/{tenant}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=password&client_id={public_client}&username=frank%40contoso.example&password={password}&resource={}",
            resource.replace(':', "%3A").replace('/', "%2F")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn a_bad_directory_file_stops_serve_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("directory.toml");
    std::fs::write(
        &file,
        "[[tenants]]\nid = \"7fe81447-da57-4385-becb-6de57f21477e\"\n  [[tenants.apps]]\n  client_id = \"2d4d11a2-f814-46a7-890a-274a72a7309e\"\n  name = \"Web\"\n  secret = \"short-secret\"\n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .arg("--directory")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "latchkey: tenants[0].apps[0].secret: a client secret needs at least 32 characters"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("short-secret"),
        "the secret is not printed"
    );
}

#[test]
fn a_missing_directory_file_and_an_unknown_database_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--directory",
            "/nonexistent/directory.toml",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read the directory file /nonexistent/directory.toml"),
        "{stderr}"
    );

    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "mysql://x",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--database 'mysql://x' is neither sqlite://PATH nor postgres://")
    );
}

#[test]
fn a_taken_port_stops_serve() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--listen", &address, "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("cannot listen on {address}"))
    );
}

#[tokio::test]
async fn logs_carry_the_request_ids_and_never_the_secret() {
    let server = JsonLogged::start(&[]);
    let correlation = "0f5c9a52-7b3e-4d8a-9c61-2e4b7a9d1f30";
    let wrong = "a-wrong-secret-that-must-never-be-logged";
    let response = reqwest::Client::new()
        .post(format!("{}/contoso.example/oauth2/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("client-request-id", correlation)
        .body(format!(
            "grant_type=client_credentials&client_id=2d4d11a2-f814-46a7-890a-274a72a7309e&client_secret={wrong}&resource=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let trace_id = response.headers()["x-ms-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let logs = server.stop();
    assert!(!logs.contains(wrong), "the secret is not logged");
    let entry = JsonLogged::entry(&logs, &trace_id, "request refused");
    assert_eq!(entry["fields"]["error"], "invalid_client");
    assert_eq!(entry["fields"]["aadsts"], 7000215);
    assert_eq!(entry["fields"]["correlation_id"], correlation);
    assert_eq!(entry["fields"]["trace_id"], trace_id);
    assert_eq!(entry["fields"]["injected"], false);
}

#[test]
fn a_short_admin_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-key",
            "short",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--admin-key needs at least 16 characters")
    );
}

#[tokio::test]
async fn an_injected_error_is_marked_in_the_log() {
    let key = "admin-key-0123456789abcdef";
    let server = JsonLogged::start(&["--admin-key", key]);
    let http = reqwest::Client::new();
    let added = http
        .post(format!("{}/_admin/scenarios", server.base))
        .bearer_auth(key)
        .json(&serde_json::json!({"tenant": "contoso.example", "endpoint": "token", "error": "server_error"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let response = http
        .post(format!("{}/contoso.example/oauth2/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&client_id=0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11&username=x%40contoso.example&password=y&resource=https%3A%2F%2Ffiles.contoso.example%2F")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let trace_id = response.headers()["x-ms-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let entry = JsonLogged::entry(&server.stop(), &trace_id, "request refused");
    assert_eq!(entry["fields"]["injected"], true);
    assert_eq!(entry["fields"]["error"], "server_error");
}

/// `latchkey --log-format json serve` with `extra` flags, its stderr in a
/// file: stopped with SIGTERM by [`JsonLogged::stop`], which returns the log.
struct JsonLogged {
    child: Child,
    base: String,
    log_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl JsonLogged {
    fn start(extra: &[&str]) -> JsonLogged {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("stderr.log");
        let mut child = Command::new(BIN)
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .arg("--data")
            .arg(dir.path().join("db"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let base = first["Latchkey listening on ".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        JsonLogged {
            child,
            base,
            log_path,
            _dir: dir,
        }
    }

    /// SIGTERM, a clean exit (code 0), and the log.
    fn stop(mut self) -> String {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(self.child.wait().unwrap().code(), Some(0));
        std::fs::read_to_string(&self.log_path).unwrap()
    }

    /// The JSON log entry naming `trace_id` with `message`.
    fn entry(logs: &str, trace_id: &str, message: &str) -> serde_json::Value {
        let line = logs
            .lines()
            .find(|l| l.contains(trace_id) && l.contains(message))
            .unwrap_or_else(|| panic!("no '{message}' line names trace id {trace_id}: {logs}"));
        serde_json::from_str(line).unwrap()
    }
}

#[tokio::test]
async fn self_signed_tls_serves_https_with_a_ca_made_once() {
    let data = tempfile::tempdir().unwrap();
    let data_path = data.path().to_str().unwrap().to_owned();
    let first_run = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        &data_path,
        "--tls-self-signed",
    ]);
    assert!(
        first_run.lines[0].starts_with("Latchkey listening on https://127.0.0.1:"),
        "{}",
        first_run.lines[0]
    );
    let ca_path = data.path().join("tls/ca.pem");
    assert_eq!(
        first_run.lines[1],
        format!(
            "TLS: clients must trust the local CA at {}",
            ca_path.display()
        )
    );
    let ca = std::fs::read(&ca_path).unwrap();
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.path().join("tls/server-key.pem"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(
        key_mode & 0o777,
        0o600,
        "the private key is the owner's alone"
    );

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let token_url = |server: &Server| {
        let curl = server
            .lines
            .iter()
            .find(|l| l.trim_start().starts_with("curl "))
            .unwrap();
        curl.split_whitespace().nth(2).unwrap().to_owned()
    };
    let body = |server: &Server| {
        format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&resource=https%3A%2F%2Ffiles.contoso.example%2F",
            value_after(&server.lines, "confidential client:"),
            value_after(&server.lines, "client secret:")
        )
    };
    let url = token_url(&first_run);
    assert!(url.starts_with("https://"), "{url}");
    let response = trusting
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&first_run))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // No HSTS for a loopback host: it would pin the developer's
    // http://localhost redirect URIs to https (serve's `sends_hsts`).
    assert!(!response.headers().contains_key("strict-transport-security"));
    let token: serde_json::Value = response.json().await.unwrap();
    let claims = token["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(
        String::from_utf8_lossy(&base64_url_decode(&claims))
            .contains("\"iss\":\"https://127.0.0.1:")
    );
    // A client that does not trust the CA is refused by TLS itself.
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
    // `latchkey token` trusts it when told to with --ca-file.
    let authority = url.trim_end_matches("/oauth2/token").to_owned();
    let cli_token = |ca_file: Option<&std::path::Path>| {
        let mut command = Command::new(BIN);
        command.args([
            "token",
            "--authority",
            &authority,
            "--resource",
            "https://files.contoso.example/",
            "--client-id",
            &value_after(&first_run.lines, "confidential client:"),
            // One argument: a random secret may begin with `-`.
            &format!(
                "--client-secret={}",
                value_after(&first_run.lines, "client secret:")
            ),
            "--max-attempts",
            "1",
        ]);
        if let Some(path) = ca_file {
            command.arg("--ca-file").arg(path);
        }
        command.output().unwrap()
    };
    let trusted = cli_token(Some(&ca_path));
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let untrusted = cli_token(None);
    assert_ne!(untrusted.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&untrusted.stderr).contains("certificate"),
        "{}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
    drop(first_run);

    // A restart keeps the CA: clients need not be told again.
    let second_run = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        &data_path,
        "--tls-self-signed",
    ]);
    assert_eq!(std::fs::read(&ca_path).unwrap(), ca);
    let response = trusting
        .post(token_url(&second_run))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&second_run))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    drop(second_run);

    // The operator's own certificate and key (here: the ones made above).
    let cert = data
        .path()
        .join("tls/server.pem")
        .to_str()
        .unwrap()
        .to_owned();
    let key = data
        .path()
        .join("tls/server-key.pem")
        .to_str()
        .unwrap()
        .to_owned();
    let own = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        &data_path,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    assert!(
        own.lines[0].starts_with("Latchkey listening on https://"),
        "{}",
        own.lines[0]
    );
    assert!(!own.lines[1].starts_with("TLS:"), "no local CA to announce");
    let response = trusting
        .post(token_url(&own))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&own))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// base64url without padding, decoded.
fn base64_url_decode(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let Some(value) = alphabet.iter().position(|&a| a == c) else {
            continue;
        };
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[test]
fn a_certificate_without_its_key_is_a_usage_error() {
    let output = Command::new(BIN)
        .args(["serve", "--tls-cert", "/tmp/cert.pem"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tls-key"));
}

#[test]
fn db_migrate_prepares_a_store_and_refuses_an_unknown_one() {
    let data = tempfile::tempdir().unwrap();
    let migrated = Command::new(BIN)
        .args(["db", "migrate", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(
        migrated.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert!(
        String::from_utf8_lossy(&migrated.stdout).ends_with("the schema is current\n"),
        "{}",
        String::from_utf8_lossy(&migrated.stdout)
    );
    assert!(data.path().join("latchkey.db").exists());
    let refused = Command::new(BIN)
        .args([
            "db",
            "migrate",
            "--database",
            "mysql://root:hunter2@db/latchkey",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("neither sqlite://PATH nor postgres://"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "no password in messages: {stderr}"
    );
}
