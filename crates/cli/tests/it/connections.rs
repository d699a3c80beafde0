//! The serve loop under clients that connect and then dawdle: header and
//! body timeouts, the idle keep-alive timeout, in-flight permits taken only
//! once a request has arrived; HSTS over https; the data directory's modes.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::serve::{BIN, Server, serve, serve_logging_to, value_after};

fn base_of(server: &Server) -> String {
    server.lines[0]["Latchkey listening on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

async fn client_credentials(server: &Server, base: &str) -> reqwest::Response {
    let tenant = value_after(&server.lines, "Demo tenant");
    reqwest::Client::new()
        .post(format!("{base}/{tenant}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&resource=https%3A%2F%2Ffiles.contoso.example%2F",
            value_after(&server.lines, "confidential client:"),
            value_after(&server.lines, "client secret:")
        ))
        .send()
        .await
        .unwrap()
}

/// Reads until the server closes the connection; panics after 10 s.
async fn read_until_closed(mut stream: TcpStream) -> String {
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn dawdling_connections_hold_no_permit_and_are_closed_in_time() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.path().to_str().unwrap(),
        "--max-in-flight",
        "2",
        "--header-read-timeout",
        "2",
        "--body-read-timeout",
        "2",
        "--body-min-rate",
        "0",
        "--keep-alive-timeout",
        "2",
    ]);
    let base = base_of(&server);
    let address = base.trim_start_matches("http://").to_owned();
    let tenant = value_after(&server.lines, "Demo tenant");
    // Four times the in-flight limit: headers and then nothing…
    let mut headers_only = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "POST /{tenant}/oauth2/token HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        headers_only.push(stream);
    }
    // …and half-sent headers.
    let mut half_headers = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        let head = format!("POST /{tenant}/oauth2/token HTTP/1.1\r\nhost: {address}\r\ncont");
        stream.write_all(head.as_bytes()).await.unwrap();
        half_headers.push(stream);
    }
    // A well-behaved client is served meanwhile: never a 503.
    for _ in 0..5 {
        let response = client_credentials(&server, &base).await;
        assert_eq!(response.status(), 200);
        assert!(
            !response.headers().contains_key("strict-transport-security"),
            "no HSTS over http"
        );
    }
    // A connection that had its answer and then idles is closed too.
    let mut idle = TcpStream::connect(&address).await.unwrap();
    let get = format!("GET /{tenant}/discovery/keys HTTP/1.1\r\nhost: {address}\r\n\r\n");
    idle.write_all(get.as_bytes()).await.unwrap();
    assert!(
        read_until_closed(idle)
            .await
            .starts_with("HTTP/1.1 200 OK\r\n")
    );

    // The stalled bodies are answered with the JSON document once their
    // time is up, and the connections closed.
    for stream in headers_only {
        let response = read_until_closed(stream).await;
        assert!(
            response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{response}"
        );
        assert!(
            response.contains("\r\ncontent-type: application/json; charset=utf-8\r\n"),
            "{response}"
        );
        let body = response.split_once("\r\n\r\n").unwrap().1;
        let doc: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(doc["error"], "invalid_request");
        assert_eq!(doc["error_codes"], serde_json::json!([9002313]));
        assert!(doc["error_description"].as_str().unwrap().starts_with(
            "AADSTS9002313: Invalid request. The request body did not arrive in time.\r\n"
        ));
    }
    // Half-sent headers: closed without an answer (there is no request).
    for stream in half_headers {
        assert_eq!(read_until_closed(stream).await, "");
    }
}

/// What hyper refuses before any route runs (issue 14: "the JSON answers
/// for framing errors") is the catalogue's document all the same, with
/// hyper's status: the exact head, byte for byte but for the ids and dates.
#[tokio::test]
async fn what_hyper_refuses_before_routing_is_the_json_document() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.path().to_str().unwrap(),
    ]);
    let base = base_of(&server);
    let address = base.trim_start_matches("http://").to_owned();
    let tenant = value_after(&server.lines, "Demo tenant");
    let token = format!(
        "POST /{tenant}/oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n"
    );
    // More header lines than hyper reads (100): refused however the bytes
    // arrive (a long header's fate depends on how hyper's buffer grows).
    let many_headers: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
    let long_uri = format!(
        "GET /{tenant}/oauth2/authorize?state={} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let cases = [
        (
            format!("{token}content-length: abc\r\n\r\nabcd"),
            "400 Bad Request",
            "Invalid request. The request's HTTP head is malformed, so the request could not be read.",
        ),
        (
            format!("{token}content-length: 3\r\ncontent-length: 4\r\n\r\nabcd"),
            "400 Bad Request",
            "Invalid request. The request's HTTP head is malformed, so the request could not be read.",
        ),
        (
            format!("{token}transfer-encoding: gzip\r\n\r\nabcd"),
            "400 Bad Request",
            "Invalid request. The request's HTTP head is malformed, so the request could not be read.",
        ),
        (
            "GARBAGE\r\n\r\n".to_owned(),
            "400 Bad Request",
            "Invalid request. The request's HTTP head is malformed, so the request could not be read.",
        ),
        (
            format!("{token}{many_headers}\r\n"),
            "431 Request Header Fields Too Large",
            "Invalid request. The request's headers are too large.",
        ),
        (
            long_uri,
            "414 URI Too Long",
            "Invalid request. The request URI is too long.",
        ),
    ];
    for (request, status, message) in cases {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        // The server may answer and close before reading all of a long head.
        let _ = stream.write_all(request.as_bytes()).await;
        let response = read_until_closed(stream).await;
        let (head, body) = response.split_once("\r\n\r\n").expect(&response);
        let doc: serde_json::Value = serde_json::from_str(body).expect(body);
        let trace = doc["trace_id"].as_str().unwrap();
        let correlation = doc["correlation_id"].as_str().unwrap();
        let timestamp = doc["timestamp"].as_str().unwrap();
        let date = head.rsplit_once("\r\ndate: ").unwrap().1;
        assert_eq!(
            head,
            format!(
                "HTTP/1.1 {status}\r\ncache-control: no-store\r\npragma: no-cache\r\ncontent-type: application/json; charset=utf-8\r\nx-ms-request-id: {trace}\r\ncontent-length: {}\r\nconnection: close\r\ndate: {date}",
                body.len()
            )
        );
        assert_eq!(
            body,
            format!(
                r#"{{"error":"invalid_request","error_description":"AADSTS9002313: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}","error_codes":[9002313],"timestamp":"{timestamp}","trace_id":"{trace}","correlation_id":"{correlation}"}}"#
            )
        );
    }
    // The next connection is served as usual.
    assert_eq!(client_credentials(&server, &base).await.status(), 200);
}

#[test]
fn the_data_directory_and_its_files_are_the_owners_alone() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    let dir_arg = dir.to_str().unwrap().to_owned();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--data",
        &dir_arg,
        "--tls-self-signed",
    ];
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let private = [
        "latchkey.db",
        "latchkey.db-wal",
        "latchkey.db-shm",
        "tls/ca.pem",
        "tls/ca-key.pem",
        "tls/server.pem",
        "tls/server-key.pem",
    ];
    // Created so.
    let first = serve(&args);
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode("tls"), 0o700);
    for name in private {
        assert_eq!(mode(name), 0o600, "{name}");
    }
    drop(first);

    // Found otherwise (an older Latchkey, a careless copy): corrected at
    // start, with a warning that names the file.
    let loosen = |name: &str, mode: u32| {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    loosen("", 0o755);
    loosen("tls", 0o755);
    loosen("latchkey.db", 0o644);
    loosen("tls/server-key.pem", 0o644);
    let log_path = data.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let second = serve_logging_to(&args, log.into());
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode("tls"), 0o700);
    for name in private {
        assert_eq!(mode(name), 0o600, "{name}");
    }
    drop(second);
    let log = std::fs::read_to_string(&log_path).unwrap();
    for name in ["latchkey.db", "tls/server-key.pem"] {
        let path = dir.join(name);
        assert!(
            log.lines().any(|l| l.contains("WARN")
                && l.contains("mode 644 corrected to 600: only its owner may read it")
                && l.contains(&format!("path={}", path.display()))),
            "{name}: {log}"
        );
    }
}

#[test]
fn help_says_the_admin_key_is_safer_in_the_environment() {
    let output = std::process::Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    let admin = help
        .split("--admin-key")
        .nth(1)
        .unwrap()
        .split("\n      --")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        admin.contains(
            "Prefer the environment variable LATCHKEY_ADMIN_KEY: a flag's value is visible to every local user in the process list (`ps`)"
        ),
        "{admin}"
    );
    assert!(admin.contains("[env: LATCHKEY_ADMIN_KEY"), "{admin}");
}
