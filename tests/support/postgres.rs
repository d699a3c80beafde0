//! The one place the Rust tests decide whether PostgreSQL runs, included
//! by the server's and the cli's test binaries (`#[path]`, not a crate: a
//! test-support crate would cost one more link).
//!
//! `LATCHKEY_TEST_POSTGRES_URL` names the server (`./test` sets it). Unset,
//! or unreachable, is a failure: a green run has run the PostgreSQL tests.
//! Only `LATCHKEY_TEST_POSTGRES=skip` skips them, and says so on the
//! terminal (past the test harness's capture).

use std::io::Write;

/// Set to `skip` to run without PostgreSQL.
pub const OPT_OUT: &str = "LATCHKEY_TEST_POSTGRES";
pub const URL: &str = "LATCHKEY_TEST_POSTGRES_URL";

/// The server's URL, or `None` when the run opted out. Panics without it.
pub fn url() -> Option<String> {
    if std::env::var(OPT_OUT).as_deref() == Ok("skip") {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** {OPT_OUT}=skip: the PostgreSQL tests are SKIPPED, and pass without running ***\n"
            );
        });
        return None;
    }
    match std::env::var(URL) {
        Ok(url) => Some(url),
        Err(_) => panic!(
            "{URL} is not set: the PostgreSQL tests need a server (./test provides one); \
             set {OPT_OUT}=skip to skip them"
        ),
    }
}

/// A fresh schema (`{prefix}_{uuid}`) on the server, for one test; `None`
/// when the run opted out. Panics when the server cannot be reached.
pub async fn fresh_schema(prefix: &str) -> Option<Schema> {
    let url = url()?;
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {URL} ({url}): {e}"));
    sqlx::query(&format!("CREATE SCHEMA {name}"))
        .execute(&admin)
        .await
        .unwrap();
    Some(Schema { admin, url, name })
}

/// A schema of one test's own; `drop_schema` when the test is over.
pub struct Schema {
    admin: sqlx::PgPool,
    /// The server's URL (without the schema).
    pub url: String,
    pub name: String,
}

impl Schema {
    /// The server's URL with the schema as the connection's `search_path`.
    pub fn url_with_search_path(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.url, self.name)
    }

    pub async fn drop_schema(self) {
        let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await;
    }
}
