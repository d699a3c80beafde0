//! `latchkey keys rotate` under load: a new key is published before it
//! signs, so an API that refetches keys on its usual schedule never sees a
//! kid it does not know — zero false 401s while keys rotate.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::demo_api::demo_api_with;
use crate::serve::{BIN, serve, value_after};

const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
const FILES: &str = "https://files.contoso.example/";

fn kid_of(jwt: &str) -> String {
    use base64::Engine;
    let header = jwt.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

fn keys(args: &[&str]) -> String {
    let output = Command::new(BIN).arg("keys").args(args).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_under_load_without_a_false_401() {
    let data = tempfile::tempdir().unwrap();
    let data_path = data.path().to_str().unwrap().to_owned();
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        &data_path,
        "--key-reload-interval",
        "1",
    ]);
    let base = server.lines[0]
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    let client_id = value_after(&server.lines, "confidential client:");
    let secret = value_after(&server.lines, "client secret:");
    let api = demo_api_with(
        &format!("{base}/{TENANT}"),
        FILES,
        &["--key-refresh-interval", "1", "--token-cache", "0"],
    );
    let http = reqwest::Client::new();
    let jwks_kids = || async {
        let jwks: serde_json::Value = http
            .get(format!("{base}/{TENANT}/discovery/keys"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let first_kid = jwks_kids().await;
    assert_eq!(first_kid.len(), 1);

    let rotations = {
        let data_path = data_path.clone();
        tokio::task::spawn_blocking(move || {
            let mut said = Vec::new();
            for _ in 0..2 {
                std::thread::sleep(Duration::from_secs(1));
                said.push(keys(&[
                    "rotate",
                    "--data",
                    &data_path,
                    "--activate-after",
                    "4",
                ]));
                std::thread::sleep(Duration::from_secs(5));
            }
            said
        })
    };

    let mut kids_seen: Vec<String> = Vec::new();
    let mut calls = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(14) {
        let response = http
            .post(format!("{base}/{TENANT}/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
                ("resource", FILES),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let tokens: serde_json::Value = response.json().await.unwrap();
        let token = tokens["access_token"].as_str().unwrap();
        let kid = kid_of(token);
        if kids_seen.last() != Some(&kid) {
            kids_seen.push(kid);
        }
        let answer = http
            .get(format!("{}/api/read", api.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        assert_eq!(
            status,
            200,
            "call {calls}, kid {}: {:?}",
            kids_seen.last().unwrap(),
            answer.headers().get("www-authenticate")
        );
        calls += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let said = rotations.await.unwrap();
    assert_eq!(said.len(), 2);
    for line in &said {
        assert!(line.contains("new signing key"), "{line}");
    }
    assert_eq!(
        kids_seen.len(),
        3,
        "two rotations, three signing keys in turn: {kids_seen:?}"
    );
    assert_eq!(kids_seen[0], first_kid[0]);
    // Every key still published: each superseded one has unexpired tokens.
    let published = jwks_kids().await;
    assert_eq!(published, kids_seen);
    assert!(calls > 100, "under load: {calls} calls");

    let listed = keys(&["list", "--data", &data_path]);
    let roles: Vec<&str> = listed
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(roles, ["superseded", "superseded", "signing"], "{listed}");
}

#[test]
fn keys_rotate_and_list_handle_both_kinds() {
    let data = tempfile::tempdir().unwrap();
    let data_path = data.path().to_str().unwrap();
    let ec = keys(&[
        "rotate",
        "--data",
        data_path,
        "--alg",
        "ES256",
        "--activate-after",
        "0",
    ]);
    assert!(
        ec.contains("new signing key ") && ec.contains(" (ES256), published now"),
        "{ec}"
    );
    let rsa = keys(&["rotate", "--data", data_path, "--activate-after", "0"]);
    assert!(rsa.contains(" (RS256), published now"), "{rsa}");
    let second_ec = keys(&["rotate", "--data", data_path, "--alg", "ES256"]);
    assert!(
        second_ec.contains(" (ES256), published now, signing from "),
        "{second_ec}"
    );
    // Each kind rotates on its own: the RSA key signs, the first EC key
    // signs until the second's delay is over.
    let listed = keys(&["list", "--data", data_path]);
    let rows: Vec<(&str, &str)> = listed
        .lines()
        .skip(1)
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words[1], *words.last().unwrap())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("signing", "(RS256)"),
            ("signing", "(ES256)"),
            ("pending,", "(ES256)")
        ],
        "{listed}"
    );
    let refused = Command::new(BIN)
        .args(["keys", "rotate", "--data", data_path, "--alg", "HS256"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("'HS256' is not a signing algorithm (RS256 or ES256)"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
