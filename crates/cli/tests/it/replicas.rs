//! Two `latchkey serve` processes on one database, as replicas behind a
//! load balancer, on both engines: 1,000 trials of two concurrent
//! redemptions of one code (one at each replica) and 1,000 of two
//! concurrent refreshes of one refresh token (strict rotation: the
//! tenant's reuse interval is 0). Exactly one wins each trial;
//! the other is `invalid_grant`; never a 5xx. Then a replica killed with
//! SIGKILL under sustained issuance loses nothing it answered.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::postgres;
use crate::serve::BIN;
use crate::sign_in::sign_in_frank;

const TENANT: &str = "7fe81447-da57-4385-becb-6de57f21477e";
const WEB: &str = "2d4d11a2-f814-46a7-890a-274a72a7309e";
const SECRET: &str = "web-secret-0123456789-abcdefghijklmnop";
const CALLBACK: &str = "http://localhost:5000/callback";
const TRIALS: usize = 1000;

/// The Contoso test directory, shared with the other test suites.
const DIRECTORY: &str = include_str!("../../../../tests/fixtures/directory.toml");

/// Where the replicas keep their state: a SQLite file, or a fresh
/// PostgreSQL schema (dropped when done).
pub(crate) enum Database {
    Sqlite(tempfile::TempDir),
    Postgres(postgres::Schema),
}

impl Database {
    fn sqlite() -> Database {
        Database::Sqlite(tempfile::tempdir().unwrap())
    }

    /// `None` when the run opted out (`tests/support/postgres.rs` decides).
    pub(crate) async fn postgres() -> Option<Database> {
        postgres::fresh_schema("r").await.map(Database::Postgres)
    }

    pub(crate) fn url(&self) -> String {
        match self {
            Database::Sqlite(dir) => format!("sqlite://{}", dir.path().join("db").display()),
            Database::Postgres(schema) => schema.url_with_search_path(),
        }
    }

    pub(crate) async fn drop_schema(self) {
        if let Database::Postgres(schema) = self {
            schema.drop_schema().await;
        }
    }
}

pub(crate) struct Replica {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replica(database: &str, directory: &std::path::Path) -> Replica {
    replica_with(database, directory, &[])
}

pub(crate) fn replica_with(database: &str, directory: &std::path::Path, extra: &[&str]) -> Replica {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .arg("--directory")
        .arg(directory)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // `serve` says which store it uses (the password left out).
    let engine = if database.starts_with("postgres") {
        "(store: postgres postgres://"
    } else {
        "(store: sqlite "
    };
    assert!(first.contains(engine), "{first}");
    let base = first
        .split_whitespace()
        .nth(3)
        .unwrap_or_else(|| panic!("serve did not start: {first:?}"))
        .to_owned();
    Replica { child, base }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// For the scope Frank consented to: no consent page.
fn authorize_url(base: &str) -> String {
    format!(
        "{base}/{TENANT}/oauth2/authorize?client_id={WEB}&response_type=code&resource=https%3A%2F%2Ffiles.contoso.example%2F&scope=Files.Read&redirect_uri=http%3A%2F%2Flocalhost%3A5000%2Fcallback"
    )
}

/// Signs Frank in at `base`; the browser's session then lives in the
/// shared store, good at every replica.
async fn sign_in(browser: &reqwest::Client, base: &str) {
    let page = browser
        .get(authorize_url(base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    sign_in_frank(browser, base, &page).await;
}

/// A fresh code from `base` for the signed-in browser.
async fn mint_code(browser: &reqwest::Client, base: &str) -> String {
    let response = browser.get(authorize_url(base)).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    let query = location.split_once('?').unwrap().1;
    let params: HashMap<String, String> = form_urlencoded(query);
    params["code"].clone()
}

fn form_urlencoded(query: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn token(
    http: &reqwest::Client,
    base: &str,
    grant: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut form = vec![("client_id", WEB), ("client_secret", SECRET)];
    form.extend_from_slice(grant);
    let response = http
        .post(format!("{base}/{TENANT}/oauth2/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn redeem(http: &reqwest::Client, base: &str, code: &str) -> (u16, serde_json::Value) {
    token(
        http,
        base,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await
}

async fn refresh(http: &reqwest::Client, base: &str, rt: &str) -> (u16, serde_json::Value) {
    token(
        http,
        base,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

/// One winner and one `invalid_grant`, in either order.
fn one_winner(trial: usize, what: &str, outcomes: [(u16, serde_json::Value); 2]) {
    let mut statuses = [outcomes[0].0, outcomes[1].0];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "{what} trial {trial}: {outcomes:?}");
    let loser = outcomes.iter().find(|(s, _)| *s == 400).unwrap();
    assert_eq!(loser.1["error"], "invalid_grant", "{what} trial {trial}");
}

async fn races(database: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("directory.toml");
    // Strict rotation: with the reuse interval (docs/security.md) two
    // refreshes at once both get answers, by design.
    let strict = DIRECTORY.replace(
        "domains = [\"contoso.example\"]\n",
        "domains = [\"contoso.example\"]\nrefresh_token_reuse_seconds = 0\n",
    );
    assert_ne!(strict, DIRECTORY);
    std::fs::write(&directory, strict).unwrap();
    let url = database.url();
    let a = replica(&url, &directory);
    let b = replica(&url, &directory);
    let browser = http();
    sign_in(&browser, &a.base).await;
    let api = http();
    for trial in 0..TRIALS {
        // Minted at either replica: the session is the store's.
        let code = mint_code(&browser, if trial % 2 == 0 { &a.base } else { &b.base }).await;
        let (x, y) = tokio::join!(redeem(&api, &a.base, &code), redeem(&api, &b.base, &code));
        one_winner(trial, "code", [x, y]);
    }
    for trial in 0..TRIALS {
        let code = mint_code(&browser, &b.base).await;
        let (status, tokens) = redeem(&api, &a.base, &code).await;
        assert_eq!(status, 200, "{tokens}");
        let rt = tokens["refresh_token"].as_str().unwrap();
        let (x, y) = tokio::join!(refresh(&api, &a.base, rt), refresh(&api, &b.base, rt));
        one_winner(trial, "refresh", [x, y]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_race_on_sqlite() {
    let database = Database::sqlite();
    races(&database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_race_on_postgres() {
    let Some(database) = Database::postgres().await else {
        return;
    };
    races(&database).await;
    database.drop_schema().await;
}

/// SIGKILL under sustained issuance, then a restart: every refresh token a
/// client was answered with still works, and every code redeemed stays
/// redeemed.
async fn crash_safety(database: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("directory.toml");
    std::fs::write(&directory, DIRECTORY).unwrap();
    let url = database.url();
    let mut server = replica(&url, &directory);
    let browser = http();
    sign_in(&browser, &server.base).await;
    let api = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = server.base.clone();
    // Issue for a while from several concurrent clients, then kill.
    let issued = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (browser, api, base, issued) =
                (browser.clone(), api.clone(), base.clone(), issued.clone());
            tokio::spawn(async move {
                loop {
                    let Ok(response) = browser.get(authorize_url(&base)).send().await else {
                        return;
                    };
                    let Some(location) = response.headers().get("location") else {
                        return;
                    };
                    let code = form_urlencoded(
                        location.to_str().unwrap().split_once('?').unwrap().1,
                    )["code"]
                        .clone();
                    let form = [
                        ("client_id", WEB),
                        ("client_secret", SECRET),
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", CALLBACK),
                    ];
                    let Ok(response) = api
                        .post(format!("{base}/{TENANT}/oauth2/token"))
                        .form(&form)
                        .send()
                        .await
                    else {
                        return;
                    };
                    // Only a complete answer counts as received.
                    let Ok(tokens) = response.json::<serde_json::Value>().await else {
                        return;
                    };
                    if let Some(rt) = tokens["refresh_token"].as_str() {
                        issued.lock().unwrap().push((code, rt.to_owned()));
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while issued.lock().unwrap().len() < 200 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL: no shutdown, no flush.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for worker in workers {
        let _ = worker.await;
    }
    let issued = issued.lock().unwrap().clone();
    assert!(
        issued.len() >= 50,
        "too little issued before the kill: {}",
        issued.len()
    );

    let restarted = replica(&url, &directory);
    let check = http();
    for (code, rt) in &issued {
        let (status, body) = refresh(&check, &restarted.base, rt).await;
        assert_eq!(
            status, 200,
            "a refresh token answered before the crash: {body}"
        );
        let (status, body) = redeem(&check, &restarted.base, code).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
    }
}

/// SIGKILL in the middle of SQLite's group commits (many rotations at
/// once share a commit on the writer thread), then a restart, with strict
/// rotation: every rotation a client was answered happened exactly once
/// (its new token works, its old one is spent); every other rotation
/// happened once or not at all (its old token is spent or still works).
async fn group_commit_crash(database: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("directory.toml");
    let anchor = "domains = [\"contoso.example\"]\n";
    assert!(DIRECTORY.contains(anchor));
    let strict = DIRECTORY.replacen(
        anchor,
        &format!("{anchor}refresh_token_reuse_seconds = 0\n"),
        1,
    );
    std::fs::write(&directory, strict).unwrap();
    let url = database.url();
    let mut server = replica(&url, &directory);
    let browser = http();
    sign_in(&browser, &server.base).await;
    // A pool of refresh tokens, each to be rotated once.
    let mut pool = Vec::new();
    for _ in 0..240 {
        let code = mint_code(&browser, &server.base).await;
        let (status, body) = redeem(&browser, &server.base, &code).await;
        assert_eq!(status, 200, "{body}");
        pool.push(body["refresh_token"].as_str().unwrap().to_owned());
    }
    let pool = std::sync::Arc::new(std::sync::Mutex::new(pool));
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let attempted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let base = server.base.clone();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (pool, answered, attempted, base) = (
                pool.clone(),
                answered.clone(),
                attempted.clone(),
                base.clone(),
            );
            tokio::spawn(async move {
                let api = http();
                loop {
                    let Some(old) = pool.lock().unwrap().pop() else {
                        return;
                    };
                    attempted.lock().unwrap().push(old.clone());
                    let form = [
                        ("client_id", WEB),
                        ("client_secret", SECRET),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", old.as_str()),
                    ];
                    let Ok(response) = api
                        .post(format!("{base}/{TENANT}/oauth2/token"))
                        .form(&form)
                        .send()
                        .await
                    else {
                        return;
                    };
                    let Ok(tokens) = response.json::<serde_json::Value>().await else {
                        return;
                    };
                    let new = tokens["refresh_token"]
                        .as_str()
                        .expect("rotated")
                        .to_owned();
                    answered.lock().unwrap().push((old, new));
                }
            })
        })
        .collect();
    let started = Instant::now();
    while answered.lock().unwrap().len() < 80 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for worker in workers {
        let _ = worker.await;
    }
    let answered = answered.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    assert!(
        answered.len() >= 40,
        "too little rotated before the kill: {}",
        answered.len()
    );

    let restarted = replica(&url, &directory);
    let check = http();
    for (old, new) in &answered {
        let (status, body) = refresh(&check, &restarted.base, new).await;
        assert_eq!(
            status, 200,
            "a rotation answered before the crash was lost: {body}"
        );
        let (status, body) = refresh(&check, &restarted.base, old).await;
        assert_eq!(
            status, 400,
            "an answered rotation's old token rotated again: {body}"
        );
    }
    // The rest were either committed unanswered (spent) or never written
    // (still good, once).
    let unanswered = attempted
        .iter()
        .filter(|old| !answered.iter().any(|(a, _)| a == *old));
    for old in unanswered {
        let (first, _) = refresh(&check, &restarted.base, old).await;
        assert!(first == 200 || first == 400, "{first}");
        let (second, body) = refresh(&check, &restarted.base, old).await;
        assert_eq!(second, 400, "a token rotated twice: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_a_group_commit_loses_and_doubles_nothing_on_sqlite() {
    group_commit_crash(&Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_concurrent_rotations_loses_and_doubles_nothing_on_postgres() {
    let Some(database) = Database::postgres().await else {
        return;
    };
    group_commit_crash(&database).await;
    database.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_on_sqlite() {
    crash_safety(&Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_on_postgres() {
    let Some(database) = Database::postgres().await else {
        return;
    };
    crash_safety(&database).await;
    database.drop_schema().await;
}

/// A replica restarted with a new directory file (a rotated client secret,
/// a new app) writes it to the store; the replicas still running serve it
/// within their reload interval.
async fn directory_changes_reach_every_replica(database: &Database) {
    // The old directory: the shared one, the web app without client credentials.
    const WEB_GRANTS: &str = r#"grant_types = ["authorization_code", "refresh_token", "client_credentials", "password"]"#;
    assert_eq!(DIRECTORY.matches(WEB_GRANTS).count(), 1);
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.toml");
    std::fs::write(
        &old,
        DIRECTORY.replace(
            WEB_GRANTS,
            r#"grant_types = ["authorization_code", "refresh_token", "password"]"#,
        ),
    )
    .unwrap();
    // The new: the shared one, the web app's secret rotated.
    const NEW_SECRET: &str = "rotated-secret-0123456789-abcdefghijk";
    let new = dir.path().join("new.toml");
    std::fs::write(&new, DIRECTORY.replace(SECRET, NEW_SECRET)).unwrap();
    let url = database.url();
    let running = replica_with(&url, &old, &["--key-reload-interval", "1"]);
    let http = reqwest::Client::new();
    let client_credentials = |secret: &'static str| {
        let (http, base) = (http.clone(), running.base.clone());
        async move {
            http.post(format!("{base}/{TENANT}/oauth2/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", WEB),
                    ("client_secret", secret),
                    ("resource", "https://files.contoso.example/"),
                ])
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        client_credentials(SECRET).await["error"],
        "unauthorized_client"
    );
    let _restarted = replica(&url, &new);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = client_credentials(NEW_SECRET).await;
        if answer["access_token"].is_string() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the running replica never saw the new directory: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(client_credentials(SECRET).await["error"], "invalid_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_changes_reach_every_replica_on_sqlite() {
    directory_changes_reach_every_replica(&Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_changes_reach_every_replica_on_postgres() {
    let Some(database) = Database::postgres().await else {
        return;
    };
    directory_changes_reach_every_replica(&database).await;
    database.drop_schema().await;
}
