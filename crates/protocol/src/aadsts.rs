//! The AADSTS catalogue: every condition Latchkey reports, with its OAuth
//! error code, its AADSTS number and its message. Numbers and wording follow
//! Azure AD where Azure AD has a code for the condition, so that a developer
//! can search for them; the rest are listed in README.md.
//!
//! Values a caller sent are quoted back only after [`bounded`], so an error
//! never reflects a megabyte of input, and no variant carries a secret.

use crate::ErrorCode;

/// One condition from the catalogue, with the values its message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aadsts {
    /// 90014: a required parameter is absent or empty.
    MissingParameter { name: &'static str },
    /// 90011: `client_id` sent twice with different values (the seed's own example).
    AmbiguousClientId { client_ids: Vec<String> },
    /// 9002313: a parameter sent more than once.
    DuplicateParameter { name: String },
    /// 9002313: a request that is wrong in a way no other entry names.
    MalformedRequest,
    /// 9002313: the body is not `application/x-www-form-urlencoded`.
    NotFormEncoded,
    /// 9002313: the body exceeds the limit.
    BodyTooLarge { limit: usize },
    /// 900561: the token endpoint takes POST only.
    MethodNotAllowed { method: String },
    /// 9002313: the `Authorization` header cannot be read.
    MalformedAuthorizationHeader,
    /// 9002313: credentials both in the Authorization header and the body.
    ConflictingClientCredentials,
    /// 90002: the tenant in the path is not known.
    TenantNotFound { tenant: String },
    /// 700016: no application with that client id in the tenant.
    UnknownApplication { client_id: String, tenant: String },
    /// 7000218: a confidential client sent no secret.
    MissingClientSecret,
    /// 7000215: the secret does not match.
    InvalidClientSecret { client_id: String },
    /// 700025: a public client sent a secret.
    PublicClientSentSecret,
    /// 70000: the client is not allowed this grant type.
    GrantTypeNotAllowed {
        client_id: String,
        grant_type: String,
    },
    /// 70003: an unknown grant type.
    UnsupportedGrantType { grant_type: String },
    /// 500011: the resource is not registered in the tenant.
    ResourceNotFound { resource: String, tenant: String },
    /// 50126: wrong user name or password (also for an unknown user: no enumeration).
    InvalidUsernameOrPassword,
    /// 70008: a refresh token (or code) past its lifetime.
    GrantExpired,
    /// 50173: a refresh token whose family was revoked.
    GrantRevoked,
    /// 70000: a refresh token presented again after it was rotated out.
    RefreshTokenReused,
    /// 70000: a refresh token that does not exist.
    GrantMalformed,
    /// 70000: a refresh token issued to another client.
    GrantClientMismatch,
    /// 50076: the user must pass a second factor.
    MfaRequired { resource: String },
    /// 65001: no consent for the app to use the resource on the user's behalf.
    ConsentRequired { client_id: String, app_name: String },
    /// 70011: a scope the resource does not define.
    InvalidScope { scope: String },
    /// 90055: the server sheds load.
    Throttled,
    /// 900971: no `redirect_uri`, and the app has more than one.
    RedirectUriMissing { client_id: String },
    /// 50011: a `redirect_uri` not registered, by exact string match.
    RedirectUriMismatch {
        redirect_uri: String,
        client_id: String,
    },
    /// 90102: a `redirect_uri` that is not an absolute URI without a fragment.
    RedirectUriMalformed,
    /// 70005: a `response_type` other than `code`.
    UnsupportedResponseType { response_type: String },
    /// 9002325: a public client without a PKCE `code_challenge`.
    PkceRequired,
    /// 9002313: a `code_challenge_method` other than S256.
    PkceMethodNotSupported { method: String },
    /// 9002313: a `code_challenge` that is not 43–128 unreserved characters.
    MalformedCodeChallenge,
    /// 90023: a `prompt` value this server does not know.
    UnsupportedPrompt { prompt: String },
    /// 9002313: a `response_mode` this server does not know.
    UnsupportedResponseMode { response_mode: String },
    /// 50058: `prompt=none` and nobody is signed in.
    LoginRequired,
    /// 65001 as `consent_required`: `prompt=none` and consent is missing.
    SilentConsentRequired { client_id: String, app_name: String },
    /// 65004: the user pressed Cancel on the consent page.
    UserDeclinedConsent,
    /// 54005: the authorization code was redeemed before.
    CodeRedeemed,
    /// 70000: `redirect_uri` differs from the authorization request's.
    CodeRedirectUriMismatch,
    /// 501481: the `code_verifier` does not hash to the `code_challenge`.
    CodeVerifierMismatch,
    /// 501481: no `code_verifier`, but the code has a challenge.
    CodeVerifierMissing,
    /// 501481: a `code_verifier`, but the code has no challenge.
    CodeVerifierUnexpected,
    /// 50000: an internal failure; the details are only in the server's log.
    ServerError,
}

/// The most of any caller-supplied value that is quoted back in a message.
const MAX_QUOTED: usize = 256;

/// Truncates a caller-supplied value for quoting, on a character boundary.
pub fn bounded(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
    }
}

impl Aadsts {
    /// The AADSTS number.
    pub fn number(&self) -> u32 {
        match self {
            Aadsts::MissingParameter { .. } => 90014,
            Aadsts::AmbiguousClientId { .. } => 90011,
            Aadsts::DuplicateParameter { .. }
            | Aadsts::MalformedRequest
            | Aadsts::NotFormEncoded
            | Aadsts::BodyTooLarge { .. }
            | Aadsts::MalformedAuthorizationHeader
            | Aadsts::ConflictingClientCredentials => 9002313,
            Aadsts::MethodNotAllowed { .. } => 900561,
            Aadsts::TenantNotFound { .. } => 90002,
            Aadsts::UnknownApplication { .. } => 700016,
            Aadsts::MissingClientSecret => 7000218,
            Aadsts::InvalidClientSecret { .. } => 7000215,
            Aadsts::PublicClientSentSecret => 700025,
            Aadsts::GrantTypeNotAllowed { .. } => 70000,
            Aadsts::UnsupportedGrantType { .. } => 70003,
            Aadsts::ResourceNotFound { .. } => 500011,
            Aadsts::InvalidUsernameOrPassword => 50126,
            Aadsts::GrantExpired => 70008,
            Aadsts::GrantRevoked => 50173,
            Aadsts::RefreshTokenReused | Aadsts::GrantMalformed | Aadsts::GrantClientMismatch => {
                70000
            }
            Aadsts::MfaRequired { .. } => 50076,
            Aadsts::ConsentRequired { .. } => 65001,
            Aadsts::InvalidScope { .. } => 70011,
            Aadsts::Throttled => 90055,
            Aadsts::ServerError => 50000,
            Aadsts::RedirectUriMissing { .. } => 900971,
            Aadsts::RedirectUriMismatch { .. } => 50011,
            Aadsts::RedirectUriMalformed => 90102,
            Aadsts::UnsupportedResponseType { .. } => 70005,
            Aadsts::PkceRequired => 9002325,
            Aadsts::PkceMethodNotSupported { .. }
            | Aadsts::MalformedCodeChallenge
            | Aadsts::UnsupportedResponseMode { .. } => 9002313,
            Aadsts::UnsupportedPrompt { .. } => 90023,
            Aadsts::LoginRequired => 50058,
            Aadsts::SilentConsentRequired { .. } => 65001,
            Aadsts::UserDeclinedConsent => 65004,
            Aadsts::CodeRedeemed => 54005,
            Aadsts::CodeRedirectUriMismatch => 70000,
            Aadsts::CodeVerifierMismatch
            | Aadsts::CodeVerifierMissing
            | Aadsts::CodeVerifierUnexpected => 501481,
        }
    }

    /// The OAuth 2.0 error code the condition is reported as.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Aadsts::MissingParameter { .. }
            | Aadsts::AmbiguousClientId { .. }
            | Aadsts::DuplicateParameter { .. }
            | Aadsts::MalformedRequest
            | Aadsts::NotFormEncoded
            | Aadsts::BodyTooLarge { .. }
            | Aadsts::MethodNotAllowed { .. }
            | Aadsts::MalformedAuthorizationHeader
            | Aadsts::ConflictingClientCredentials
            | Aadsts::TenantNotFound { .. } => ErrorCode::InvalidRequest,
            Aadsts::UnknownApplication { .. } | Aadsts::GrantTypeNotAllowed { .. } => {
                ErrorCode::UnauthorizedClient
            }
            Aadsts::MissingClientSecret
            | Aadsts::InvalidClientSecret { .. }
            | Aadsts::PublicClientSentSecret => ErrorCode::InvalidClient,
            Aadsts::UnsupportedGrantType { .. } => ErrorCode::UnsupportedGrantType,
            Aadsts::ResourceNotFound { .. } => ErrorCode::InvalidResource,
            Aadsts::InvalidUsernameOrPassword
            | Aadsts::GrantExpired
            | Aadsts::GrantRevoked
            | Aadsts::RefreshTokenReused
            | Aadsts::GrantMalformed
            | Aadsts::GrantClientMismatch
            | Aadsts::ConsentRequired { .. } => ErrorCode::InvalidGrant,
            Aadsts::MfaRequired { .. } => ErrorCode::InteractionRequired,
            Aadsts::InvalidScope { .. } => ErrorCode::InvalidScope,
            Aadsts::Throttled => ErrorCode::TemporarilyUnavailable,
            Aadsts::ServerError => ErrorCode::ServerError,
            Aadsts::RedirectUriMissing { .. }
            | Aadsts::RedirectUriMismatch { .. }
            | Aadsts::RedirectUriMalformed
            | Aadsts::PkceRequired
            | Aadsts::PkceMethodNotSupported { .. }
            | Aadsts::MalformedCodeChallenge
            | Aadsts::UnsupportedPrompt { .. }
            | Aadsts::UnsupportedResponseMode { .. } => ErrorCode::InvalidRequest,
            Aadsts::UnsupportedResponseType { .. } => ErrorCode::UnsupportedResponseType,
            Aadsts::LoginRequired => ErrorCode::LoginRequired,
            Aadsts::SilentConsentRequired { .. } => ErrorCode::ConsentRequired,
            Aadsts::UserDeclinedConsent => ErrorCode::AccessDenied,
            Aadsts::CodeRedeemed
            | Aadsts::CodeRedirectUriMismatch
            | Aadsts::CodeVerifierMismatch
            | Aadsts::CodeVerifierMissing
            | Aadsts::CodeVerifierUnexpected => ErrorCode::InvalidGrant,
        }
    }

    /// Azure AD's `suberror`, which tells MSAL which interaction is needed.
    pub fn suberror(&self) -> Option<&'static str> {
        match self {
            Aadsts::ConsentRequired { .. } => Some("consent_required"),
            _ => None,
        }
    }

    /// The message after `AADSTSnnnn: `.
    pub fn message(&self) -> String {
        match self {
            Aadsts::MissingParameter { name } => {
                format!("The request body must contain the following parameter: '{name}'.")
            }
            Aadsts::AmbiguousClientId { client_ids } => {
                let ids: Vec<String> = client_ids.iter().map(|id| bounded(id)).collect();
                format!(
                    "Request is ambiguous, multiple application identifiers found. Application identifiers: '{}'.",
                    ids.join(", ")
                )
            }
            Aadsts::DuplicateParameter { name } => format!(
                "Invalid request. The parameter '{}' is present more than once.",
                bounded(name)
            ),
            Aadsts::MalformedRequest => "Invalid request. Request is malformed or invalid.".to_owned(),
            Aadsts::NotFormEncoded => "Invalid request. The request body must be of type 'application/x-www-form-urlencoded'.".to_owned(),
            Aadsts::BodyTooLarge { limit } => {
                format!("Invalid request. The request body is larger than {limit} bytes.")
            }
            Aadsts::MethodNotAllowed { method } => format!(
                "The endpoint only accepts POST requests. Received a {} request.",
                bounded(method)
            ),
            Aadsts::MalformedAuthorizationHeader => "Invalid request. The Authorization header is malformed; the token endpoint accepts 'Basic' client credentials only.".to_owned(),
            Aadsts::ConflictingClientCredentials => "Invalid request. Client credentials were sent both in the Authorization header and in the request body; use only one.".to_owned(),
            Aadsts::TenantNotFound { tenant } => format!(
                "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
                bounded(tenant)
            ),
            Aadsts::UnknownApplication { client_id, tenant } => format!(
                "Application with identifier '{}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                bounded(client_id),
                bounded(tenant)
            ),
            Aadsts::MissingClientSecret => "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".to_owned(),
            Aadsts::InvalidClientSecret { client_id } => format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                bounded(client_id)
            ),
            Aadsts::PublicClientSentSecret => "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.".to_owned(),
            Aadsts::GrantTypeNotAllowed { client_id, grant_type } => format!(
                "The application '{}' is not allowed to use the grant type '{}'.",
                bounded(client_id),
                bounded(grant_type)
            ),
            Aadsts::UnsupportedGrantType { grant_type } => format!(
                "The app requested an unsupported grant type '{}'.",
                bounded(grant_type)
            ),
            Aadsts::ResourceNotFound { resource, tenant } => format!(
                "The resource principal named {} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
                bounded(resource),
                bounded(tenant)
            ),
            Aadsts::InvalidUsernameOrPassword => {
                "Error validating credentials due to invalid username or password.".to_owned()
            }
            Aadsts::GrantExpired => "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.".to_owned(),
            Aadsts::GrantRevoked => "The provided grant has been revoked. Send a new interactive authorization request for this user and resource.".to_owned(),
            Aadsts::RefreshTokenReused => "The refresh token has already been used to obtain a new one; every refresh token of this sign-in has been revoked. Send a new interactive authorization request for this user and resource.".to_owned(),
            Aadsts::GrantMalformed => "Provided grant is invalid or malformed.".to_owned(),
            Aadsts::GrantClientMismatch => {
                "Provided grant is invalid: it was issued to a different client.".to_owned()
            }
            Aadsts::MfaRequired { resource } => format!(
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{}'.",
                bounded(resource)
            ),
            Aadsts::ConsentRequired { client_id, app_name } => format!(
                "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                bounded(client_id),
                bounded(app_name)
            ),
            Aadsts::InvalidScope { scope } => format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {} is not valid.",
                bounded(scope)
            ),
            Aadsts::Throttled => "The server is temporarily too busy to handle the request. Please try again later.".to_owned(),
            Aadsts::ServerError => {
                "There was an error issuing a token or an issue with our sign-in service.".to_owned()
            }
            Aadsts::RedirectUriMissing { client_id } => format!(
                "No reply address provided. The application '{}' has several redirect URIs registered; the request must name one in 'redirect_uri'.",
                bounded(client_id)
            ),
            Aadsts::RedirectUriMismatch { redirect_uri, client_id } => format!(
                "The redirect URI '{}' specified in the request does not match the redirect URIs configured for the application '{}'.",
                bounded(redirect_uri),
                bounded(client_id)
            ),
            Aadsts::RedirectUriMalformed => {
                "'redirect_uri' value must be a valid absolute URI without a fragment.".to_owned()
            }
            Aadsts::UnsupportedResponseType { response_type } => format!(
                "The response_type '{}' is not supported. This server issues authorization codes: use 'code'.",
                bounded(response_type)
            ),
            Aadsts::PkceRequired => "Proof Key for Code Exchange is required for public clients: send 'code_challenge' and 'code_challenge_method' = 'S256'.".to_owned(),
            Aadsts::PkceMethodNotSupported { method } => format!(
                "Invalid request. The code_challenge_method '{}' is not supported; use 'S256'.",
                bounded(method)
            ),
            Aadsts::MalformedCodeChallenge => "Invalid request. The code_challenge must be 43 to 128 characters from A-Z, a-z, 0-9, '-', '.', '_' and '~'.".to_owned(),
            Aadsts::UnsupportedPrompt { prompt } => format!(
                "Unsupported 'prompt' value '{}'. Use 'login', 'consent', 'none' or 'select_account'.",
                bounded(prompt)
            ),
            Aadsts::UnsupportedResponseMode { response_mode } => format!(
                "Invalid request. The response_mode '{}' is not supported; use 'query', 'fragment' or 'form_post'.",
                bounded(response_mode)
            ),
            Aadsts::LoginRequired => "A silent sign-in request was sent but no user is signed in.".to_owned(),
            Aadsts::SilentConsentRequired { client_id, app_name } => format!(
                "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                bounded(client_id),
                bounded(app_name)
            ),
            Aadsts::UserDeclinedConsent => "User declined to consent to access the app.".to_owned(),
            Aadsts::CodeRedeemed => "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.".to_owned(),
            Aadsts::CodeRedirectUriMismatch => "The redirect_uri does not match the one the authorization code was issued for.".to_owned(),
            Aadsts::CodeVerifierMismatch => "The code_verifier does not match the code_challenge supplied in the authorization request.".to_owned(),
            Aadsts::CodeVerifierMissing => "The request body must contain the 'code_verifier' parameter: the authorization request supplied a code_challenge.".to_owned(),
            Aadsts::CodeVerifierUnexpected => "A code_verifier was sent, but the authorization request supplied no code_challenge.".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    /// One of every condition, so the catalogue's numbers, codes and texts
    /// are pinned in one place.
    fn every_condition() -> Vec<Aadsts> {
        let s = |v: &str| v.to_owned();
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
            Aadsts::MethodNotAllowed { method: s("GET") },
            Aadsts::MalformedAuthorizationHeader,
            Aadsts::ConflictingClientCredentials,
            Aadsts::TenantNotFound {
                tenant: s("nowhere.example"),
            },
            Aadsts::UnknownApplication {
                client_id: s("c"),
                tenant: s("t"),
            },
            Aadsts::MissingClientSecret,
            Aadsts::InvalidClientSecret { client_id: s("c") },
            Aadsts::PublicClientSentSecret,
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
            Aadsts::GrantExpired,
            Aadsts::GrantRevoked,
            Aadsts::RefreshTokenReused,
            Aadsts::GrantMalformed,
            Aadsts::GrantClientMismatch,
            Aadsts::MfaRequired {
                resource: s("https://r/"),
            },
            Aadsts::ConsentRequired {
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
            Aadsts::UserDeclinedConsent,
            Aadsts::CodeRedeemed,
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
                let status = c.error_code().token_status();
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
            900561 400 invalid_request: The endpoint only accepts POST requests. Received a GET request.
            9002313 400 invalid_request: Invalid request. The Authorization header is malformed; the token endpoint accepts 'Basic' client credentials only.
            9002313 400 invalid_request: Invalid request. Client credentials were sent both in the Authorization header and in the request body; use only one.
            90002 400 invalid_request: Tenant 'nowhere.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.
            700016 400 unauthorized_client: Application with identifier 'c' was not found in the directory 't'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.
            7000218 401 invalid_client: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.
            7000215 401 invalid_client: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'c'.
            700025 401 invalid_client: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.
            70000 400 unauthorized_client: The application 'c' is not allowed to use the grant type 'password'.
            70003 400 unsupported_grant_type: The app requested an unsupported grant type 'magic'.
            500011 400 invalid_resource: The resource principal named https://r/ was not found in the tenant named t. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.
            50126 400 invalid_grant: Error validating credentials due to invalid username or password.
            70008 400 invalid_grant: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.
            50173 400 invalid_grant: The provided grant has been revoked. Send a new interactive authorization request for this user and resource.
            70000 400 invalid_grant: The refresh token has already been used to obtain a new one; every refresh token of this sign-in has been revoked. Send a new interactive authorization request for this user and resource.
            70000 400 invalid_grant: Provided grant is invalid or malformed.
            70000 400 invalid_grant: Provided grant is invalid: it was issued to a different client.
            50076 400 interaction_required: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://r/'.
            65001 400 invalid_grant (consent_required): The user or administrator has not consented to use the application with ID 'c' named 'App'. Send an interactive authorization request for this user and resource.
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
            65004 400 access_denied: User declined to consent to access the app.
            54005 400 invalid_grant: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.
            70000 400 invalid_grant: The redirect_uri does not match the one the authorization code was issued for.
            501481 400 invalid_grant: The code_verifier does not match the code_challenge supplied in the authorization request.
            501481 400 invalid_grant: The request body must contain the 'code_verifier' parameter: the authorization request supplied a code_challenge.
            501481 400 invalid_grant: A code_verifier was sent, but the authorization request supplied no code_challenge.
        "#]].assert_eq(&table);
    }

    #[test]
    fn quoted_values_are_bounded_on_a_char_boundary() {
        let long = "é".repeat(1000);
        let quoted = bounded(&long);
        assert_eq!(quoted.chars().count(), MAX_QUOTED + 3);
        assert!(quoted.ends_with("..."));
        assert_eq!(bounded("short"), "short");
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
}
