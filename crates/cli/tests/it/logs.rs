//! `latchkey logs`: the sign-in log read from the store, by the ids a
//! failed request answered with; across a restart of `serve`; and shared
//! by two replicas on PostgreSQL.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::replicas::{Database, replica_with};
use crate::serve::BIN;

const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
const ROBOT: &str = "5c6b0b7e-2a4f-4d7e-8f38-4c1f0e9a7b21";
const ADMIN_KEY: &str = "logs-admin-key-0123456789abcdef";
const DIRECTORY: &str = include_str!("../../../../tests/fixtures/directory.toml");

/// A client credentials request with a wrong secret at `base`: its
/// trace and correlation ids.
async fn failed_token_request(base: &str, correlation: &str) -> (String, String) {
    let response = reqwest::Client::new()
        .post(format!("{base}/{TENANT}/oauth2/token"))
        .header("client-request-id", correlation)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ROBOT),
            ("client_secret", "not-the-robot-secret-0123456789abcdef"),
            ("resource", "https://files.contoso.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let doc: serde_json::Value = response.json().await.unwrap();
    (
        doc["trace_id"].as_str().unwrap().to_owned(),
        doc["correlation_id"].as_str().unwrap().to_owned(),
    )
}

/// `latchkey logs ARGS`: its standard output's lines (it must succeed).
fn logs(args: &[&str]) -> Vec<String> {
    let output = Command::new(BIN).arg("logs").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "latchkey logs {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `logs --json ARGS` until it prints at least `count` records (the log
/// is written off the request path), parsed.
fn json_records(args: &[&str], count: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        let lines = logs(&with_json);
        if lines.len() >= count || Instant::now() > deadline {
            return lines
                .iter()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn logs_find_a_failed_token_request_by_its_trace_and_correlation_ids() {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("directory.toml");
    std::fs::write(&directory, DIRECTORY).unwrap();
    let db = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let data_arg = "--database";
    let data_arg_value = db.as_str();
    let server = replica_with(&db, &directory, &[]);
    let base = server.base.clone();
    let (other, _) = failed_token_request(&base, "11111111-2222-4333-8444-555555555555").await;
    let correlation = "0f5c9a52-7b3e-4d8a-9c61-2e4b7a9d1f31";
    let (trace_id, correlation_id) = failed_token_request(&base, correlation).await;
    assert_eq!(correlation_id, correlation);

    let by_trace = json_records(&[data_arg, data_arg_value, "--trace-id", &trace_id], 1);
    assert_eq!(by_trace.len(), 1, "{by_trace:?}");
    let record = &by_trace[0];
    assert_eq!(record["trace_id"], trace_id.as_str());
    assert_eq!(record["correlation_id"], correlation);
    assert_eq!(record["error"], "invalid_client");
    assert_eq!(record["error_codes"], serde_json::json!([7000215]));
    assert_eq!(record["app"], ROBOT);
    assert_eq!(record["grant"], "client_credentials");
    assert_eq!(record["outcome"], "failure");
    assert_eq!(record["injected"], false);
    let by_correlation = json_records(
        &[data_arg, data_arg_value, "--correlation-id", correlation],
        1,
    );
    assert_eq!(by_correlation, by_trace);
    // Both, oldest first; the other filters; the table.
    let both = json_records(
        &[
            data_arg,
            data_arg_value,
            "--app",
            ROBOT,
            "--error",
            "AADSTS7000215",
            "--since",
            "1h",
        ],
        2,
    );
    assert_eq!(both.len(), 2);
    assert_eq!(both[0]["trace_id"], other.as_str());
    assert_eq!(both[1]["trace_id"], trace_id.as_str());
    assert!(
        json_records(
            &[data_arg, data_arg_value, "--user", "nobody@contoso.example"],
            0
        )
        .is_empty()
    );
    let table = logs(&[data_arg, data_arg_value, "--trace-id", &trace_id]);
    assert_eq!(table.len(), 2, "a header and the record: {table:?}");
    assert!(table[0].starts_with("TIME"));
    assert!(
        table[1].contains("FAILED") && table[1].contains(&trace_id),
        "{table:?}"
    );

    // --follow: the records so far, then the next one as it is written.
    let mut follow = Command::new(BIN)
        .args([
            "logs",
            "--json",
            "--follow",
            data_arg,
            data_arg_value,
            "--app",
            ROBOT,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    for _ in 0..2 {
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    let (next, _) = failed_token_request(&base, "22222222-3333-4444-8555-666666666666").await;
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let followed: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(followed["trace_id"], next.as_str());
    let _ = follow.kill();
    let _ = follow.wait();
    drop(server);

    // A bad --since is a usage error.
    let bad = Command::new(BIN)
        .args(["logs", data_arg, data_arg_value, "--since", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
}

#[tokio::test]
async fn the_log_survives_a_restart_of_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let directory = dir.path().join("directory.toml");
    std::fs::write(&directory, DIRECTORY).unwrap();
    let data = data.to_str().unwrap();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--directory",
        directory.to_str().unwrap(),
    ];
    let first = serve_with_directory(&args);
    let (before, _) = failed_token_request(&first.1, "33333333-4444-4555-8666-777777777777").await;
    assert_eq!(
        json_records(&["--data", data, "--trace-id", &before], 1).len(),
        1
    );
    drop(first);
    let second = serve_with_directory(&args);
    let (after, _) = failed_token_request(&second.1, "44444444-5555-4666-8777-888888888888").await;
    let both = json_records(&["--data", data], 2);
    let traces: Vec<&str> = both
        .iter()
        .map(|r| r["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(traces, [before.as_str(), after.as_str()]);
}

/// `latchkey serve ARGS` (which name a directory file): the process and
/// its base URL, from its first line.
fn serve_with_directory(args: &[&str]) -> (crate::serve::Server, String) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .split_whitespace()
        .nth(3)
        .unwrap_or_else(|| panic!("serve did not start: {first:?}"))
        .to_owned();
    (
        crate::serve::Server {
            child,
            lines: vec![first],
        },
        base,
    )
}

#[tokio::test]
async fn two_replicas_share_one_log_on_postgres() {
    let Some(database) = Database::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("directory.toml");
    std::fs::write(&directory, DIRECTORY).unwrap();
    let url = database.url();
    let a = replica_with(&url, &directory, &["--admin-key", ADMIN_KEY]);
    let b = replica_with(&url, &directory, &["--admin-key", ADMIN_KEY]);
    let (at_a, _) = failed_token_request(&a.base, "55555555-6666-4777-8888-999999999999").await;
    let (at_b, _) = failed_token_request(&b.base, "66666666-7777-4888-8999-aaaaaaaaaaaa").await;
    // Each replica's admin API finds the other's record.
    for (replica, trace_id) in [(&a, &at_b), (&b, &at_a)] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let body: serde_json::Value = reqwest::Client::new()
                .get(format!(
                    "{}/_admin/sign-ins?trace_id={trace_id}",
                    replica.base
                ))
                .bearer_auth(ADMIN_KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let found = body["value"].as_array().unwrap().len();
            if found == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "{trace_id} not shared: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // And `latchkey logs` reads both from the database.
    let both = json_records(&["--database", &url], 2);
    let mut traces: Vec<&str> = both
        .iter()
        .map(|r| r["trace_id"].as_str().unwrap())
        .collect();
    traces.sort();
    let mut expected = [at_a.as_str(), at_b.as_str()];
    expected.sort();
    assert_eq!(traces, expected);
    drop(a);
    drop(b);
    database.drop_schema().await;
}
