//! The `oauth2` crate (oauth2-rs 5), unchanged, against the v2.0 token
//! endpoint: its typed token response, and errors parsed into its
//! `StandardErrorResponse`. (The v1 endpoint sends `expires_in` as a
//! string, as Azure AD v1 does, which oauth2-rs does not accept.)

use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};

use crate::harness::*;

fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn client_credentials(
    server: &TestServer,
    secret: &str,
    auth_type: AuthType,
    scope: &str,
) -> Result<
    oauth2::basic::BasicTokenResponse,
    RequestTokenError<
        oauth2::HttpClientError<oauth2::reqwest::Error>,
        oauth2::StandardErrorResponse<BasicErrorResponseType>,
    >,
> {
    let token_url = format!("{}/{TENANT}/oauth2/v2.0/token", server.base);
    BasicClient::new(ClientId::new(WEB.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(TokenUrl::new(token_url).unwrap())
        .set_auth_type(auth_type)
        .exchange_client_credentials()
        .add_scope(Scope::new(scope.to_owned()))
        .request_async(&http())
        .await
}

#[tokio::test]
async fn client_credentials_with_basic_and_body_authentication() {
    let server = TestServer::start().await;
    for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
        let token = client_credentials(
            &server,
            WEB_SECRET,
            auth_type.clone(),
            "https://files.contoso.example/.default",
        )
        .await
        .unwrap_or_else(|e| panic!("{auth_type:?}: {e:?}"));
        assert_eq!(*token.token_type(), BasicTokenType::Bearer);
        assert_eq!(token.expires_in(), Some(Duration::from_secs(3600)));
        assert!(token.refresh_token().is_none());
        verify_with_jwks(&server, token.access_token().secret()).await;
    }
}

#[tokio::test]
async fn errors_parse_into_its_standard_error_response() {
    let server = TestServer::start().await;
    let cases = [
        (
            "wrong-secret",
            "https://files.contoso.example/.default",
            BasicErrorResponseType::InvalidClient,
            "AADSTS7000215: ",
        ),
        (
            WEB_SECRET,
            "https://files.contoso.example/.default https://reports.contoso.example/Reports.Read",
            BasicErrorResponseType::InvalidScope,
            "AADSTS70011: ",
        ),
        (
            WEB_SECRET,
            "https://graph.example/.default",
            BasicErrorResponseType::Extension("invalid_resource".to_owned()),
            "AADSTS500011: ",
        ),
    ];
    for (secret, scope, expected, description) in cases {
        let error = client_credentials(&server, secret, AuthType::BasicAuth, scope)
            .await
            .expect_err("refused");
        let RequestTokenError::ServerResponse(response) = error else {
            panic!("{scope}: not a parsed error response: {error:?}")
        };
        assert_eq!(*response.error(), expected, "{scope}");
        assert!(
            response
                .error_description()
                .is_some_and(|d| d.starts_with(description)),
            "{scope}: {response:?}"
        );
    }
}
