//! Discovery and keys.

use crate::harness::*;

#[tokio::test]
async fn discovery_names_this_servers_endpoints() {
    let server = TestServer::start().await;
    for tenant in [TENANT, "contoso.example"] {
        let (status, doc) = server
            .get_json(&format!("/{tenant}/.well-known/openid-configuration"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(doc["issuer"], format!("{}/{TENANT}/", server.base));
        assert_eq!(
            doc["token_endpoint"],
            format!("{}/{TENANT}/oauth2/token", server.base)
        );
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{}/{TENANT}/oauth2/authorize", server.base)
        );
        assert_eq!(
            doc["jwks_uri"],
            format!("{}/common/discovery/keys", server.base)
        );
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256"])
        );
        assert_eq!(
            doc["end_session_endpoint"],
            format!("{}/{TENANT}/oauth2/logout", server.base)
        );
        assert_eq!(doc["http_logout_supported"], true);
        assert_eq!(doc["frontchannel_logout_supported"], true);
        let (_, v2) = server
            .get_json(&format!("/{tenant}/v2.0/.well-known/openid-configuration"))
            .await;
        assert_eq!(
            v2["end_session_endpoint"],
            format!("{}/{TENANT}/oauth2/v2.0/logout", server.base)
        );
    }
    let (_, common) = server
        .get_json("/common/.well-known/openid-configuration")
        .await;
    assert_eq!(common["issuer"], format!("{}/{{tenantid}}/", server.base));
    assert_eq!(
        common["token_endpoint"],
        format!("{}/common/oauth2/token", server.base)
    );
}

#[tokio::test]
async fn the_jwks_publishes_the_signing_key_like_azure_ad() {
    let server = TestServer::start().await;
    let (status, common) = server.get_json("/common/discovery/keys").await;
    assert_eq!(status, 200);
    let (_, tenant) = server.get_json(&format!("/{TENANT}/discovery/keys")).await;
    assert_eq!(common, tenant);
    let keys = common["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["e"], "AQAB");
    assert_eq!(key["kid"], key["x5t"]);
    assert_eq!(key["n"].as_str().unwrap().len(), 342, "a 2048-bit modulus");
    assert_eq!(key["x5c"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_key_survives_a_restart() {
    // Two servers on one store: the second loads the first one's key.
    let server = TestServer::start().await;
    let (_, before) = server.get_json("/common/discovery/keys").await;
    let store = latchkey_server::store::SqliteStore::open(&server.db_path)
        .await
        .unwrap();
    let keys = latchkey_server::store::Store::signing_keys(&store)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(before["keys"][0]["kid"], keys[0].kid);
}

#[tokio::test]
async fn an_unknown_tenant_has_no_discovery() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(format!(
            "{}/nowhere.example/.well-known/openid-configuration",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 90002, "Tenant 'nowhere.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    )
    .await;
}

#[tokio::test]
async fn user_realm_discovery_answers_like_azure_ad_for_adal() {
    let server = TestServer::start().await;
    let (status, realm) = server
        .get_json("/common/UserRealm/frank%40contoso.example?api-version=1.0")
        .await;
    assert_eq!(status, 200);
    assert_eq!(realm["account_type"], "Managed");
    assert_eq!(realm["domain_name"], "contoso.example");
    assert_eq!(realm["ver"], "1.0");
    let (_, unknown) = server
        .get_json("/common/UserRealm/someone%40elsewhere.example?api-version=1.0")
        .await;
    assert_eq!(unknown["account_type"], "Unknown");
}
