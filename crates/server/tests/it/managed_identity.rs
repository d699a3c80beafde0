//! The managed identity endpoints on a loopback listener of their own:
//! the App Service protocol (`/msi/token`, `X-IDENTITY-HEADER`) and IMDS
//! (`/metadata/identity/oauth2/token`, `Metadata: true`), every answer's
//! exact bytes; and that the main listener has neither.

use std::sync::Arc;
use std::time::Duration;

use latchkey_server::ServerConfig;
use latchkey_server::directory::parse_directory;
use latchkey_server::managed_identity::ManagedIdentityConfig;
use latchkey_server::store::{DirectoryStore, SqliteStore, Store};
use serde_json::Value;
use uuid::Uuid;

use crate::harness::{
    DIRECTORY, Expected, FILES, TENANT, TestServer, assert_token_error, claims, verify_with_jwks,
};

const SECRET: &str = "mi-secret-0123456789abcdef";
/// The test directory's system-assigned identity (its principal id derived).
const WEB_HOST: &str = "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f";
/// Its user-assigned one, with the principal id the file gives.
const BATCH: &str = "b47c11e0-3d2a-4f5e-9a8b-7c6d5e4f3a2b";
const BATCH_PRINCIPAL: &str = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6";
const BATCH_RESOURCE_ID: &str = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/contoso-batch";
/// The correlation id every request sends, so refusals are exact bytes.
const CORRELATION: &str = "11111111-2222-4333-8444-555555555555";

/// The test server and, on a listener of their own, its managed
/// identity endpoints for `tenant`.
struct Mi {
    server: TestServer,
    base: String,
    _endpoints: tokio::task::JoinHandle<()>,
}

impl Drop for Mi {
    fn drop(&mut self) {
        self._endpoints.abort();
    }
}

async fn start(tenant: &str) -> Mi {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("latchkey.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db_path).await.unwrap());
    store
        .apply_directory(&parse_directory(DIRECTORY).unwrap().directory)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mi_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let main_base = format!("http://{}", listener.local_addr().unwrap());
    let base = format!("http://{}", mi_listener.local_addr().unwrap());
    let config = ManagedIdentityConfig {
        tenant: Some(tenant.to_owned()),
        secret: SECRET.to_owned(),
    };
    let (router, endpoints) = latchkey_server::router_with_managed_identity(
        ServerConfig::new(main_base.clone()),
        store,
        &config,
    )
    .await
    .unwrap();
    let serve = |listener: tokio::net::TcpListener, router: axum::Router| {
        tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service).await.unwrap();
        })
    };
    let server = TestServer {
        base: main_base,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        db_path,
        _dir: dir,
        server: serve(listener, router),
    };
    Mi {
        server,
        base,
        _endpoints: serve(mi_listener, endpoints.router),
    }
}

impl Mi {
    async fn app_service(&self, query: &str, secret: Option<&str>) -> reqwest::Response {
        let mut request = self
            .server
            .http
            .get(format!("{}/msi/token?{query}", self.base))
            .header("x-ms-client-request-id", CORRELATION);
        if let Some(secret) = secret {
            request = request.header("X-IDENTITY-HEADER", secret);
        }
        request.send().await.unwrap()
    }

    async fn imds(&self, query: &str, metadata: Option<&str>) -> reqwest::Response {
        let mut request = self
            .server
            .http
            .get(format!(
                "{}/metadata/identity/oauth2/token?{query}",
                self.base
            ))
            .header("x-ms-client-request-id", CORRELATION);
        if let Some(value) = metadata {
            request = request.header("Metadata", value);
        }
        request.send().await.unwrap()
    }
}

const APP_SERVICE: &str = "api-version=2019-08-01&resource=https%3A%2F%2Ffiles.contoso.example%2F";
const IMDS: &str = "api-version=2018-02-01&resource=https%3A%2F%2Ffiles.contoso.example%2F";

/// Status, the JSON headers, and the body, exactly.
async fn assert_answer(response: reqwest::Response, status: u16, body: &str) {
    assert_eq!(response.status().as_u16(), status);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(response.text().await.unwrap(), body);
}

async fn assert_app_service_refusal(response: reqwest::Response, status: u16, message: &str) {
    let body = format!(
        r#"{{"statusCode":{status},"message":{},"correlationId":"{CORRELATION}"}}"#,
        serde_json::to_string(message).unwrap()
    );
    assert_answer(response, status, &body).await;
}

async fn assert_imds_refusal(response: reqwest::Response, description: &str) {
    let body = format!(
        r#"{{"error":"invalid_request","error_description":{}}}"#,
        serde_json::to_string(description).unwrap()
    );
    assert_answer(response, 400, &body).await;
}

fn derived_principal(client_id: &str) -> String {
    let tenant = Uuid::parse_str(TENANT).unwrap();
    Uuid::new_v5(&tenant, format!("managed_identity:{client_id}").as_bytes()).to_string()
}

/// A managed identity's v1 app-only token, as Azure AD writes one.
fn assert_identity_token(claims: &Value, base: &str, client_id: &str, principal: &str) {
    assert_eq!(claims["aud"], FILES);
    assert_eq!(claims["iss"], format!("{base}/{TENANT}/"));
    assert_eq!(claims["appid"], client_id);
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["oid"], principal);
    assert_eq!(claims["sub"], principal);
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims.get("scp").is_none() && claims.get("upn").is_none());
}

#[tokio::test]
async fn app_service_gives_the_system_identity_its_token() {
    let mi = start("contoso.example").await;
    let response = mi.app_service(APP_SERVICE, Some(SECRET)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    let token = doc["access_token"].as_str().unwrap();
    let expires_on = doc["expires_on"].as_str().unwrap();
    assert_eq!(
        body,
        format!(
            r#"{{"access_token":"{token}","expires_on":"{expires_on}","resource":"{FILES}","token_type":"Bearer","client_id":"{WEB_HOST}"}}"#
        )
    );
    let claims = claims(token);
    assert_eq!(expires_on, claims["exp"].as_i64().unwrap().to_string());
    assert_identity_token(
        &claims,
        &mi.server.base,
        WEB_HOST,
        &derived_principal(WEB_HOST),
    );
    assert_eq!(claims["roles"], serde_json::json!(["Files.ReadAll"]));
    verify_with_jwks(&mi.server, token).await;
}

#[tokio::test]
async fn app_service_names_a_user_assigned_identity_four_ways() {
    let mi = start("contoso.example").await;
    let resource_id =
        form_urlencoded::byte_serialize(BATCH_RESOURCE_ID.as_bytes()).collect::<String>();
    for selector in [
        format!("client_id={BATCH}"),
        format!("principal_id={BATCH_PRINCIPAL}"),
        format!("object_id={}", BATCH_PRINCIPAL.to_uppercase()),
        format!("mi_res_id={resource_id}"),
    ] {
        let response = mi
            .app_service(&format!("{APP_SERVICE}&{selector}"), Some(SECRET))
            .await;
        assert_eq!(response.status(), 200, "{selector}");
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["client_id"], BATCH);
        let claims = claims(doc["access_token"].as_str().unwrap());
        assert_identity_token(&claims, &mi.server.base, BATCH, BATCH_PRINCIPAL);
        // No role granted: no `roles`.
        assert!(claims.get("roles").is_none(), "{selector}");
    }
}

#[tokio::test]
async fn app_service_refusals_are_its_json() {
    let mi = start("contoso.example").await;
    let cases: [(&str, Option<&str>, u16, &str); 9] = [
        (
            APP_SERVICE,
            None,
            401,
            "The request has no X-IDENTITY-HEADER header: send the value of IDENTITY_HEADER in it.",
        ),
        (
            APP_SERVICE,
            Some("not-the-secret-at-all"),
            401,
            "The X-IDENTITY-HEADER header is not this endpoint's IDENTITY_HEADER.",
        ),
        (
            "resource=https%3A%2F%2Ffiles.contoso.example%2F",
            Some(SECRET),
            400,
            "The api-version query parameter is required (this endpoint serves 2019-08-01).",
        ),
        (
            "api-version=2017-09-01&resource=x",
            Some(SECRET),
            400,
            "The HTTP resource that matches the request URI does not support the API version '2017-09-01'; this endpoint serves 2019-08-01.",
        ),
        (
            "api-version=2019-08-01",
            Some(SECRET),
            400,
            "The resource query parameter is required.",
        ),
        (
            &format!("{APP_SERVICE}&client_id={BATCH}&principal_id={BATCH_PRINCIPAL}"),
            Some(SECRET),
            400,
            "Name at most one identity: client_id, principal_id (object_id) or mi_res_id.",
        ),
        (
            &format!("{APP_SERVICE}&client_id=0f0f0f0f-0000-4000-8000-000000000000"),
            Some(SECRET),
            400,
            "Unable to load the proper Managed Identity.",
        ),
        (
            &format!("{APP_SERVICE}&client_id={WEB_HOST}&client_id={BATCH}"),
            Some(SECRET),
            400,
            "The query parameter 'client_id' is present more than once.",
        ),
        (
            "api-version=2019-08-01&resource=https%3A%2F%2Fnowhere.example%2F",
            Some(SECRET),
            400,
            "",
        ),
    ];
    for (query, secret, status, message) in cases {
        let response = mi.app_service(query, secret).await;
        if message.is_empty() {
            // Azure AD's refusal passed on: its AADSTS text is the message.
            assert_eq!(response.status(), 400);
            let doc: Value = response.json().await.unwrap();
            let text = doc["message"].as_str().unwrap();
            assert!(text.starts_with(&format!("AADSTS500011: The resource principal named https://nowhere.example/ was not found in the tenant named {TENANT}.")), "{text}");
            assert!(
                text.contains(&format!("\r\nCorrelation ID: {CORRELATION}\r\n")),
                "{text}"
            );
            assert_eq!(doc["statusCode"], 400);
            assert_eq!(doc["correlationId"], CORRELATION);
        } else {
            assert_app_service_refusal(response, status, message).await;
        }
    }
}

#[tokio::test]
async fn imds_gives_tokens_with_its_string_numbers() {
    let mi = start("contoso.example").await;
    let response = mi.imds(IMDS, Some("true")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = response.text().await.unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    let token = doc["access_token"].as_str().unwrap();
    let system = claims(token);
    let exp = system["exp"].as_i64().unwrap();
    let iat = system["iat"].as_i64().unwrap();
    assert_eq!(
        body,
        format!(
            r#"{{"access_token":"{token}","client_id":"{WEB_HOST}","expires_in":"3600","expires_on":"{exp}","ext_expires_in":"3600","not_before":"{iat}","resource":"{FILES}","token_type":"Bearer"}}"#
        )
    );
    assert_identity_token(
        &system,
        &mi.server.base,
        WEB_HOST,
        &derived_principal(WEB_HOST),
    );
    // msal-node asks with a trailing slash.
    let response = mi
        .server
        .http
        .get(format!(
            "{}/metadata/identity/oauth2/token/?{IMDS}",
            mi.base
        ))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let resource_id =
        form_urlencoded::byte_serialize(BATCH_RESOURCE_ID.as_bytes()).collect::<String>();
    for selector in [
        format!("client_id={BATCH}"),
        format!("object_id={BATCH_PRINCIPAL}"),
        format!("msi_res_id={resource_id}"),
    ] {
        let response = mi.imds(&format!("{IMDS}&{selector}"), Some("true")).await;
        assert_eq!(response.status(), 200, "{selector}");
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["client_id"], BATCH);
        let claims = claims(doc["access_token"].as_str().unwrap());
        assert_identity_token(&claims, &mi.server.base, BATCH, BATCH_PRINCIPAL);
    }
}

#[tokio::test]
async fn imds_refusals_are_its_json() {
    let mi = start("contoso.example").await;
    // The Azure SDKs' probe: no query, no Metadata header.
    assert_imds_refusal(
        mi.imds("", None).await,
        "Required metadata header not specified",
    )
    .await;
    assert_imds_refusal(
        mi.imds(IMDS, Some("True")).await,
        "Required metadata header not specified",
    )
    .await;
    let cases: [(&str, &str); 6] = [
        (
            "resource=x",
            "Required query variable 'api-version' is missing",
        ),
        (
            "api-version=2017-12-01&resource=x",
            "Invalid api-version '2017-12-01': this endpoint serves 2018-02-01 and later dated versions",
        ),
        (
            "api-version=2018-02-01",
            "Required audience parameter not specified",
        ),
        (
            &format!("{IMDS}&client_id={BATCH}&msi_res_id=x"),
            "Name at most one identity: client_id, object_id or msi_res_id",
        ),
        (
            &format!("{IMDS}&object_id=0f0f0f0f-0000-4000-8000-000000000000"),
            "Identity not found",
        ),
        (
            &format!("{IMDS}&resource=y"),
            "The query parameter 'resource' is present more than once",
        ),
    ];
    for (query, description) in cases {
        assert_imds_refusal(mi.imds(query, Some("true")).await, description).await;
    }
    // Azure AD's refusal, as IMDS passes it on: the token endpoint's document.
    let message = format!(
        "The resource principal named https://nowhere.example/ was not found in the tenant named {TENANT}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
    );
    let mut expected = Expected::new(400, "invalid_resource", 500011, &message);
    expected.correlation_id = Some(CORRELATION);
    let response = mi
        .imds(
            "api-version=2018-02-01&resource=https%3A%2F%2Fnowhere.example%2F",
            Some("true"),
        )
        .await;
    assert_token_error(response, expected).await;
}

#[tokio::test]
async fn a_tenant_without_identities_has_none_to_give() {
    let mi = start("fabrikam.example").await;
    assert_imds_refusal(mi.imds(IMDS, Some("true")).await, "Identity not found").await;
    // Contoso's identity is not Fabrikam's.
    assert_imds_refusal(
        mi.imds(&format!("{IMDS}&client_id={BATCH}"), Some("true"))
            .await,
        "Identity not found",
    )
    .await;
    assert_app_service_refusal(
        mi.app_service(APP_SERVICE, Some(SECRET)).await,
        400,
        "Unable to load the proper Managed Identity.",
    )
    .await;
}

#[tokio::test]
async fn the_main_listener_has_no_managed_identity_route() {
    let mi = start("contoso.example").await;
    for path in [
        format!("/msi/token?{APP_SERVICE}"),
        format!("/metadata/identity/oauth2/token?{IMDS}"),
    ] {
        let response = mi
            .server
            .http
            .get(format!("{}{path}", mi.server.base))
            .header("Metadata", "true")
            .header("X-IDENTITY-HEADER", SECRET)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["error_codes"], serde_json::json!([9002313]));
    }
    // And the identities' client ids are no apps at the token endpoint.
    let response = mi
        .server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB_HOST),
                ("client_secret", "anything-at-all-0123456789-abcdefghij"),
                ("resource", FILES),
            ],
        )
        .await;
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["error_codes"], serde_json::json!([700016]));
    // The endpoints' own listener answers an unknown path and a POST as
    // the server does: JSON, never an empty body.
    let response = mi
        .server
        .http
        .get(format!("{}/oauth2/token", mi.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = mi
        .server
        .http
        .post(format!("{}/metadata/identity/oauth2/token?{IMDS}", mi.base))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["error_codes"], serde_json::json!([900561]));
}

#[tokio::test]
async fn the_tenant_must_be_known_and_named_among_several() {
    for (tenant, problem) in [
        (
            None,
            "the directory has several tenants: name the one whose managed identities are served with --managed-identity-tenant",
        ),
        (
            Some("nowhere.example"),
            "--managed-identity-tenant nowhere.example is not a tenant of the directory",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
        store
            .apply_directory(&parse_directory(DIRECTORY).unwrap().directory)
            .await
            .unwrap();
        let config = ManagedIdentityConfig {
            tenant: tenant.map(str::to_owned),
            secret: SECRET.to_owned(),
        };
        let result = latchkey_server::router_with_managed_identity(
            ServerConfig::new("http://127.0.0.1:1"),
            Arc::new(store),
            &config,
        )
        .await;
        match result {
            Err(err) => assert_eq!(err.to_string(), problem),
            Ok(_) => panic!("{tenant:?} was accepted"),
        }
    }
}

#[tokio::test]
async fn identities_round_trip_on_sqlite() {
    crate::store::on_sqlite(identities_round_trip).await;
}

#[tokio::test]
async fn identities_round_trip_on_postgres() {
    crate::store::on_postgres(identities_round_trip).await;
}

/// What the file says is what every replica loads; a new system-assigned
/// identity replaces the tenant's old one (a tenant has at most one).
async fn identities_round_trip(store: Arc<dyn Store>) {
    let data = parse_directory(DIRECTORY).unwrap().directory;
    store.apply_directory(&data).await.unwrap();
    let mut loaded = store.load_directory().await.unwrap().managed_identities;
    let mut expected = data.managed_identities.clone();
    loaded.sort_by_key(|i| i.client_id);
    expected.sort_by_key(|i| i.client_id);
    assert_eq!(loaded, expected);
    assert_eq!(loaded.len(), 2);
    let renamed = DIRECTORY
        .replace(WEB_HOST, "5e5e5e5e-0000-4000-8000-000000000001")
        .replace("name = \"contoso-batch\"", "name = \"contoso-nightly\"");
    store
        .apply_directory(&parse_directory(&renamed).unwrap().directory)
        .await
        .unwrap();
    let loaded = store.load_directory().await.unwrap().managed_identities;
    let mut names: Vec<(String, String)> = loaded
        .iter()
        .map(|i| (i.name.clone(), i.client_id.to_string()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("contoso-nightly".to_owned(), BATCH.to_owned()),
            (
                "contoso-web-host".to_owned(),
                "5e5e5e5e-0000-4000-8000-000000000001".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn each_request_is_a_sign_in_record_without_the_secret() {
    use latchkey_server::store::{SignInLogStore, SignInQuery};

    let mi = start("contoso.example").await;
    assert_eq!(
        mi.app_service(APP_SERVICE, Some(SECRET)).await.status(),
        200
    );
    let refused = mi
        .app_service(APP_SERVICE, Some("not-the-secret-at-all"))
        .await;
    assert_eq!(refused.status(), 401);
    assert_eq!(mi.imds(IMDS, Some("true")).await.status(), 200);
    // The log is written off the request path: read the store until the
    // three records are there.
    let store = SqliteStore::open(&mi.server.db_path).await.unwrap();
    let query = SignInQuery {
        correlation_id: Some(CORRELATION.into()),
        limit: 10,
        ..SignInQuery::default()
    };
    let mut records = Vec::new();
    for _ in 0..200 {
        records = store.find_sign_ins(&query).await.unwrap();
        if records.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    records.sort_by_key(|r| r.id);
    let seen: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.endpoint.as_str(),
                r.status,
                r.outcome.as_str(),
                r.app.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "managed_identity_app_service",
                200,
                "success",
                Some(WEB_HOST)
            ),
            ("managed_identity_app_service", 401, "failure", None),
            ("managed_identity_imds", 200, "success", Some(WEB_HOST)),
        ]
    );
    for record in &records {
        assert_eq!(record.tenant.as_deref(), Some(TENANT));
    }
    let mut bytes = std::fs::read(&mi.server.db_path).unwrap();
    let mut wal = mi.server.db_path.clone().into_os_string();
    wal.push("-wal");
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    for secret in [SECRET, "not-the-secret-at-all"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the store"
        );
    }
}
