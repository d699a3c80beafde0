//! The catalogue pinned: one of every condition, its number, code and
//! text, and docs/errors.md rendered from the rows.

use super::*;
use crate::{ClientAction, Surface};
use expect_test::{expect, expect_file};

/// One of every condition, so the catalogue's numbers, codes and texts
/// are pinned in one place.
fn every_condition() -> Vec<Aadsts> {
    let s = |v: &str| v.to_owned();
    let b = |v: &str| Box::<str>::from(v);
    vec![
        Aadsts::MissingParameter { name: "grant_type" },
        Aadsts::AmbiguousClientId {
            client_ids: vec![s("a"), s("b")],
        },
        Aadsts::DuplicateParameter {
            name: s("resource"),
        },
        Aadsts::MalformedRequest,
        Aadsts::NotFormEncoded,
        Aadsts::BodyTooLarge { limit: 65536 },
        Aadsts::BodyTooSlow,
        Aadsts::MalformedBody,
        Aadsts::MalformedRequestHead,
        Aadsts::RequestHeadersTooLarge,
        Aadsts::RequestUriTooLong,
        Aadsts::MethodNotAllowed { method: s("GET") },
        Aadsts::MethodNotAllowedOnRoute { method: s("POST") },
        Aadsts::UnknownEndpoint { path: s("/x") },
        Aadsts::MalformedAuthorizationHeader,
        Aadsts::DuplicateAuthorizationHeader,
        Aadsts::ConflictingClientCredentials,
        Aadsts::TenantNotFound {
            tenant: s("nowhere.example"),
        },
        Aadsts::UnknownInstance,
        Aadsts::InvalidTenantIdentifier { tenant: s("%FF") },
        Aadsts::UnknownApplication {
            client_id: s("c"),
            tenant: s("t"),
        },
        Aadsts::MissingClientSecret,
        Aadsts::InvalidClientSecret { client_id: s("c") },
        Aadsts::PublicClientSentSecret,
        Aadsts::ClientAssertionWithSecret,
        Aadsts::ClientAssertionTypeUnsupported { value: s("saml2") },
        Aadsts::CredentialFieldMissing { field: "iss" },
        Aadsts::ClientAssertionAlgorithm {
            alg: b("HS256"),
            supported: "RS256,PS256",
        },
        Aadsts::ClientAssertionNoKeyId,
        Aadsts::ClientCertificateNotFound {
            thumbprint: b("8F6F"),
            client_id: b("c"),
        },
        Aadsts::ClientAssertionSignatureInvalid {
            thumbprint: b("8F6F"),
        },
        Aadsts::ClientCertificateExpired {
            thumbprint: b("8F6F"),
            start: b("2020-01-01T00:00:00.0000000Z"),
            end: b("2021-01-01T00:00:00.0000000Z"),
        },
        Aadsts::ClientAssertionTimeRange {
            now: b("2023-12-11T23:52:19.6223401Z"),
            valid_from: b("1970-01-01T00:00:00.0000000Z"),
            expires: b("2023-12-11T23:50:00.0000000Z"),
        },
        Aadsts::ClientAssertionLifetime {
            lifetime: 7200,
            cap: 3600,
        },
        Aadsts::ClientAssertionAudience {
            expected: b("https://login.example/t/oauth2/v2.0/token"),
        },
        Aadsts::ClientAssertionSubject,
        Aadsts::ClientAssertionReplayed { jti: s("j") },
        Aadsts::FederatedIssuerNotFound {
            issuer: s("https://issuer.example"),
        },
        Aadsts::FederatedSubjectNotFound {
            subject: s("system:serviceaccount:ns:sa"),
        },
        Aadsts::FederatedAudienceNotFound {
            audience: s("api://Other"),
        },
        Aadsts::FederatedKeyNotFound {
            kid: b("k"),
            issuer: b("https://issuer.example"),
        },
        Aadsts::FederatedKeysUnavailable {
            issuer: s("https://issuer.example"),
        },
        Aadsts::GrantTypeNotAllowed {
            client_id: s("c"),
            grant_type: s("password"),
        },
        Aadsts::UnsupportedGrantType {
            grant_type: s("magic"),
        },
        Aadsts::ResourceNotFound {
            resource: s("https://r/"),
            tenant: s("t"),
        },
        Aadsts::InvalidUsernameOrPassword,
        Aadsts::AccountLocked,
        Aadsts::SignInRateLimited,
        Aadsts::GrantExpired,
        Aadsts::GrantRevoked,
        Aadsts::RefreshTokenReused,
        Aadsts::RefreshFamilyExpired { lifetime_days: 90 },
        Aadsts::ScopeNotGranted {
            scope: s("Files.Write"),
        },
        Aadsts::GrantMalformed,
        Aadsts::GrantClientMismatch,
        Aadsts::MfaRequired {
            resource: s("https://r/"),
        },
        Aadsts::MfaEnrollmentRequired {
            resource: s("https://r/"),
        },
        Aadsts::MalformedClaims,
        Aadsts::ConsentRequired {
            client_id: s("c"),
            app_name: s("App"),
        },
        Aadsts::RequestedTokenUseUnsupported { value: s("bearer") },
        Aadsts::AssertionMalformed,
        Aadsts::AssertionKeyNotFound { kid: s("k") },
        Aadsts::AssertionSignatureInvalid { kid: s("k") },
        Aadsts::AssertionIssuerMismatch {
            issuer: s("https://old.example/t/"),
        },
        Aadsts::AssertionExpired {
            now: b("2024-05-01T13:00:00Z"),
            valid_from: b("2024-05-01T11:00:00Z"),
            expires: b("2024-05-01T12:00:00Z"),
        },
        Aadsts::AssertionAudienceMismatch {
            audience: b("https://r/"),
            client_id: b("c"),
            app_name: b("App"),
        },
        Aadsts::IdTokenAssertion,
        Aadsts::AppOnlyAssertion { client_id: s("c") },
        Aadsts::AssertionUserNotFound {
            user: s("frank@contoso.example"),
            tenant: s("t"),
        },
        Aadsts::ResourceNotInPermissions {
            client: b("c(App)"),
            resource: b("https://r/"),
            permitted: b("https://a/, https://b/"),
        },
        Aadsts::UserNotAssigned {
            client_id: s("c"),
            app_name: s("App"),
        },
        Aadsts::InvalidScope { scope: s("x") },
        Aadsts::Throttled,
        Aadsts::ServerError,
        Aadsts::RedirectUriMissing { client_id: s("c") },
        Aadsts::RedirectUriMismatch {
            redirect_uri: s("https://evil/"),
            client_id: s("c"),
        },
        Aadsts::RedirectUriMalformed,
        Aadsts::UnsupportedResponseType {
            response_type: s("token"),
        },
        Aadsts::PkceRequired,
        Aadsts::PkceMethodNotSupported { method: s("plain") },
        Aadsts::MalformedCodeChallenge,
        Aadsts::UnsupportedPrompt { prompt: s("maybe") },
        Aadsts::UnsupportedResponseMode {
            response_mode: s("web_message"),
        },
        Aadsts::LoginRequired,
        Aadsts::SilentConsentRequired {
            client_id: s("c"),
            app_name: s("App"),
        },
        Aadsts::DeviceAuthorizationPending,
        Aadsts::DevicePolledTooFast { interval: 5 },
        Aadsts::DeviceAuthorizationDeclined,
        Aadsts::DeviceCodeExpired,
        Aadsts::DeviceCodeUnknown,
        Aadsts::DeviceCodeRedeemed,
        Aadsts::UserDeclinedConsent,
        Aadsts::SignInUserNotAssigned {
            client_id: s("c"),
            app_name: s("App"),
        },
        Aadsts::CodeRedeemed,
        Aadsts::CrossOriginNotSpa {
            origin: s("https://evil.example"),
        },
        Aadsts::SpaRequiresCrossOrigin,
        Aadsts::SpaOriginMismatch {
            origin: s("https://evil.example"),
            expected: s("http://localhost:3000"),
        },
        Aadsts::SpaRefreshTokenExpired {
            issued_on: s("2024-05-01T12:00:00Z"),
        },
        Aadsts::SpaPkceRequired,
        Aadsts::CodeRedirectUriMismatch,
        Aadsts::CodeVerifierMismatch,
        Aadsts::CodeVerifierMissing,
        Aadsts::CodeVerifierUnexpected,
    ]
}

#[test]
fn the_catalogue() {
    let table: String = every_condition()
        .iter()
        .map(|c| {
            let status = c.token_status();
            let sub = c.suberror().map(|s| format!(" ({s})")).unwrap_or_default();
            format!(
                "{} {status} {}{sub}: {}\n",
                c.number(),
                c.error_code(),
                c.message()
            )
        })
        .collect();
    expect![[r#"
        90014 400 invalid_request: The request body must contain the following parameter: 'grant_type'.
        90011 400 invalid_request: Request is ambiguous, multiple application identifiers found. Application identifiers: 'a, b'.
        9002313 400 invalid_request: Invalid request. The parameter 'resource' is present more than once.
        9002313 400 invalid_request: Invalid request. Request is malformed or invalid.
        9002313 400 invalid_request: Invalid request. The request body must be of type 'application/x-www-form-urlencoded'.
        9002313 400 invalid_request: Invalid request. The request body is larger than 65536 bytes.
        9002313 400 invalid_request: Invalid request. The request body did not arrive in time.
        9002313 400 invalid_request: Invalid request. The request body could not be read: its HTTP framing is malformed.
        9002313 400 invalid_request: Invalid request. The request's HTTP head is malformed, so the request could not be read.
        9002313 400 invalid_request: Invalid request. The request's headers are too large.
        9002313 400 invalid_request: Invalid request. The request URI is too long.
        900561 400 invalid_request: The endpoint only accepts POST requests. Received a GET request.
        900561 400 invalid_request: The endpoint only accepts GET requests. Received a POST request.
        9002313 400 invalid_request: Invalid request. The endpoint '/x' does not exist. See the endpoints this server serves in its documentation (docs/endpoints.md).
        9002313 400 invalid_request: Invalid request. The Authorization header is malformed; the token endpoint accepts 'Basic' client credentials only.
        9002313 400 invalid_request: Invalid request. The Authorization header is present more than once; send the client credentials once.
        9002313 400 invalid_request: Invalid request. Client credentials were sent both in the Authorization header and in the request body; use only one.
        90002 400 invalid_request: Tenant 'nowhere.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.
        50049 400 invalid_instance: Unknown or invalid instance.
        900023 400 invalid_request: Specified tenant identifier '%FF' is neither a valid DNS name, nor a valid external domain.
        700016 400 unauthorized_client: Application with identifier 'c' was not found in the directory 't'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.
        7000218 401 invalid_client: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.
        7000215 401 invalid_client: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'c'.
        700025 401 invalid_client: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.
        9002313 400 invalid_request: Invalid request. Both a client secret and a client assertion were sent; a client authenticates with one credential.
        9002313 400 invalid_request: Invalid request. The client_assertion_type 'saml2' is not supported; send 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.
        90014 400 invalid_request: The required field 'iss' is missing from the credential. Ensure that you have all the necessary parameters for the login request.
        5002738 401 invalid_client: Invalid JWT token. 'HS256' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256'
        5002723 401 invalid_client: Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.
        700027 401 invalid_client: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '8F6F', Please check the certificates registered for app Id 'c' in the directory.]
        700027 401 invalid_client: Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '8F6F']
        700027 401 invalid_client: Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '8F6F', Found key 'Start=2020-01-01T00:00:00.0000000Z, End=2021-01-01T00:00:00.0000000Z']
        700024 401 invalid_client: Client assertion is not within its valid time range. Current time: 2023-12-11T23:52:19.6223401Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 2023-12-11T23:50:00.0000000Z. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .
        700024 401 invalid_client: Client assertion is not within its valid time range: it is valid for 7200 seconds, longer than the 3600 seconds this server accepts. Create assertions that expire sooner; ten minutes is usual.
        700023 401 invalid_client: Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials . The audience must be the token endpoint, such as 'https://login.example/t/oauth2/v2.0/token'.
        700021 401 invalid_client: Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .
        50027 401 invalid_client: Invalid JWT token. The client assertion with jti 'j' has already been used, and this application accepts each assertion once. Create a new assertion for each request.
        700211 401 invalid_client: No matching federated identity record found for presented assertion issuer 'https://issuer.example'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation
        700213 401 invalid_client: No matching federated identity record found for presented assertion subject 'system:serviceaccount:ns:sa'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation
        700212 401 invalid_client: No matching federated identity record found for presented assertion audience 'api://Other'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation
        700027 401 invalid_client: Client assertion failed signature validation. [Reason - The key was not found., Key id used by the issuer: 'k', Issuer: 'https://issuer.example']
        50166 401 invalid_client: Request to External OIDC endpoint failed. The signing keys of the issuer 'https://issuer.example' could not be fetched from its OpenID configuration.
        70000 400 unauthorized_client: The application 'c' is not allowed to use the grant type 'password'.
        70003 400 unsupported_grant_type: The app requested an unsupported grant type 'magic'.
        500011 400 invalid_resource: The resource principal named https://r/ was not found in the tenant named t. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.
        50126 400 invalid_grant: Error validating credentials due to invalid username or password.
        50053 400 invalid_grant: The account is locked, you've tried to sign in too many times with an incorrect user ID or password.
        90055 503 temporarily_unavailable: There are too many sign-in attempts from this client address. Please try again later.
        70008 400 invalid_grant: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.
        50173 400 invalid_grant: The provided grant has been revoked. Send a new interactive authorization request for this user and resource.
        70000 400 invalid_grant: The refresh token has already been used to obtain a new one; every refresh token of this sign-in has been revoked. Send a new interactive authorization request for this user and resource.
        70043 400 invalid_grant: The refresh token has expired: its sign-in is older than the maximum lifetime of 90 days. Send a new interactive authorization request for this user and resource.
        70011 400 invalid_scope: The provided value for the input parameter 'scope' is not valid. The scope Files.Write was not granted to this refresh token; ask for it in a new authorization request.
        70000 400 invalid_grant: Provided grant is invalid or malformed.
        70000 400 invalid_grant: Provided grant is invalid: it was issued to a different client.
        50076 400 interaction_required: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://r/'.
        50079 400 interaction_required: Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access 'https://r/'.
        90100 400 invalid_request: claims parameter is empty or not valid.
        65001 400 invalid_grant (consent_required): The user or administrator has not consented to use the application with ID 'c' named 'App'. Send an interactive authorization request for this user and resource.
        9002313 400 invalid_request: Invalid request. The requested_token_use 'bearer' is not supported; an on-behalf-of request sends 'on_behalf_of'.
        50027 400 invalid_request: JWT token is invalid or malformed.
        50013 400 invalid_grant: Assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: 'k']
        50013 400 invalid_grant: Assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: 'k']
        50013 400 invalid_grant: Assertion is invalid: its issuer 'https://old.example/t/' is not this tenant's. Request a new token from this tenant's authority and use it as the assertion.
        500133 400 invalid_grant: Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: 2024-05-01T13:00:00Z, assertion valid from 2024-05-01T11:00:00Z, expiry time of assertion 2024-05-01T12:00:00Z.
        500131 400 invalid_grant: Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was 'https://r/' and the expected audience is 'c' or one of the Application Uris of this application with App ID 'c'(App). The downstream client must request a token for the expected audience (the application that made the OBO request) and this application should use that token as the assertion.
        240002 400 invalid_grant: Input id_token cannot be used as 'urn:ietf:params:oauth:grant-type:jwt-bearer' grant.
        7000114 400 unauthorized_client: Application 'c' is not allowed to make application on-behalf-of calls.
        50034 400 invalid_grant: The user account frank@contoso.example does not exist in the 't' directory. To sign into this application, the account must be added to the directory.
        650057 401 invalid_client: Invalid resource. The client has requested access to a resource which is not listed in the requested permissions in the client's application registration. Client app ID: c(App). Resource value from request: https://r/. List of valid resources from app registration: https://a/, https://b/.
        50105 403 invalid_grant: The signed in user is not assigned to a role for the application 'c'(App).
        70011 400 invalid_scope: The provided value for the input parameter 'scope' is not valid. The scope x is not valid.
        90055 503 temporarily_unavailable: The server is temporarily too busy to handle the request. Please try again later.
        50000 500 server_error: There was an error issuing a token or an issue with our sign-in service.
        900971 400 invalid_request: No reply address provided. The application 'c' has several redirect URIs registered; the request must name one in 'redirect_uri'.
        50011 400 invalid_request: The redirect URI 'https://evil/' specified in the request does not match the redirect URIs configured for the application 'c'.
        90102 400 invalid_request: 'redirect_uri' value must be a valid absolute URI without a fragment.
        70005 400 unsupported_response_type: The response_type 'token' is not supported. This server issues authorization codes: use 'code'.
        9002325 400 invalid_request: Proof Key for Code Exchange is required for public clients: send 'code_challenge' and 'code_challenge_method' = 'S256'.
        9002313 400 invalid_request: Invalid request. The code_challenge_method 'plain' is not supported; use 'S256'.
        9002313 400 invalid_request: Invalid request. The code_challenge must be 43 to 128 characters from A-Z, a-z, 0-9, '-', '.', '_' and '~'.
        90023 400 invalid_request: Unsupported 'prompt' value 'maybe'. Use 'login', 'consent', 'none' or 'select_account'.
        9002313 400 invalid_request: Invalid request. The response_mode 'web_message' is not supported; use 'query', 'fragment' or 'form_post'.
        50058 400 login_required: A silent sign-in request was sent but no user is signed in.
        65001 400 consent_required: The user or administrator has not consented to use the application with ID 'c' named 'App'. Send an interactive authorization request for this user and resource.
        70016 400 authorization_pending: OAuth 2.0 device flow error. Authorization is pending. Continue polling.
        70016 400 slow_down: OAuth 2.0 device flow error. Polling too frequently: wait at least 5 seconds between requests, 5 seconds more after this answer.
        65004 400 authorization_declined: OAuth 2.0 device flow error. The user declined the authorization request.
        70019 400 expired_token: Verification code expired. Have the user retry the sign-in.
        70018 400 bad_verification_code: Invalid verification code: the provided device_code was not issued to this application.
        54005 400 invalid_grant: The device code has already been redeemed. Start a new device code flow to sign in again.
        65004 400 access_denied: User declined to consent to access the app.
        50105 400 access_denied: The signed in user is not assigned to a role for the application 'c'(App).
        54005 400 invalid_grant: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.
        9002326 400 invalid_request: Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: 'https://evil.example'.
        9002327 400 invalid_request: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.
        9002326 400 invalid_request: Cross-origin token redemption is permitted only from the origin of the 'Single-Page Application' redirect URI the grant was issued for ('http://localhost:3000'). Request origin: 'https://evil.example'.
        700084 400 invalid_grant (bad_token): The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page. The token was issued on 2024-05-01T12:00:00Z.
        9002325 400 invalid_request: Proof Key for Code Exchange is required for cross-origin authorization code redemption.
        70000 400 invalid_grant: The redirect_uri does not match the one the authorization code was issued for.
        501481 400 invalid_grant: The code_verifier does not match the code_challenge supplied in the authorization request.
        501481 400 invalid_grant: The request body must contain the 'code_verifier' parameter: the authorization request supplied a code_challenge.
        501481 400 invalid_grant: A code_verifier was sent, but the authorization request supplied no code_challenge.
    "#]].assert_eq(&table);
}

/// Every `Result<_, ProtocolError>` carries an `Aadsts`: a row with
/// more than two values boxes them (clippy's `result_large_err`).
#[test]
fn a_condition_stays_small() {
    assert!(
        std::mem::size_of::<Aadsts>() <= 56,
        "{}",
        std::mem::size_of::<Aadsts>()
    );
}

#[test]
fn quoted_values_are_bounded_on_a_char_boundary() {
    let long = "é".repeat(1000);
    let quoted = bounded(&long);
    assert_eq!(quoted.chars().count(), MAX_QUOTED + 3);
    assert!(quoted.ends_with("..."));
    assert_eq!(bounded("short"), "short");
}

/// The seed's token-endpoint 403 ("the user does not have permission
/// to access the resource") and its "different account" action are
/// the row's, not its code's: `invalid_grant` stays 400 and "fix the
/// request" everywhere else.
#[test]
fn a_user_not_assigned_is_403_and_a_different_account() {
    let s = |v: &str| v.to_owned();
    let token = Aadsts::UserNotAssigned {
        client_id: s("c"),
        app_name: s("App"),
    };
    assert_eq!(token.error_code(), ErrorCode::InvalidGrant);
    assert_eq!(token.token_status(), 403);
    assert_eq!(token.client_action(), ClientAction::PromptDifferentAccount);
    assert_eq!(ErrorCode::InvalidGrant.token_status(), 400);
    assert_eq!(Aadsts::GrantRevoked.token_status(), 400);
    assert_eq!(
        Aadsts::GrantRevoked.client_action(),
        ClientAction::FixRequest
    );
    let redirect = Aadsts::SignInUserNotAssigned {
        client_id: s("c"),
        app_name: s("App"),
    };
    assert!(redirect.error_code().is_valid_on(Surface::Authorize));
    assert_eq!(
        redirect.client_action(),
        ClientAction::PromptDifferentAccount
    );
    assert_eq!(token.message(), redirect.message());
    assert_eq!(
        Aadsts::action_for_number(50105),
        Some(ClientAction::PromptDifferentAccount)
    );
    assert_eq!(Aadsts::action_for_number(65001), None);
}

#[test]
fn every_condition_maps_to_a_token_surface_code() {
    let samples = [
        Aadsts::MissingParameter { name: "grant_type" },
        Aadsts::InvalidClientSecret {
            client_id: "x".into(),
        },
        Aadsts::ConsentRequired {
            client_id: "x".into(),
            app_name: "y".into(),
        },
        Aadsts::Throttled,
        Aadsts::ServerError,
    ];
    for sample in samples {
        assert!(
            sample.error_code().is_valid_on(crate::Surface::Token),
            "{sample:?}"
        );
    }
}

#[test]
fn every_condition_is_one_row_of_the_catalogue_in_order() {
    let sampled: Vec<&ConditionSpec> = every_condition().iter().map(Aadsts::spec).collect();
    let rows: Vec<&ConditionSpec> = Aadsts::CATALOGUE.iter().collect();
    assert_eq!(sampled, rows);
}

#[test]
fn every_placeholder_names_a_field() {
    for condition in every_condition() {
        assert!(!condition.message().contains('{'), "{condition:?}");
    }
}

#[test]
fn a_quoted_value_is_never_expanded() {
    let condition = Aadsts::UnknownApplication {
        client_id: "{tenant}".into(),
        tenant: "t".into(),
    };
    assert!(
        condition.message().starts_with(
            "Application with identifier '{tenant}' was not found in the directory 't'."
        )
    );
}

/// docs/errors.md, rendered from the two tables, so the doc cannot drift
/// from the code. `UPDATE_EXPECT=1 cargo test -p latchkey-protocol`
/// rewrites it.
#[test]
fn the_catalogue_in_docs() {
    let doc = [
        DOC_HEAD,
        &codes_table(),
        DOC_CONDITIONS,
        &conditions_table(),
    ]
    .concat();
    expect_file!["../../../../docs/errors.md"].assert_eq(&doc);
}

const DOC_HEAD: &str = "\
# Errors

<!-- Rendered from crates/protocol/src/error_code.rs and aadsts.rs by the test
`the_catalogue_in_docs`; edit those, then `UPDATE_EXPECT=1 cargo test -p latchkey-protocol`. -->

Every error Latchkey answers is one of the OAuth 2.0 codes below, and at the
authorization and token endpoints one of the AADSTS conditions after them.
The specification is [docs/spec/](spec/README.md).

## The OAuth 2.0 error codes

Where each code may appear, the HTTP status of the token endpoint and of a
secured resource, and what a client should do about it (the seeds' \"client
action\", the same on every surface). At the authorization endpoint an error
goes back to the client's redirect URI, or onto Latchkey's error page when
the redirect URI cannot be trusted.

*redirect*: the code is the authorization endpoint's only; *—*: the code
never appears there. (A secured resource that cannot fetch its authority's
keys answers 500 with a JSON `server_error` body, not a challenge.)

| error | surfaces | token HTTP | resource HTTP | client action |
|---|---|---|---|---|
";

const DOC_CONDITIONS: &str = "
## The AADSTS catalogue

Every condition below comes from something a client can do. Numbers follow
Azure AD where it has one for the condition (*number*: Azure AD); where it
has none, Latchkey borrows the number of Azure AD's nearest condition
(*number*: Latchkey). At the authorization endpoint a condition goes back
to the client by redirect, except where the row says *error page*; the HTTP
column is the token endpoint's (*redirect* for a code only the authorization
endpoint sends). In a message, `{field}` stands for a value
of the request, quoted back at most 256 characters long.

| AADSTS | error | HTTP | when | message | number |
|---|---|---|---|---|---|
";

fn codes_table() -> String {
    ErrorCode::ALL
        .iter()
        .map(|code| {
            let spec = code.spec();
            let surfaces: Vec<&str> = spec.surfaces.iter().map(|s| surface_name(*s)).collect();
            format!(
                "| `{}` | {} | {} | {} | {} |\n",
                spec.wire,
                surfaces.join(", "),
                status_on(code, Surface::Token, spec.token_status),
                status_on(code, Surface::Resource, spec.resource_status),
                spec.action.text()
            )
        })
        .collect()
}

fn conditions_table() -> String {
    Aadsts::CATALOGUE
        .iter()
        .map(|row| {
            let suberror = row
                .suberror
                .map(|s| format!(" + `suberror: {s}`"))
                .unwrap_or_default();
            let origin = match row.origin {
                NumberOrigin::AzureAd => "Azure AD",
                NumberOrigin::Latchkey => "Latchkey",
            };
            format!(
                "| {} | `{}`{suberror} | {} | {} | `{}` | {origin} |\n",
                row.number,
                row.code,
                status_on(&row.code, Surface::Token, row.token_status()),
                row.when,
                row.message
            )
        })
        .collect()
}

/// The status, or what answers instead where the code never appears.
fn status_on(code: &ErrorCode, surface: Surface, status: u16) -> String {
    if code.is_valid_on(surface) {
        status.to_string()
    } else if surface == Surface::Token && code.is_valid_on(Surface::Authorize) {
        "redirect".to_owned()
    } else {
        "—".to_owned()
    }
}

fn surface_name(surface: Surface) -> &'static str {
    match surface {
        Surface::Authorize => "authorize",
        Surface::Token => "token",
        Surface::Resource => "resource",
    }
}
