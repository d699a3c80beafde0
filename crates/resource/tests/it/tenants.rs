//! Tenant isolation behind a multi-tenant authority (`common`): an App ID
//! URI is unique only within a tenant, so a token counts only with the
//! tenant that issued it, and only the tenants the API names are accepted.

use crate::harness::*;
use latchkey_resource::{AcceptedTenants, InitError, ResourceConfig, Validator};
use serde_json::json;

/// Another tenant, which registered an API with the same App ID URI.
const OTHER_TID: &str = "3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c";

/// A token of `tenant`, for `RESOURCE`, as the authority would issue it.
fn token_of(key: &TestKey, authority: &Authority, tenant: &str) -> String {
    key.token(
        authority,
        json!({"iss": format!("{}/{tenant}/", authority.base), "tid": tenant}),
    )
}

fn untrusted_issuer(authorization_uri: &str) -> String {
    format!(
        r#"Bearer authorization_uri="{authorization_uri}", error="invalid_token", error_description="The access token was issued by an untrusted issuer.", resource_id="https://files.contoso.example/""#
    )
}

async fn common_api(authority: &Authority, tenants: AcceptedTenants) -> Api {
    let mut config = ResourceConfig::new(format!("{}/common", authority.base), RESOURCE);
    config.tenants = tenants;
    Api::start_with(config).await
}

#[tokio::test]
async fn another_tenants_token_for_the_same_app_id_uri_is_refused() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = common_api(&authority, AcceptedTenants::Only(vec![TID.into()])).await;
    let ours = api
        .bearer("/api/read", &token_of(&key, &authority, TID))
        .await;
    assert_eq!(ours.status, 200, "{ours:?}");
    let theirs = api
        .bearer("/api/read", &token_of(&key, &authority, OTHER_TID))
        .await;
    assert_eq!(theirs.status, 401);
    assert_eq!(
        theirs.www_authenticate.as_deref().unwrap(),
        untrusted_issuer(&format!("{}/common/oauth2/authorize", authority.base))
    );
    // Their v2.0 token too.
    let v2 = key.token(
        &authority,
        json!({"iss": format!("{}/{OTHER_TID}/v2.0", authority.base), "tid": OTHER_TID, "ver": "2.0"}),
    );
    assert_eq!(api.bearer("/api/read", &v2).await.status, 401);
    // An accepted tenant's `tid` with another tenant's issuer: refused.
    let mixed = key.token(
        &authority,
        json!({"iss": format!("{}/{OTHER_TID}/", authority.base), "tid": TID}),
    );
    assert_eq!(api.bearer("/api/read", &mixed).await.status, 401);
}

#[tokio::test]
async fn any_tenant_accepts_every_tenant_but_never_a_mismatched_issuer() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = common_api(&authority, AcceptedTenants::Any).await;
    for tenant in [TID, OTHER_TID] {
        let answer = api
            .bearer("/api/read", &token_of(&key, &authority, tenant))
            .await;
        assert_eq!(answer.status, 200, "{tenant}: {answer:?}");
    }
    let mixed = key.token(
        &authority,
        json!({"iss": format!("{}/{OTHER_TID}/", authority.base), "tid": TID}),
    );
    let refused = api.bearer("/api/read", &mixed).await;
    assert_eq!(
        refused.www_authenticate.as_deref().unwrap(),
        untrusted_issuer(&format!("{}/common/oauth2/authorize", authority.base))
    );
    // A `tid` that is not a tenant id never fills the issuer template.
    let odd = key.token(
        &authority,
        json!({"iss": format!("{}/x/", authority.base), "tid": "x"}),
    );
    assert_eq!(api.bearer("/api/read", &odd).await.status, 401);
}

#[test]
fn a_multi_tenant_authority_without_tenants_does_not_start() {
    for authority in [
        "http://127.0.0.1:1/common",
        "http://127.0.0.1:1/organizations",
    ] {
        let Err(err) = Validator::new(ResourceConfig::new(authority, RESOURCE)) else {
            panic!("{authority} started without tenants");
        };
        assert!(matches!(err, InitError::TenantsRequired(_)));
        assert_eq!(
            err.to_string(),
            format!(
                "the authority '{authority}' is multi-tenant: name the tenants whose tokens \
                 this API accepts (or accept any tenant, explicitly)"
            )
        );
    }
    let mut config = ResourceConfig::new("http://127.0.0.1:1/common", RESOURCE);
    config.tenants = AcceptedTenants::Only(vec!["contoso.example".into()]);
    assert_eq!(
        Validator::new(config).err().unwrap().to_string(),
        "'contoso.example' is not a tenant id (a GUID)"
    );
}

#[tokio::test]
async fn a_single_tenant_authority_is_unchanged() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    let ours = api
        .bearer("/api/read", &token_of(&key, &authority, TID))
        .await;
    assert_eq!(ours.status, 200, "{ours:?}");
    let theirs = api
        .bearer("/api/read", &token_of(&key, &authority, OTHER_TID))
        .await;
    assert_eq!(
        theirs.www_authenticate.as_deref().unwrap(),
        untrusted_issuer(&authority.authorization_uri())
    );
}
