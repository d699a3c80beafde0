//! Key rotation: overlap, one refetch for a new kid, no refetch storm.

use std::time::Duration;

use crate::harness::*;
use latchkey_resource::ResourceConfig;
use serde_json::json;

#[tokio::test]
async fn old_tokens_validate_during_the_overlap_and_a_new_kid_after_one_refetch() {
    let old = TestKey::new("old");
    let new = TestKey::new("new");
    let authority = Authority::start(&[&old]).await;
    let mut config = ResourceConfig::new(authority.authority_url(), RESOURCE);
    config.min_refetch_interval = Duration::from_millis(300);
    config.cache_capacity = 0; // every request verifies, so keys really matter
    let api = Api::start_with(config).await;

    assert_eq!(
        api.bearer("/api/read", &old.token(&authority, json!({})))
            .await
            .status,
        200
    );
    assert_eq!(authority.jwks_fetches(), 1);

    // The authority starts publishing the new key next to the old one.
    authority.publish(&[&old, &new]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        api.bearer("/api/read", &new.token(&authority, json!({})))
            .await
            .status,
        200
    );
    assert_eq!(
        authority.jwks_fetches(),
        2,
        "exactly one refetch for the new kid"
    );
    assert_eq!(
        api.bearer("/api/read", &old.token(&authority, json!({})))
            .await
            .status,
        200
    );
    assert_eq!(
        api.bearer("/api/read", &new.token(&authority, json!({})))
            .await
            .status,
        200
    );
    assert_eq!(authority.jwks_fetches(), 2, "known kids need no fetch");
}

#[tokio::test]
async fn unknown_kids_cannot_cause_a_refetch_storm() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let mut config = ResourceConfig::new(authority.authority_url(), RESOURCE);
    config.min_refetch_interval = Duration::from_secs(60);
    let api = Api::start_with(config).await;
    assert_eq!(
        api.bearer("/api/read", &key.token(&authority, json!({})))
            .await
            .status,
        200
    );
    let before = authority.jwks_fetches();
    let attacker = TestKey::new("x");
    // Forty requests with forty unknown kids, all at once.
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..40 {
        let header = json!({"alg": "RS256", "kid": format!("random-{i}")});
        let token = attacker.sign(&header, &authority.claims());
        let (http, url) = (api.http.clone(), format!("{}/api/read", api.base));
        requests.spawn(async move {
            http.get(url)
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 401);
    }
    assert!(
        authority.jwks_fetches() <= before + 1,
        "{} fetches",
        authority.jwks_fetches() - before
    );
}

#[tokio::test]
async fn with_no_key_at_all_the_keys_are_asked_for_again_within_a_second() {
    // The authority published nothing when the API first asked (it was
    // being set up): tokens fail, but not for a whole refetch interval.
    let key = TestKey::new("k1");
    let authority = Authority::start(&[]).await;
    let mut config = ResourceConfig::new(authority.authority_url(), RESOURCE);
    config.min_refetch_interval = Duration::from_secs(60);
    let api = Api::start_with(config).await;
    let token = key.token(&authority, json!({}));
    assert_eq!(api.bearer("/api/read", &token).await.status, 401);
    authority.publish(&[&key]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(api.bearer("/api/read", &token).await.status, 200);
}
