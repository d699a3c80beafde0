//! The store suite: one set of tests, run against both engines — a
//! temporary SQLite file, and PostgreSQL at `LATCHKEY_TEST_POSTGRES_URL`
//! (a schema of its own per test, dropped after). `./test` sets the URL;
//! without it the PostgreSQL half fails, unless `LATCHKEY_TEST_POSTGRES=skip`.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use latchkey_server::directory::{Consent, LockoutPolicy, demo_directory, parse_directory};
use latchkey_server::keys::{SigningAlg, SigningKey};
use latchkey_server::secrets::Digest;
use latchkey_server::store::{
    AuthCodeRecord, DeviceCodeRecord, DeviceCodeStatus, PostgresStore, RefreshTokenRecord,
    Rotation, SessionRecord, SqliteStore, Store, StoredKey,
};
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

use crate::postgres;

pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .unwrap();
    test(Arc::new(store)).await;
}

/// `test` on a PostgreSQL store in a fresh schema (dropped after); nothing
/// when the run opted out (`tests/support/postgres.rs` decides).
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(schema) = postgres::fresh_schema("t").await else {
        return;
    };
    let options = PgConnectOptions::from_str(&schema.url_with_search_path()).unwrap();
    let store = PostgresStore::connect(options, 8).await.unwrap();
    test(Arc::new(store)).await;
    schema.drop_schema().await;
}

/// One test, two backends: `NAME::sqlite` and `NAME::postgres`.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::on_sqlite(super::tests::$name).await
            }
            #[tokio::test]
            async fn postgres() {
                super::on_postgres(super::tests::$name).await
            }
        })*
    };
}

both_engines!(
    directory_round_trip,
    a_code_redeems_once,
    grants_are_read_with_their_user_and_consents,
    concurrent_redemptions_have_one_winner,
    refresh_rotation_and_reuse,
    concurrent_rotations_have_one_winner,
    sessions_and_consents,
    signing_keys_keep_their_order,
    signing_key_kinds_and_tenant_algs_round_trip,
    failed_sign_ins_lock_a_name_and_each_lockout_doubles,
    concurrent_attempts_cannot_outrun_the_lockout,
    a_totp_step_is_used_once,
    spa_settings_and_origins_round_trip,
    a_token_reused_within_the_interval_rotates_again,
    concurrent_rotations_within_the_interval_all_win,
    api_app_ids_and_token_versions_round_trip,
    revoking_a_users_sign_ins_ends_theirs_only,
    a_device_code_is_decided_once_and_redeemed_once,
    concurrent_device_code_redemptions_have_one_winner,
    claims_challenge_settings_round_trip,
    app_assignments_round_trip,
    a_device_code_not_assigned_is_kept_and_never_redeemed,
    secretless_credentials_round_trip,
    concurrent_presentations_of_an_assertion_have_one_winner,
    many_concurrent_grants_each_get_their_own_answer,
);

/// PostgreSQL's grant statements batch under load (`store::batch`): the
/// same concurrent grants as on both engines, taking fewer statements than
/// calls.
#[tokio::test]
async fn postgres_batches_concurrent_grants() {
    let Some(schema) = postgres::fresh_schema("t").await else {
        return;
    };
    let options = PgConnectOptions::from_str(&schema.url_with_search_path()).unwrap();
    let store = Arc::new(PostgresStore::connect(options, 8).await.unwrap());
    tests::many_concurrent_grants_each_get_their_own_answer(store.clone()).await;
    let (calls, statements) = store.grant_statements();
    // 20 grants made one at a time first, then 65 redemptions, 40
    // rotations and 70 reads at once.
    assert_eq!(calls, 195);
    assert!(
        statements < calls,
        "{calls} calls took {statements} statements: none shared one"
    );
    schema.drop_schema().await;
}

const NOW: i64 = 1_800_000_000;

fn code(tenant: Uuid, client: Uuid, user: Uuid, secret: &str) -> AuthCodeRecord {
    AuthCodeRecord {
        digest: Digest::of(secret),
        tenant_id: tenant,
        client_id: client,
        redirect_uri: "http://localhost/cb".into(),
        user_oid: user,
        resource: "https://files.contoso.example/".into(),
        scope: "Files.Read".into(),
        oidc_scope: "openid".into(),
        nonce: Some("n".into()),
        code_challenge: None,
        auth_methods: "pwd".into(),
        issued_at: NOW,
        expires_at: NOW + 600,
        redeemed_at: None,
        family_id: None,
        spa_origin: None,
    }
}

fn refresh(secret: &str, family: Uuid) -> RefreshTokenRecord {
    RefreshTokenRecord {
        digest: Digest::of(secret),
        family_id: family,
        tenant_id: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        user_oid: Uuid::new_v4(),
        resource: "https://files.contoso.example/".into(),
        scope: "openid".into(),
        granted_scope: "Files.Read".into(),
        issued_at: NOW,
        expires_at: NOW + 3600,
        family_expires_at: NOW + 7200,
        used_at: None,
        revoked_at: None,
        spa_origin: None,
        auth_methods: "pwd".into(),
    }
}

fn device_code(secret: &str, user_code: &str) -> DeviceCodeRecord {
    DeviceCodeRecord {
        digest: Digest::of(secret),
        user_code: user_code.into(),
        tenant_id: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        resource: "https://files.contoso.example/".into(),
        scope: "Files.Read".into(),
        oidc_scope: "openid".into(),
        issued_at: NOW,
        expires_at: NOW + 900,
        interval_seconds: 5,
        status: DeviceCodeStatus::Pending,
        last_polled_ms: None,
        redeemed_at: None,
    }
}

mod tests {
    use super::*;

    pub async fn a_device_code_is_decided_once_and_redeemed_once(store: Arc<dyn Store>) {
        let record = device_code("device-1", "BCDFGHJK");
        assert!(store.insert_device_code(&record).await.unwrap());
        // A user code is never handed out twice.
        assert!(
            !store
                .insert_device_code(&device_code("device-2", "BCDFGHJK"))
                .await
                .unwrap()
        );
        assert_eq!(
            store.pending_device_code("BCDFGHJK", NOW).await.unwrap(),
            Some(record.clone())
        );
        assert_eq!(
            store
                .pending_device_code("BCDFGHJK", NOW + 900)
                .await
                .unwrap(),
            None
        );
        // Pending: nothing to redeem.
        assert!(
            !store
                .redeem_device_code(&record.digest, NOW, None)
                .await
                .unwrap()
        );
        store
            .note_device_poll(&record.digest, NOW * 1000 + 250)
            .await
            .unwrap();
        let approved = DeviceCodeStatus::Approved {
            user_oid: Uuid::new_v4(),
            auth_methods: "pwd mfa".into(),
        };
        assert!(
            store
                .decide_device_code("BCDFGHJK", &approved, NOW)
                .await
                .unwrap()
        );
        // Decided once: a decline afterwards changes nothing.
        assert!(
            !store
                .decide_device_code("BCDFGHJK", &DeviceCodeStatus::Declined, NOW)
                .await
                .unwrap()
        );
        assert_eq!(
            store.pending_device_code("BCDFGHJK", NOW).await.unwrap(),
            None
        );
        let found = store
            .find_device_code(&record.digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.status, approved);
        assert_eq!(found.last_polled_ms, Some(NOW * 1000 + 250));
        let first = refresh("device-refresh", Uuid::new_v4());
        assert!(
            store
                .redeem_device_code(&record.digest, NOW + 1, Some(&first))
                .await
                .unwrap()
        );
        assert!(
            store
                .find_refresh_token(&first.digest)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            !store
                .redeem_device_code(&record.digest, NOW + 2, None)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .find_device_code(&record.digest)
                .await
                .unwrap()
                .unwrap()
                .redeemed_at,
            Some(NOW + 1)
        );
        // An expired code is neither decided nor redeemed, then forgotten.
        let late = device_code("device-3", "LMNPQRST");
        store.insert_device_code(&late).await.unwrap();
        assert!(
            !store
                .decide_device_code("LMNPQRST", &approved, NOW + 900)
                .await
                .unwrap()
        );
        store.delete_expired_device_codes(NOW + 901).await.unwrap();
        assert_eq!(store.find_device_code(&late.digest).await.unwrap(), None);
    }

    pub async fn concurrent_device_code_redemptions_have_one_winner(store: Arc<dyn Store>) {
        let approved = DeviceCodeStatus::Approved {
            user_oid: Uuid::new_v4(),
            auth_methods: "pwd".into(),
        };
        for trial in 0..50 {
            let user_code = format!("RACE{trial:04}");
            let record = device_code(&format!("device-race-{trial}"), &user_code);
            store.insert_device_code(&record).await.unwrap();
            assert!(
                store
                    .decide_device_code(&user_code, &approved, NOW)
                    .await
                    .unwrap()
            );
            let attempts = (0..2).map(|_| {
                let store = store.clone();
                let digest = record.digest;
                let family = Uuid::new_v4();
                tokio::spawn(async move {
                    let first = refresh(&format!("first-of-{family}"), family);
                    store.redeem_device_code(&digest, NOW, Some(&first)).await
                })
            });
            let mut wins = 0;
            for attempt in attempts {
                wins += attempt.await.unwrap().unwrap() as usize;
            }
            assert_eq!(wins, 1, "trial {trial}");
        }
    }

    pub async fn directory_round_trip(store: Arc<dyn Store>) {
        let (data, _) = demo_directory().unwrap();
        store.apply_directory(&data).await.unwrap();
        // Applying twice changes nothing (replicas all apply it at start).
        store.apply_directory(&data).await.unwrap();
        let loaded = store.load_directory().await.unwrap();
        assert_eq!(loaded.tenants.len(), data.tenants.len());
        assert_eq!(loaded.tenants[0].domains, data.tenants[0].domains);
        assert_eq!(loaded.apis.len(), data.apis.len());
        assert_eq!(loaded.apps.len(), data.apps.len());
        let frank = &data.users[0];
        let found = store
            .find_user_by_upn(frank.tenant_id, &frank.upn.to_uppercase())
            .await
            .unwrap()
            .expect("UPNs match whatever their case");
        assert_eq!(found, *frank);
        assert_eq!(
            store
                .find_user(frank.tenant_id, frank.object_id)
                .await
                .unwrap()
                .as_ref(),
            Some(frank)
        );
        assert!(
            store
                .find_user(frank.tenant_id, Uuid::new_v4())
                .await
                .unwrap()
                .is_none()
        );
    }

    pub async fn a_code_redeems_once(store: Arc<dyn Store>) {
        let (t, c, u) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let record = code(t, c, u, "code-1");
        store.insert_code(&record).await.unwrap();
        assert_eq!(
            store.find_code(&record.digest).await.unwrap(),
            Some(record.clone())
        );
        let family = Uuid::new_v4();
        assert!(
            store
                .redeem_code(&record.digest, family, NOW, None)
                .await
                .unwrap()
        );
        assert!(
            !store
                .redeem_code(&record.digest, Uuid::new_v4(), NOW, None)
                .await
                .unwrap()
        );
        let redeemed = store.find_code(&record.digest).await.unwrap().unwrap();
        assert_eq!(redeemed.redeemed_at, Some(NOW));
        assert_eq!(redeemed.family_id, Some(family));
        // An expired code cannot be redeemed.
        let late = code(t, c, u, "code-2");
        store.insert_code(&late).await.unwrap();
        assert!(
            !store
                .redeem_code(&late.digest, family, NOW + 600, None)
                .await
                .unwrap()
        );
        assert!(
            !store
                .redeem_code(&Digest::of("never-issued"), family, NOW, None)
                .await
                .unwrap()
        );
    }

    pub async fn grants_are_read_with_their_user_and_consents(store: Arc<dyn Store>) {
        let (data, _) = demo_directory().unwrap();
        store.apply_directory(&data).await.unwrap();
        let frank = &data.users[0];
        let (t, client) = (frank.tenant_id, Uuid::new_v4());
        // A code: with its user, or with none when the user is gone.
        let record = code(t, client, frank.object_id, "joined-code");
        store.insert_code(&record).await.unwrap();
        let grant = store
            .find_code_grant(&record.digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grant.code, record);
        assert_eq!(grant.user.as_ref(), Some(frank));
        let orphan = code(t, client, Uuid::new_v4(), "orphan-code");
        store.insert_code(&orphan).await.unwrap();
        let grant = store
            .find_code_grant(&orphan.digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((grant.code, grant.user), (orphan, None));
        assert!(
            store
                .find_code_grant(&Digest::of("never-issued"))
                .await
                .unwrap()
                .is_none()
        );
        // A refresh token: its user, and that user's consents to the
        // token's client only (none, one, or several rows of them).
        let token = RefreshTokenRecord {
            tenant_id: t,
            client_id: client,
            user_oid: frank.object_id,
            ..refresh("joined-refresh", Uuid::new_v4())
        };
        store.insert_refresh_token(&token).await.unwrap();
        let grant = store
            .find_refresh_grant(&token.digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grant.token, token);
        assert_eq!(grant.user.as_ref(), Some(frank));
        assert_eq!(grant.consents, []);
        let consent = |client: Uuid, api: Option<&str>, scopes: &[&str]| Consent {
            tenant_id: t,
            user_oid: frank.object_id,
            client_id: client,
            api: api.map(str::to_owned),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        let mine = [
            consent(
                client,
                Some("https://files.contoso.example/"),
                &["Files.Read"],
            ),
            consent(client, None, &["User.Read"]),
        ];
        for given in mine
            .iter()
            .chain([&consent(Uuid::new_v4(), None, &["Other"])])
        {
            store.grant_consent(given).await.unwrap();
        }
        let mut read = store
            .find_refresh_grant(&token.digest)
            .await
            .unwrap()
            .unwrap()
            .consents;
        read.sort_by(|a, b| a.api.cmp(&b.api));
        let mut expected = mine.to_vec();
        expected.sort_by(|a, b| a.api.cmp(&b.api));
        assert_eq!(read, expected);
        let orphan = RefreshTokenRecord {
            tenant_id: t,
            client_id: client,
            ..refresh("orphan-refresh", Uuid::new_v4())
        };
        store.insert_refresh_token(&orphan).await.unwrap();
        let grant = store
            .find_refresh_grant(&orphan.digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((grant.user, grant.consents), (None, Vec::new()));
    }

    pub async fn concurrent_redemptions_have_one_winner(store: Arc<dyn Store>) {
        for trial in 0..50 {
            let record = code(
                Uuid::new_v4(),
                Uuid::new_v4(),
                Uuid::new_v4(),
                &format!("race-{trial}"),
            );
            store.insert_code(&record).await.unwrap();
            let attempts = (0..2).map(|_| {
                let store = store.clone();
                let digest = record.digest;
                let family = Uuid::new_v4();
                tokio::spawn(async move {
                    let first = refresh(&format!("first-of-{family}"), family);
                    store.redeem_code(&digest, family, NOW, Some(&first)).await
                })
            });
            let mut wins = 0;
            for attempt in attempts {
                wins += attempt.await.unwrap().unwrap() as usize;
            }
            assert_eq!(wins, 1, "trial {trial}");
        }
    }

    /// Redemptions, rotations and reads, all at once: fresh codes win, a
    /// code presented twice wins once, a redeemed or expired one loses; a
    /// current token rotates, a used one is a reuse, a revoked one says so;
    /// each read finds its own row. The winners' refresh tokens are stored,
    /// the losers' are not, nor any for a code whose app gets none.
    pub async fn many_concurrent_grants_each_get_their_own_answer(store: Arc<dyn Store>) {
        let (tenant, client, user) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut codes = Vec::new();
        for i in 0..60 {
            let mut record = code(tenant, client, user, &format!("load-code-{i}"));
            if i >= 55 {
                record.expires_at = NOW - 1;
            }
            store.insert_code(&record).await.unwrap();
            codes.push(record);
        }
        for record in &codes[45..55] {
            let first = refresh(&format!("load-first-{:?}", record.digest.0), Uuid::new_v4());
            assert!(
                store
                    .redeem_code(&record.digest, first.family_id, NOW, Some(&first))
                    .await
                    .unwrap()
            );
        }
        let mut tokens = Vec::new();
        for i in 0..40 {
            let token = refresh(&format!("load-rt-{i}"), Uuid::new_v4());
            store.insert_refresh_token(&token).await.unwrap();
            tokens.push(token);
        }
        for (i, token) in tokens[30..].iter().enumerate() {
            let successor = refresh(&format!("load-rt-early-{i}"), token.family_id);
            assert_eq!(
                store
                    .rotate_refresh_token(&token.digest, &successor, NOW - 100, 0)
                    .await
                    .unwrap(),
                Rotation::Rotated
            );
        }
        store
            .revoke_refresh_family(tokens[35].family_id, NOW - 50)
            .await
            .unwrap();

        // Codes 0..45 fresh (0..5 presented twice), 45..55 redeemed, 55..60
        // expired; tokens 0..30 current, 30..35 used, 35 revoked with its
        // successor, 36..40 used.
        let mut redemptions = Vec::new();
        let presented = codes
            .iter()
            .enumerate()
            .chain(codes[..5].iter().enumerate());
        for (n, (i, record)) in presented.enumerate() {
            let store = store.clone();
            let digest = record.digest;
            let successor = refresh(&format!("load-won-{n}"), Uuid::new_v4());
            redemptions.push(tokio::spawn(async move {
                // Codes 40..45 are for an app that gets no refresh token.
                let kept = (!(40..45).contains(&i)).then_some(&successor);
                let won = store
                    .redeem_code(&digest, successor.family_id, NOW, kept)
                    .await
                    .unwrap();
                (i, won, successor.digest)
            }));
        }
        let mut rotations = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let store = store.clone();
            let old = token.digest;
            let successor = refresh(&format!("load-rt-next-{i}"), token.family_id);
            rotations.push(tokio::spawn(async move {
                let rotation = store
                    .rotate_refresh_token(&old, &successor, NOW, 0)
                    .await
                    .unwrap();
                (i, rotation, successor.digest)
            }));
        }
        let mut reads = Vec::new();
        for i in 0..70 {
            let store = store.clone();
            let digest = Digest::of(&format!("load-code-{}", i % 65));
            reads.push(tokio::spawn(async move {
                (i % 65, store.find_code_grant(&digest).await.unwrap())
            }));
        }

        let mut wins = vec![0; codes.len()];
        for redemption in redemptions {
            let (i, won, successor) = redemption.await.unwrap();
            wins[i] += won as usize;
            let stored = store.find_refresh_token(&successor).await.unwrap();
            let issues_refresh = !(40..45).contains(&i);
            assert_eq!(
                stored.is_some(),
                won && issues_refresh,
                "code {i}: its refresh token stored iff it won"
            );
        }
        let expected: Vec<usize> = (0..60).map(|i| (i < 45) as usize).collect();
        assert_eq!(wins, expected);
        for rotation in rotations {
            let (i, rotation, successor) = rotation.await.unwrap();
            let want = match i {
                0..30 => Rotation::Rotated,
                35 => Rotation::Revoked,
                _ => Rotation::Reused,
            };
            assert_eq!(rotation, want, "token {i}");
            let stored = store.find_refresh_token(&successor).await.unwrap();
            assert_eq!(
                stored.is_some(),
                want == Rotation::Rotated,
                "token {i}'s successor"
            );
        }
        for read in reads {
            let (i, grant) = read.await.unwrap();
            match grant {
                Some(grant) => assert_eq!(grant.code.digest, codes[i].digest, "read {i}"),
                None => assert!(i >= 60, "code {i} not found"),
            }
        }
    }

    pub async fn refresh_rotation_and_reuse(store: Arc<dyn Store>) {
        let family = Uuid::new_v4();
        let first = refresh("rt-1", family);
        store.insert_refresh_token(&first).await.unwrap();
        let second = refresh("rt-2", family);
        assert_eq!(
            store
                .rotate_refresh_token(&first.digest, &second, NOW, 0)
                .await
                .unwrap(),
            Rotation::Rotated
        );
        assert!(
            store
                .find_refresh_token(&second.digest)
                .await
                .unwrap()
                .is_some()
        );
        // The rotated-out token again: reuse, and the family goes.
        assert_eq!(
            store
                .rotate_refresh_token(&first.digest, &refresh("rt-3", family), NOW, 0)
                .await
                .unwrap(),
            Rotation::Reused
        );
        assert_eq!(
            store
                .rotate_refresh_token(&second.digest, &refresh("rt-4", family), NOW, 0)
                .await
                .unwrap(),
            Rotation::Revoked
        );
        assert_eq!(
            store
                .rotate_refresh_token(&Digest::of("unknown"), &refresh("rt-5", family), NOW, 0)
                .await
                .unwrap(),
            Rotation::NotFound
        );
        let old = refresh("rt-old", Uuid::new_v4());
        store.insert_refresh_token(&old).await.unwrap();
        assert_eq!(
            store
                .rotate_refresh_token(&old.digest, &refresh("rt-6", old.family_id), NOW + 3600, 0)
                .await
                .unwrap(),
            Rotation::Expired
        );
    }

    pub async fn api_app_ids_and_token_versions_round_trip(store: Arc<dyn Store>) {
        let file = latchkey_server::directory::parse_directory(
            r#"
[[tenants]]
id = "7fe81447-da57-4385-becb-6de57f21477e"
  [[tenants.apis]]
  name = "Files"
  app_id_uri = "https://files.contoso.example/"
  app_id = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
  access_token_version = 2
  [[tenants.apis]]
  name = "Reports"
  app_id_uri = "https://reports.contoso.example/"
  access_token_version = 1
  [[tenants.apis]]
  name = "Plain"
  app_id_uri = "https://plain.contoso.example/"
"#,
        )
        .unwrap();
        store.apply_directory(&file.directory).await.unwrap();
        store.apply_directory(&file.directory).await.unwrap();
        let loaded = store.load_directory().await.unwrap();
        let mut expected = file.directory.apis.clone();
        expected.sort_by(|a, b| a.app_id_uri.cmp(&b.app_id_uri));
        assert_eq!(loaded.apis, expected);
        let settings: Vec<_> = loaded
            .apis
            .iter()
            .map(|api| {
                (
                    api.app_id.map(|id| id.to_string()),
                    api.access_token_version,
                )
            })
            .collect();
        assert_eq!(
            settings,
            [
                (
                    Some("c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f".to_owned()),
                    Some(latchkey_protocol::Version::V2)
                ),
                (None, None),
                (None, Some(latchkey_protocol::Version::V1)),
            ]
        );
    }

    pub async fn spa_settings_and_origins_round_trip(store: Arc<dyn Store>) {
        let file = latchkey_server::directory::parse_directory(
            r#"
[[tenants]]
id = "7fe81447-da57-4385-becb-6de57f21477e"
refresh_token_reuse_seconds = 0
  [[tenants.apps]]
  client_id = "2d4d11a2-f814-46a7-890a-274a72a7309e"
  name = "SPA"
  spa_redirect_uris = ["http://localhost:3000/"]
[[tenants]]
id = "3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c"
"#,
        )
        .unwrap();
        store.apply_directory(&file.directory).await.unwrap();
        let loaded = store.load_directory().await.unwrap();
        let mut reuse: Vec<(String, u32)> = loaded
            .tenants
            .iter()
            .map(|t| (t.id.to_string(), t.refresh_token_reuse_seconds))
            .collect();
        reuse.sort();
        assert_eq!(
            reuse,
            [
                ("3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c".to_owned(), 5),
                ("7fe81447-da57-4385-becb-6de57f21477e".to_owned(), 0)
            ]
        );
        assert_eq!(loaded.apps[0].spa_redirect_uris, ["http://localhost:3000/"]);
        assert!(loaded.apps[0].redirect_uris.is_empty());

        let mut spa_code = code(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), "spa-code");
        spa_code.spa_origin = Some("http://localhost:3000".into());
        store.insert_code(&spa_code).await.unwrap();
        assert_eq!(
            store.find_code(&spa_code.digest).await.unwrap(),
            Some(spa_code.clone())
        );
        let family = Uuid::new_v4();
        let mut first = refresh("spa-rt-1", family);
        first.spa_origin = Some("http://localhost:3000".into());
        assert!(
            store
                .redeem_code(&spa_code.digest, family, NOW, Some(&first))
                .await
                .unwrap()
        );
        assert_eq!(
            store.find_refresh_token(&first.digest).await.unwrap(),
            Some(first.clone())
        );
        let mut second = refresh("spa-rt-2", family);
        second.spa_origin = first.spa_origin.clone();
        store
            .rotate_refresh_token(&first.digest, &second, NOW, 0)
            .await
            .unwrap();
        assert_eq!(
            store
                .find_refresh_token(&second.digest)
                .await
                .unwrap()
                .unwrap()
                .spa_origin
                .as_deref(),
            Some("http://localhost:3000")
        );
    }

    pub async fn a_token_reused_within_the_interval_rotates_again(store: Arc<dyn Store>) {
        let family = Uuid::new_v4();
        let first = refresh("grace-1", family);
        store.insert_refresh_token(&first).await.unwrap();
        let (a, b) = (refresh("grace-a", family), refresh("grace-b", family));
        let rotate = |old: Digest, new: RefreshTokenRecord, at: i64| {
            let store = store.clone();
            async move { store.rotate_refresh_token(&old, &new, at, 5).await.unwrap() }
        };
        assert_eq!(
            rotate(first.digest, a.clone(), NOW).await,
            Rotation::Rotated
        );
        // Another tab, 4 s later: a sibling successor, not a revocation.
        assert_eq!(
            rotate(first.digest, b.clone(), NOW + 4).await,
            Rotation::Rotated
        );
        let used = store
            .find_refresh_token(&first.digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(used.used_at, Some(NOW), "the first rotation's time stays");
        // Each tab keeps refreshing with what it got.
        assert_eq!(
            rotate(a.digest, refresh("grace-a2", family), NOW + 10).await,
            Rotation::Rotated
        );
        assert_eq!(
            rotate(b.digest, refresh("grace-b2", family), NOW + 10).await,
            Rotation::Rotated
        );
        // 5 s after its rotation the interval is over: reuse, and the
        // family goes, every branch of it.
        assert_eq!(
            rotate(first.digest, refresh("grace-late", family), NOW + 5).await,
            Rotation::Reused
        );
        for digest in [Digest::of("grace-a2"), Digest::of("grace-b2")] {
            let record = store.find_refresh_token(&digest).await.unwrap().unwrap();
            assert_eq!(record.revoked_at, Some(NOW + 5));
        }
        assert!(
            store
                .find_refresh_token(&Digest::of("grace-late"))
                .await
                .unwrap()
                .is_none(),
            "no successor for a reuse"
        );
        // 0 is strict: even at the same second, a second rotation is reuse.
        let strict = refresh("strict-1", Uuid::new_v4());
        store.insert_refresh_token(&strict).await.unwrap();
        let successor = refresh("strict-2", strict.family_id);
        assert_eq!(
            store
                .rotate_refresh_token(&strict.digest, &successor, NOW, 0)
                .await
                .unwrap(),
            Rotation::Rotated
        );
        assert_eq!(
            store
                .rotate_refresh_token(
                    &strict.digest,
                    &refresh("strict-3", strict.family_id),
                    NOW - 1,
                    0
                )
                .await
                .unwrap(),
            Rotation::Reused,
            "a request that read the clock before the rotation is no exception"
        );
    }

    pub async fn concurrent_rotations_within_the_interval_all_win(store: Arc<dyn Store>) {
        for trial in 0..50 {
            let family = Uuid::new_v4();
            let token = refresh(&format!("rt-tabs-{trial}"), family);
            store.insert_refresh_token(&token).await.unwrap();
            let attempts = (0..2).map(|i| {
                let store = store.clone();
                let successor = refresh(&format!("rt-tabs-{trial}-{i}"), family);
                tokio::spawn(async move {
                    store
                        .rotate_refresh_token(&token.digest, &successor, NOW, 5)
                        .await
                })
            });
            for attempt in attempts {
                assert_eq!(
                    attempt.await.unwrap().unwrap(),
                    Rotation::Rotated,
                    "trial {trial}"
                );
            }
            for i in 0..2 {
                let successor = Digest::of(&format!("rt-tabs-{trial}-{i}"));
                let record = store.find_refresh_token(&successor).await.unwrap().unwrap();
                assert_eq!((record.used_at, record.revoked_at), (None, None));
            }
        }
    }

    pub async fn concurrent_rotations_have_one_winner(store: Arc<dyn Store>) {
        for trial in 0..50 {
            let family = Uuid::new_v4();
            let token = refresh(&format!("rt-race-{trial}"), family);
            store.insert_refresh_token(&token).await.unwrap();
            let attempts = (0..2).map(|i| {
                let store = store.clone();
                let successor = refresh(&format!("rt-race-{trial}-{i}"), family);
                tokio::spawn(async move {
                    store
                        .rotate_refresh_token(&token.digest, &successor, NOW, 0)
                        .await
                })
            });
            let mut outcomes = Vec::new();
            for attempt in attempts {
                outcomes.push(attempt.await.unwrap().unwrap());
            }
            outcomes.sort_by_key(|o| format!("{o:?}"));
            assert_eq!(
                outcomes,
                [Rotation::Reused, Rotation::Rotated],
                "trial {trial}: strict rotation"
            );
        }
    }

    pub async fn sessions_and_consents(store: Arc<dyn Store>) {
        let session = SessionRecord {
            digest: Digest::of("session"),
            tenant_id: Uuid::new_v4(),
            user_oid: Uuid::new_v4(),
            mfa_at: None,
            created_at: NOW,
            expires_at: NOW + 100,
            client_ids: Vec::new(),
        };
        store.insert_session(&session).await.unwrap();
        assert_eq!(
            store.find_session(&session.digest, NOW).await.unwrap(),
            Some(session.clone())
        );
        assert_eq!(
            store
                .find_session(&session.digest, NOW + 100)
                .await
                .unwrap(),
            None
        );
        store
            .set_session_mfa(&session.digest, NOW + 1)
            .await
            .unwrap();
        assert_eq!(
            store
                .find_session(&session.digest, NOW)
                .await
                .unwrap()
                .unwrap()
                .mfa_at,
            Some(NOW + 1)
        );
        // The apps it signed in to: each once, whatever the concurrency,
        // in order; an id that is a LIKE pattern matches only itself.
        let (first, second) = ("2d4d11a2-f814-46a7-890a-274a72a7309e", "a_b%c");
        let adds = (0..8).map(|_| store.add_session_client(&session.digest, first));
        for added in futures_util::future::join_all(adds).await {
            added.unwrap();
        }
        store
            .add_session_client(&session.digest, second)
            .await
            .unwrap();
        store
            .add_session_client(&session.digest, "aXbYc")
            .await
            .unwrap();
        store
            .add_session_client(&session.digest, first)
            .await
            .unwrap();
        let session = store
            .find_session(&session.digest, NOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(session.client_ids, [first, second, "aXbYc"]);
        // Rotation: the old id gone, the new one in its place (with the
        // apps it signed in to), once.
        let rotated = SessionRecord {
            digest: Digest::of("rotated"),
            mfa_at: Some(NOW + 2),
            ..session.clone()
        };
        assert!(
            store
                .rotate_session(&session.digest, &rotated)
                .await
                .unwrap()
        );
        assert_eq!(
            store.find_session(&session.digest, NOW).await.unwrap(),
            None
        );
        assert_eq!(
            store.find_session(&rotated.digest, NOW).await.unwrap(),
            Some(rotated.clone())
        );
        let again = SessionRecord {
            digest: Digest::of("again"),
            ..rotated.clone()
        };
        assert!(!store.rotate_session(&session.digest, &again).await.unwrap());
        assert_eq!(store.find_session(&again.digest, NOW).await.unwrap(), None);
        store.delete_session(&rotated.digest).await.unwrap();
        assert_eq!(
            store.find_session(&rotated.digest, NOW).await.unwrap(),
            None
        );
        // Expired sessions are deleted; current ones stay.
        store.insert_session(&rotated).await.unwrap();
        store
            .delete_expired_sessions(rotated.expires_at - 1)
            .await
            .unwrap();
        assert!(
            store
                .find_session(&rotated.digest, NOW)
                .await
                .unwrap()
                .is_some()
        );
        store
            .delete_expired_sessions(rotated.expires_at)
            .await
            .unwrap();
        assert_eq!(
            store.find_session(&rotated.digest, NOW).await.unwrap(),
            None,
            "deleted, not merely expired: found at a time before its expiry"
        );
        // The first MAC key stored under a name is the one every caller gets.
        let first = store.mac_key("csrf", &[1; 32], NOW).await.unwrap();
        assert_eq!(first, vec![1; 32]);
        assert_eq!(store.mac_key("csrf", &[2; 32], NOW).await.unwrap(), first);

        let (t, u, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let consent = |scopes: &[&str]| Consent {
            tenant_id: t,
            user_oid: u,
            client_id: c,
            api: Some("https://files.contoso.example/".into()),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        store
            .grant_consent(&consent(&["Files.Read"]))
            .await
            .unwrap();
        store
            .grant_consent(&consent(&["Files.Write", "Files.Read"]))
            .await
            .unwrap();
        assert_eq!(
            store.consents(t, u, c).await.unwrap(),
            [consent(&["Files.Read", "Files.Write"])]
        );
    }

    pub async fn signing_keys_keep_their_order(store: Arc<dyn Store>) {
        let key = |kid: &str, at: i64| StoredKey {
            kid: kid.into(),
            alg: SigningAlg::Rs256,
            pkcs8: vec![1, 2, 3],
            certificate: vec![4, 5],
            created_at: at,
            activates_at: at + 10,
        };
        store.insert_signing_key(&key("b", NOW)).await.unwrap();
        store.insert_signing_key(&key("a", NOW + 1)).await.unwrap();
        // Two replicas making a key at once: the first one stays.
        store.insert_signing_key(&key("b", NOW + 5)).await.unwrap();
        let kids: Vec<(String, i64, i64)> = store
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| (k.kid, k.created_at, k.activates_at))
            .collect();
        assert_eq!(
            kids,
            [
                ("b".to_owned(), NOW, NOW + 10),
                ("a".to_owned(), NOW + 1, NOW + 11)
            ]
        );
    }

    pub async fn signing_key_kinds_and_tenant_algs_round_trip(store: Arc<dyn Store>) {
        let mut ec = SigningKey::generate(
            time::OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
            SigningAlg::Es256,
        )
        .unwrap();
        ec.activates_at = NOW + 7200;
        let rsa = SigningKey::generate(
            time::OffsetDateTime::from_unix_timestamp(NOW + 1).unwrap(),
            SigningAlg::Rs256,
        )
        .unwrap();
        store.insert_signing_key(&ec).await.unwrap();
        store.insert_signing_key(&rsa).await.unwrap();
        let stored = store.signing_keys().await.unwrap();
        let seen: Vec<(&str, SigningAlg, i64, &[u8])> = stored
            .iter()
            .map(|k| (k.kid.as_str(), k.alg, k.activates_at, k.pkcs8.as_slice()))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    ec.kid.as_str(),
                    SigningAlg::Es256,
                    NOW + 7200,
                    ec.pkcs8.as_slice()
                ),
                (
                    rsa.kid.as_str(),
                    SigningAlg::Rs256,
                    NOW + 1,
                    rsa.pkcs8.as_slice()
                ),
            ]
        );
        // Each loads as its own kind.
        for key in &stored {
            assert_eq!(SigningKey::load(key).unwrap().alg(), key.alg);
        }

        let file = parse_directory(
            "[[tenants]]\nid = \"7fe81447-da57-4385-becb-6de57f21477e\"\nsigning_alg = \"ES256\"\n\
             [[tenants]]\nid = \"3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c\"\n",
        )
        .unwrap();
        store.apply_directory(&file.directory).await.unwrap();
        let algs: Vec<(String, SigningAlg)> = store
            .load_directory()
            .await
            .unwrap()
            .tenants
            .into_iter()
            .map(|t| (t.id.to_string(), t.signing_alg))
            .collect();
        assert_eq!(
            algs,
            [
                (
                    "3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c".to_owned(),
                    SigningAlg::Rs256
                ),
                (
                    "7fe81447-da57-4385-becb-6de57f21477e".to_owned(),
                    SigningAlg::Es256
                ),
            ]
        );
    }

    const POLICY: LockoutPolicy = LockoutPolicy {
        threshold: 3,
        seconds: 60,
    };

    pub async fn failed_sign_ins_lock_a_name_and_each_lockout_doubles(store: Arc<dyn Store>) {
        let t = Uuid::new_v4();
        let fail = |now: i64| {
            let store = store.clone();
            async move {
                store
                    .begin_sign_in_attempt(t, "ida@contoso.example", now, POLICY)
                    .await
                    .unwrap()
                    .expect("not locked")
            }
        };
        assert_eq!(
            store.locked_until(t, "ida@contoso.example").await.unwrap(),
            0
        );
        assert_eq!(fail(NOW).await, 0);
        assert_eq!(fail(NOW).await, 0);
        assert_eq!(fail(NOW + 1).await, NOW + 61, "the third failure locks");
        assert_eq!(
            store.locked_until(t, "ida@contoso.example").await.unwrap(),
            NOW + 61
        );
        // Locked: an attempt is refused, and counts for nothing.
        let refused = store
            .begin_sign_in_attempt(t, "ida@contoso.example", NOW + 60, POLICY)
            .await
            .unwrap();
        assert_eq!(refused, None);
        // Another tenant's name of the same spelling is another name.
        assert_eq!(
            store
                .locked_until(Uuid::new_v4(), "ida@contoso.example")
                .await
                .unwrap(),
            0
        );
        for _ in 0..2 {
            assert_eq!(fail(NOW + 100).await, 0);
        }
        assert_eq!(
            fail(NOW + 100).await,
            NOW + 220,
            "the second lockout is twice as long"
        );
        for lockout in 3..12 {
            for _ in 0..3 {
                fail(NOW + 1_000_000 * lockout).await;
            }
        }
        assert_eq!(
            store.locked_until(t, "ida@contoso.example").await.unwrap(),
            NOW + 11_000_000 + 64 * 60,
            "the growth stops at 64 times"
        );
        store
            .record_sign_in_success(t, "ida@contoso.example")
            .await
            .unwrap();
        assert_eq!(
            store.locked_until(t, "ida@contoso.example").await.unwrap(),
            0
        );
        assert_eq!(fail(NOW + 20_000_000).await, 0, "the count starts again");
        // A right credential does not count: two attempts, one refunded.
        store
            .refund_sign_in_attempt(t, "ida@contoso.example")
            .await
            .unwrap();
        assert_eq!(fail(NOW + 20_000_000).await, 0);
        assert_eq!(fail(NOW + 20_000_000).await, 0);
        assert_eq!(fail(NOW + 20_000_000).await, NOW + 20_000_060);
        store
            .record_sign_in_success(t, "ida@contoso.example")
            .await
            .unwrap();
        // Idle and unlocked: forgotten.
        store
            .prune_sign_in_attempts(NOW + 30_000_000)
            .await
            .unwrap();
        for _ in 0..2 {
            assert_eq!(fail(NOW + 30_000_001).await, 0);
        }
    }

    pub async fn concurrent_attempts_cannot_outrun_the_lockout(store: Arc<dyn Store>) {
        let t = Uuid::new_v4();
        let attempts: Vec<_> = (0..9)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .begin_sign_in_attempt(t, "ida@contoso.example", NOW, POLICY)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for attempt in attempts {
            outcomes.push(attempt.await.unwrap());
        }
        outcomes.sort();
        // Nine at once against a threshold of three: three are checked (the
        // third locks), six are refused unchecked.
        assert_eq!(
            outcomes,
            [
                None,
                None,
                None,
                None,
                None,
                None,
                Some(0),
                Some(0),
                Some(NOW + 60)
            ]
        );
    }

    pub async fn a_totp_step_is_used_once(store: Arc<dyn Store>) {
        let t = Uuid::new_v4();
        assert!(
            store
                .use_totp_step(t, "mia@contoso.example", 100)
                .await
                .unwrap()
        );
        assert!(
            !store
                .use_totp_step(t, "mia@contoso.example", 100)
                .await
                .unwrap()
        );
        assert!(
            !store
                .use_totp_step(t, "mia@contoso.example", 99)
                .await
                .unwrap(),
            "an older step"
        );
        assert!(
            store
                .use_totp_step(t, "mia@contoso.example", 101)
                .await
                .unwrap()
        );
        assert!(
            store
                .use_totp_step(t, "olga@contoso.example", 100)
                .await
                .unwrap()
        );
        // A used step is not forgotten with the failures.
        store.prune_sign_in_attempts(i64::MAX).await.unwrap();
        assert!(
            !store
                .use_totp_step(t, "mia@contoso.example", 101)
                .await
                .unwrap()
        );
    }

    pub async fn claims_challenge_settings_round_trip(store: Arc<dyn Store>) {
        let file = latchkey_server::directory::parse_directory(
            r#"
[[tenants]]
id = "7fe81447-da57-4385-becb-6de57f21477e"
  [[tenants.apis]]
  name = "Payroll"
  app_id_uri = "https://payroll.contoso.example/"
  require_mfa = true
  [[tenants.apis]]
  name = "Files"
  app_id_uri = "https://files.contoso.example/"
  [[tenants.users]]
  upn = "mia@contoso.example"
  password = "pw"
  totp_secret = "JBSWY3DPEHPK3PXP"
  [[tenants.users]]
  upn = "quinn@contoso.example"
  password = "pw"
  totp_secret = "JBSWY3DPEHPK3PXP"
  mfa_enforced = false
"#,
        )
        .unwrap();
        store.apply_directory(&file.directory).await.unwrap();
        let loaded = store.load_directory().await.unwrap();
        let require_mfa: Vec<_> = loaded
            .apis
            .iter()
            .map(|api| (api.app_id_uri.as_str(), api.require_mfa))
            .collect();
        assert_eq!(
            require_mfa,
            [
                ("https://files.contoso.example/", false),
                ("https://payroll.contoso.example/", true)
            ]
        );
        for user in &file.directory.users {
            let found = store
                .find_user(user.tenant_id, user.object_id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found, *user);
        }
        // How the sign-in went, kept by its family's every token.
        let family = Uuid::new_v4();
        let mut first = refresh("amr-rt-1", family);
        first.auth_methods = "pwd mfa".into();
        store.insert_refresh_token(&first).await.unwrap();
        assert_eq!(
            store.find_refresh_token(&first.digest).await.unwrap(),
            Some(first.clone())
        );
        let second = RefreshTokenRecord {
            digest: Digest::of("amr-rt-2"),
            ..first.clone()
        };
        store
            .rotate_refresh_token(&first.digest, &second, NOW, 0)
            .await
            .unwrap();
        let rotated = store.find_refresh_token(&second.digest).await.unwrap();
        assert_eq!(rotated.unwrap().auth_methods, "pwd mfa");
    }

    pub async fn revoking_a_users_sign_ins_ends_theirs_only(store: Arc<dyn Store>) {
        let theirs = refresh("rt-theirs", Uuid::new_v4());
        let (tenant, user) = (theirs.tenant_id, theirs.user_oid);
        let expired = RefreshTokenRecord {
            expires_at: NOW - 1,
            ..refresh("rt-expired", Uuid::new_v4())
        };
        let expired = RefreshTokenRecord {
            tenant_id: tenant,
            user_oid: user,
            ..expired
        };
        let others = refresh("rt-others", Uuid::new_v4());
        for token in [&theirs, &expired, &others] {
            store.insert_refresh_token(token).await.unwrap();
        }
        let session = |name: &str, user_oid: Uuid| SessionRecord {
            digest: Digest::of(name),
            tenant_id: tenant,
            user_oid,
            mfa_at: None,
            created_at: NOW,
            expires_at: NOW + 100,
            client_ids: Vec::new(),
        };
        store
            .insert_session(&session("s-theirs", user))
            .await
            .unwrap();
        store
            .insert_session(&session("s-others", Uuid::new_v4()))
            .await
            .unwrap();
        assert_eq!(
            store.revoke_user_sign_ins(tenant, user, NOW).await.unwrap(),
            (1, 1)
        );
        assert_eq!(
            store
                .rotate_refresh_token(
                    &theirs.digest,
                    &refresh("rt-next", theirs.family_id),
                    NOW,
                    5
                )
                .await
                .unwrap(),
            Rotation::Revoked
        );
        assert_eq!(
            store
                .find_session(&Digest::of("s-theirs"), NOW)
                .await
                .unwrap(),
            None
        );
        assert!(
            store
                .find_session(&Digest::of("s-others"), NOW)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            store
                .rotate_refresh_token(
                    &others.digest,
                    &refresh("rt-others-next", others.family_id),
                    NOW,
                    5
                )
                .await
                .unwrap(),
            Rotation::Rotated
        );
        // Again: nothing left to end.
        assert_eq!(
            store.revoke_user_sign_ins(tenant, user, NOW).await.unwrap(),
            (0, 0)
        );
    }

    pub async fn app_assignments_round_trip(store: Arc<dyn Store>) {
        let text = |hr: &str| {
            format!(
                r#"
[[tenants]]
id = "7fe81447-da57-4385-becb-6de57f21477e"
  [[tenants.apps]]
  client_id = "2d4d11a2-f814-46a7-890a-274a72a7309e"
  name = "HR"
{hr}
  [[tenants.apps]]
  client_id = "0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11"
  name = "Open"
  [[tenants.users]]
  upn = "ivan@contoso.example"
  password = "pw"
  [[tenants.users]]
  upn = "jill@contoso.example"
  password = "pw"
"#
            )
        };
        let apply = |hr: &str| {
            let data = latchkey_server::directory::parse_directory(&text(hr))
                .unwrap()
                .directory;
            let store = store.clone();
            async move {
                store.apply_directory(&data).await.unwrap();
                let mut loaded = store.load_directory().await.unwrap();
                loaded.apps.sort_by_key(|app| app.name.clone());
                let mut expected = data.apps.clone();
                expected.sort_by_key(|app| app.name.clone());
                assert_eq!(loaded.apps, expected);
                (loaded.apps, data.users)
            }
        };
        let (apps, users) = apply(
            "  assignment_required = true\n  assigned_users = [\"jill@contoso.example\", \"ivan@contoso.example\"]",
        )
        .await;
        let (hr, open) = (&apps[0], &apps[1]);
        assert!(hr.assignment_required);
        assert_eq!(hr.assigned_users, [users[1].object_id, users[0].object_id]);
        assert!(!open.assignment_required && open.assigned_users.is_empty());
        // Applied again with Ivan removed: the store follows the file.
        let (apps, users) =
            apply("  assignment_required = true\n  assigned_users = [\"jill@contoso.example\"]")
                .await;
        assert_eq!(apps[0].assigned_users, [users[1].object_id]);
        assert!(apps[0].admits(&users[1]) && !apps[0].admits(&users[0]));
        let (apps, _) = apply("").await;
        assert!(!apps[0].assignment_required && apps[0].assigned_users.is_empty());
    }

    pub async fn a_device_code_not_assigned_is_kept_and_never_redeemed(store: Arc<dyn Store>) {
        let record = device_code("device-n", "NTSSGNDD");
        assert!(store.insert_device_code(&record).await.unwrap());
        assert!(
            store
                .decide_device_code("NTSSGNDD", &DeviceCodeStatus::NotAssigned, NOW)
                .await
                .unwrap()
        );
        let found = store
            .find_device_code(&record.digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.status, DeviceCodeStatus::NotAssigned);
        // Decided: no other decision, no redemption.
        assert_eq!(
            store.pending_device_code("NTSSGNDD", NOW).await.unwrap(),
            None
        );
        assert!(
            !store
                .redeem_device_code(&record.digest, NOW, None)
                .await
                .unwrap()
        );
    }

    pub async fn secretless_credentials_round_trip(store: Arc<dyn Store>) {
        let fixture = include_str!("../../../../tests/fixtures/directory.toml");
        let federated = r#"
  [[tenants.apps]]
  client_id = "d4f8e2b3-9c5a-4d7e-8f1b-2a3c4d5e6f70"
  name = "Contoso Workload"
  grant_types = ["client_credentials"]
  single_use_assertions = true
    [[tenants.apps.federated_credentials]]
    issuer = "https://token.actions.githubusercontent.com"
    subject = "repo:contoso/payments:environment:prod"
    audience = ["api://AzureADTokenExchange", "api://Other"]
"#;
        let text = fixture.replacen(
            "  [[tenants.users]]\n",
            &format!("{federated}\n  [[tenants.users]]\n"),
            1,
        );
        let data = latchkey_server::directory::parse_directory(&text)
            .unwrap()
            .directory;
        store.apply_directory(&data).await.unwrap();
        let loaded = store.load_directory().await.unwrap();
        let app = |apps: &[latchkey_server::directory::App], name: &str| {
            apps.iter().find(|a| a.name == name).unwrap().clone()
        };
        let daemon = app(&loaded.apps, "Contoso Daemon");
        assert_eq!(daemon, app(&data.apps, "Contoso Daemon"));
        assert_eq!(daemon.certificates.len(), 1);
        assert!(!daemon.single_use_assertions);
        let workload = app(&loaded.apps, "Contoso Workload");
        assert_eq!(workload, app(&data.apps, "Contoso Workload"));
        assert!(workload.single_use_assertions);
        assert_eq!(
            workload.federated_credentials[0].audiences,
            ["api://AzureADTokenExchange", "api://Other"]
        );
    }

    pub async fn concurrent_presentations_of_an_assertion_have_one_winner(store: Arc<dyn Store>) {
        let client = Uuid::new_v4();
        for trial in 0..50 {
            let jti = format!("assertion-{trial}");
            let attempts = (0..2).map(|_| {
                let store = store.clone();
                let jti = jti.clone();
                tokio::spawn(async move { store.spend_assertion(client, &jti, NOW + 600).await })
            });
            let mut wins = 0;
            for attempt in attempts {
                wins += attempt.await.unwrap().unwrap() as usize;
            }
            assert_eq!(wins, 1, "trial {trial}");
        }
        // Another app's assertion with the same jti is its own.
        assert!(
            store
                .spend_assertion(Uuid::new_v4(), "assertion-0", NOW + 600)
                .await
                .unwrap()
        );
        // Forgotten once expired (a replay then fails on its `exp`).
        store.delete_expired_assertions(NOW + 601).await.unwrap();
        assert!(
            store
                .spend_assertion(client, "assertion-0", NOW + 1_200)
                .await
                .unwrap()
        );
    }
}
