//! The AADSTS catalogue: every condition Latchkey reports, with its OAuth
//! error code, its AADSTS number and its message, one row per condition in
//! `catalogue!` below. Numbers and wording follow Azure AD where Azure AD
//! has a code for the condition, so that a developer can search for them;
//! each row says whether it does ([`NumberOrigin`]). docs/errors.md is
//! rendered from these rows, and a test keeps it so.
//!
//! Values a caller sent are quoted back only after [`bounded`], so an error
//! never reflects a megabyte of input, and no variant carries a secret.

use crate::{ClientAction, ErrorCode};

/// Whose number a condition carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberOrigin {
    /// Azure AD's number for this condition.
    AzureAd,
    /// Latchkey's choice: Azure AD has no number for exactly this condition
    /// (or one Latchkey does not reproduce), so the row borrows the number of
    /// Azure AD's nearest condition; the message is Latchkey's.
    Latchkey,
}

/// The facts of one condition: its row of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct ConditionSpec {
    /// The AADSTS number.
    pub number: u32,
    /// The OAuth 2.0 error code the condition is reported as.
    pub code: ErrorCode,
    /// Azure AD's `suberror`, which tells MSAL which interaction is needed.
    pub suberror: Option<&'static str>,
    /// Whose number it is.
    pub origin: NumberOrigin,
    /// The token endpoint's HTTP status when the condition's is not its
    /// code's (see [`ConditionSpec::token_status`]).
    pub status: Option<u16>,
    /// The client action when the condition's is not its code's (see
    /// [`ConditionSpec::client_action`]).
    pub action: Option<ClientAction>,
    /// When it happens, for people (the variant's documentation too).
    pub when: &'static str,
    /// The message after `AADSTSnnnn: `, with `{field}` where the variant's
    /// field is quoted.
    pub message: &'static str,
}

/// `Some` of the value it is given, `None` without one.
macro_rules! optional {
    () => {
        None
    };
    ($($value:tt)+) => {
        Some($($value)+)
    };
}

/// Declares `Aadsts` from its rows, so that a new condition is one edit.
/// Each row reads: variant and fields, AADSTS number, OAuth code (and
/// `suberror`), whose number, (`status` and `action` where they are not
/// the code's), when it happens, message template.
macro_rules! catalogue {
    ($(
        $variant:ident $({ $($field:ident: $ty:ty),* })?
            = $number:literal, $code:ident $(($suberror:literal))?, $origin:ident,
            $(status $status:literal,)? $(action $action:ident,)?
            $when:literal,
            $message:literal;
    )*) => {
        /// One condition from the catalogue, with the values its message names.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Aadsts {
            $(#[doc = $when] $variant $({ $($field: $ty),* })?,)*
        }

        impl Aadsts {
            /// Every row, in the order of docs/errors.md.
            pub const CATALOGUE: &'static [ConditionSpec] = &[$(ConditionSpec {
                number: $number,
                code: ErrorCode::$code,
                suberror: optional!($($suberror)?),
                origin: NumberOrigin::$origin,
                status: optional!($($status)?),
                action: optional!($(ClientAction::$action)?),
                when: $when,
                message: $message,
            }),*];

            /// This condition's row.
            pub fn spec(&self) -> &'static ConditionSpec {
                // A row's place in CATALOGUE is its variant's: both come
                // from the same list, so the index is always in bounds.
                #[allow(dead_code)]
                enum Row { $($variant),* }
                let row = match self {
                    $(Aadsts::$variant { .. } => Row::$variant,)*
                };
                &Self::CATALOGUE[row as usize]
            }

            /// The quoted value of the field `name`, for the message template.
            fn field(&self, name: &str) -> Option<String> {
                match self {
                    $(Aadsts::$variant { $($($field),*)? } => match name {
                        $($(stringify!($field) => Some(Quote::quote($field)),)*)?
                        _ => None,
                    },)*
                }
            }
        }
    };
}

catalogue! {
    MissingParameter { name: &'static str } = 90014, InvalidRequest, AzureAd,
        "A required parameter is missing or empty (at the authorization endpoint: `response_type` or `resource`).",
        "The request body must contain the following parameter: '{name}'.";
    AmbiguousClientId { client_ids: Vec<String> } = 90011, InvalidRequest, AzureAd,
        "Two different `client_id`s (the example of docs/spec/seed-001-error-handling.md).",
        "Request is ambiguous, multiple application identifiers found. Application identifiers: '{client_ids}'.";
    DuplicateParameter { name: String } = 9002313, InvalidRequest, Latchkey,
        "A parameter sent more than once (at the authorization endpoint, a repeated `client_id`, `redirect_uri` or `state` is shown on the error page).",
        "Invalid request. The parameter '{name}' is present more than once.";
    MalformedRequest = 9002313, InvalidRequest, AzureAd,
        "A request that is wrong in a way no other row names.",
        "Invalid request. Request is malformed or invalid.";
    NotFormEncoded = 9002313, InvalidRequest, Latchkey,
        "A body that is not `application/x-www-form-urlencoded`.",
        "Invalid request. The request body must be of type 'application/x-www-form-urlencoded'.";
    BodyTooLarge { limit: usize } = 9002313, InvalidRequest, Latchkey,
        "A body over the limit.",
        "Invalid request. The request body is larger than {limit} bytes.";
    BodyTooSlow = 9002313, InvalidRequest, Latchkey,
        "A body that did not arrive within `--body-read-timeout`, nor at `--body-min-rate` bytes a second after it.",
        "Invalid request. The request body did not arrive in time.";
    MalformedBody = 9002313, InvalidRequest, Latchkey,
        "A body whose HTTP framing is broken (bad chunked encoding, fewer bytes than its `Content-Length`), when the connection can still carry an answer.",
        "Invalid request. The request body could not be read: its HTTP framing is malformed.";
    MalformedRequestHead = 9002313, InvalidRequest, Latchkey,
        "A request line or header that HTTP/1.1 cannot parse (an unparsable or doubled `Content-Length`, a `Transfer-Encoding` that is not `chunked`, a malformed request line): answered with status 400 and the connection closed, before any endpoint sees it.",
        "Invalid request. The request's HTTP head is malformed, so the request could not be read.";
    RequestHeadersTooLarge = 9002313, InvalidRequest, Latchkey,
        "A request head over the server's limits (about 400 KB, or more than 100 header lines): answered with status 431 and the connection closed.",
        "Invalid request. The request's headers are too large.";
    RequestUriTooLong = 9002313, InvalidRequest, Latchkey,
        "A request target longer than the server reads (65,534 bytes): answered with status 414 and the connection closed.",
        "Invalid request. The request URI is too long.";
    MethodNotAllowed { method: String } = 900561, InvalidRequest, AzureAd,
        "A method other than POST at the token endpoint (other than GET or POST at the authorization endpoint).",
        "The endpoint only accepts POST requests. Received a {method} request.";
    MethodNotAllowedOnRoute { method: String } = 900561, InvalidRequest, AzureAd,
        "A method other than GET (or HEAD) at a discovery, keys or user realm route: answered with status 405 and an `Allow` header.",
        "The endpoint only accepts GET requests. Received a {method} request.";
    UnknownEndpoint { path: String } = 9002313, InvalidRequest, Latchkey,
        "A path that names no endpoint of this server (a typo, a route Latchkey does not serve): answered with status 404, never an empty body.",
        "Invalid request. The endpoint '{path}' does not exist. See the endpoints this server serves in its documentation (docs/endpoints.md).";
    MalformedAuthorizationHeader = 9002313, InvalidRequest, Latchkey,
        "An `Authorization` header that is not `Basic` client credentials.",
        "Invalid request. The Authorization header is malformed; the token endpoint accepts 'Basic' client credentials only.";
    DuplicateAuthorizationHeader = 9002313, InvalidRequest, Latchkey,
        "More than one `Authorization` header at the token endpoint.",
        "Invalid request. The Authorization header is present more than once; send the client credentials once.";
    ConflictingClientCredentials = 9002313, InvalidRequest, Latchkey,
        "Client credentials both in the `Authorization` header and in the body.",
        "Invalid request. Client credentials were sent both in the Authorization header and in the request body; use only one.";
    TenantNotFound { tenant: String } = 90002, InvalidRequest, AzureAd,
        "The tenant in the path is not known.",
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.";
    UnknownInstance = 50049, InvalidInstance, AzureAd,
        "Instance discovery (`/common/discovery/instance`) asked about an `authorization_endpoint` that is not an https or http URL of this server's host with a tenant in its path.",
        "Unknown or invalid instance.";
    InvalidTenantIdentifier { tenant: String } = 900023, InvalidRequest, AzureAd,
        "A tenant path segment that is not UTF-8 once percent-decoded (the segment is quoted as it was sent).",
        "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain.";
    UnknownApplication { client_id: String, tenant: String } = 700016, UnauthorizedClient, AzureAd,
        "No application with that client id in the tenant (at the authorization endpoint: the error page).",
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.";
    MissingClientSecret = 7000218, InvalidClient, AzureAd,
        "A confidential client sent neither a secret nor a client assertion; a public client asked for an on-behalf-of token (a confidential client's grant).",
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.";
    InvalidClientSecret { client_id: String } = 7000215, InvalidClient, AzureAd,
        "A wrong client secret (with `WWW-Authenticate: Basic` when it came over Basic).",
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.";
    PublicClientSentSecret = 700025, InvalidClient, AzureAd,
        "A public client sent a secret.",
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.";
    ClientAssertionWithSecret = 9002313, InvalidRequest, Latchkey,
        "A `client_assertion` together with a client secret (in the body or the `Authorization` header).",
        "Invalid request. Both a client secret and a client assertion were sent; a client authenticates with one credential.";
    ClientAssertionTypeUnsupported { value: String } = 9002313, InvalidRequest, Latchkey,
        "A `client_assertion_type` other than `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (RFC 7523).",
        "Invalid request. The client_assertion_type '{value}' is not supported; send 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.";
    CredentialFieldMissing { field: &'static str } = 90014, InvalidRequest, AzureAd,
        "A `client_assertion` without a claim it needs: `iss`, `sub`, `aud` or `exp` (and `jti` for an app with `single_use_assertions`).",
        "The required field '{field}' is missing from the credential. Ensure that you have all the necessary parameters for the login request.";
    ClientAssertionAlgorithm { alg: Box<str>, supported: &'static str } = 5002738, InvalidClient, AzureAd,
        "A `client_assertion` whose `alg` Latchkey does not take for its key: `none`, an HMAC (`HS256` keyed with the certificate, a forgery), or one that does not fit the key's type (RS256 and PS256 for an RSA key, ES256 for a P-256 key).",
        "Invalid JWT token. '{alg}' is not a supported signature algorithm. Supported signing algorithms are: '{supported}'";
    ClientAssertionNoKeyId = 5002723, InvalidClient, AzureAd,
        "A certificate's `client_assertion` whose header names no key: no `x5t`, `x5t#S256` nor `kid`.",
        "Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.";
    ClientCertificateNotFound { thumbprint: Box<str>, client_id: Box<str> } = 700027, InvalidClient, AzureAd,
        "A `client_assertion` signed by a certificate the app did not register (the thumbprint its header names, or its `x5c`'s first certificate): also an app with a secret and no certificate.",
        "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please check the certificates registered for app Id '{client_id}' in the directory.]";
    ClientAssertionSignatureInvalid { thumbprint: Box<str> } = 700027, InvalidClient, AzureAd,
        "A `client_assertion` whose signature does not verify with the registered certificate (or the federated issuer's key) its header names.",
        "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint}']";
    ClientCertificateExpired { thumbprint: Box<str>, start: Box<str>, end: Box<str> } = 700027, InvalidClient, AzureAd,
        "A `client_assertion` signed by a registered certificate outside its validity (`notBefore`, `notAfter`).",
        "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={start}, End={end}']";
    ClientAssertionTimeRange { now: Box<str>, valid_from: Box<str>, expires: Box<str> } = 700024, InvalidClient, AzureAd,
        "A `client_assertion` past its `exp`, or before its `nbf` (five minutes of clock skew allowed on `nbf`).",
        "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {valid_from}, expiry time of assertion {expires}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .";
    ClientAssertionLifetime { lifetime: u64, cap: u64 } = 700024, InvalidClient, Latchkey,
        "A `client_assertion` valid for longer than Latchkey takes (from its `nbf`, else its `iat`, else now, to its `exp`): one hour for a certificate's, a day for a federated issuer's.",
        "Client assertion is not within its valid time range: it is valid for {lifetime} seconds, longer than the {cap} seconds this server accepts. Create assertions that expire sooner; ten minutes is usual.";
    ClientAssertionAudience { expected: Box<str> } = 700023, InvalidClient, AzureAd,
        "A certificate's `client_assertion` whose `aud` is not this tenant's token endpoint (v1 or v2.0, the tenant named by id, a domain, or as the request's path names it).",
        "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials . The audience must be the token endpoint, such as '{expected}'.";
    ClientAssertionSubject = 700021, InvalidClient, AzureAd,
        "A certificate's `client_assertion` whose `iss` or `sub` is not the `client_id` (where `iss` is no federated issuer of the app).",
        "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .";
    ClientAssertionReplayed { jti: String } = 50027, InvalidClient, Latchkey,
        "A `client_assertion` presented again (the same `jti` before its `exp`) to an app with `single_use_assertions`; Azure AD and Latchkey's default take an assertion again until it expires.",
        "Invalid JWT token. The client assertion with jti '{jti}' has already been used, and this application accepts each assertion once. Create a new assertion for each request.";
    FederatedIssuerNotFound { issuer: String } = 700211, InvalidClient, AzureAd,
        "A federated `client_assertion` whose `iss` is none of the app's `federated_credentials`.",
        "No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
    FederatedSubjectNotFound { subject: String } = 700213, InvalidClient, AzureAd,
        "A federated `client_assertion` from a trusted issuer whose `sub` no federated credential of that issuer names.",
        "No matching federated identity record found for presented assertion subject '{subject}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
    FederatedAudienceNotFound { audience: String } = 700212, InvalidClient, AzureAd,
        "A federated `client_assertion` whose issuer and subject match a federated credential but whose `aud` is none of its audiences.",
        "No matching federated identity record found for presented assertion audience '{audience}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
    FederatedKeyNotFound { kid: Box<str>, issuer: Box<str> } = 700027, InvalidClient, Latchkey,
        "A federated `client_assertion` whose `kid` is none of its issuer's keys (the credential's `jwks_path`, or the issuer's published JWKS, fetched again once).",
        "Client assertion failed signature validation. [Reason - The key was not found., Key id used by the issuer: '{kid}', Issuer: '{issuer}']";
    FederatedKeysUnavailable { issuer: String } = 50166, InvalidClient, Latchkey,
        "A federated credential without `jwks_path` whose issuer's OpenID configuration or keys could not be fetched (unreachable, an error status, not JSON, too slow).",
        "Request to External OIDC endpoint failed. The signing keys of the issuer '{issuer}' could not be fetched from its OpenID configuration.";
    GrantTypeNotAllowed { client_id: String, grant_type: String } = 70000, UnauthorizedClient, Latchkey,
        "The client may not use this grant type (at the authorization endpoint: the code flow).",
        "The application '{client_id}' is not allowed to use the grant type '{grant_type}'.";
    UnsupportedGrantType { grant_type: String } = 70003, UnsupportedGrantType, AzureAd,
        "An unknown `grant_type`.",
        "The app requested an unsupported grant type '{grant_type}'.";
    ResourceNotFound { resource: String, tenant: String } = 500011, InvalidResource, AzureAd,
        "A `resource` not registered in the tenant.",
        "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.";
    InvalidUsernameOrPassword = 50126, InvalidGrant, AzureAd,
        "A wrong user name or password (an unknown user alike, in the same time: no enumeration).",
        "Error validating credentials due to invalid username or password.";
    AccountLocked = 50053, InvalidGrant, AzureAd,
        "The user name is locked out after too many failed passwords or second-factor codes (the tenant's `lockout_threshold`); answered without checking the password, so it neither confirms nor denies it.",
        "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.";
    SignInRateLimited = 90055, TemporarilyUnavailable, Latchkey,
        "More password checks from one client IP address than its rate allows (with `Retry-After`).",
        "There are too many sign-in attempts from this client address. Please try again later.";
    GrantExpired = 70008, InvalidGrant, AzureAd,
        "A refresh token or authorization code past its lifetime.",
        "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.";
    GrantRevoked = 50173, InvalidGrant, AzureAd,
        "A refresh token whose family was revoked, or a grant whose user no longer exists.",
        "The provided grant has been revoked. Send a new interactive authorization request for this user and resource.";
    RefreshTokenReused = 70000, InvalidGrant, Latchkey,
        "A refresh token presented again after it was rotated out (which revokes its family).",
        "The refresh token has already been used to obtain a new one; every refresh token of this sign-in has been revoked. Send a new interactive authorization request for this user and resource.";
    RefreshFamilyExpired { lifetime_days: u64 } = 70043, InvalidGrant, Latchkey,
        "A refresh token whose sign-in is older than the absolute family lifetime (90 days by default), however recently it was refreshed.",
        "The refresh token has expired: its sign-in is older than the maximum lifetime of {lifetime_days} days. Send a new interactive authorization request for this user and resource.";
    ScopeNotGranted { scope: String } = 70011, InvalidScope, Latchkey,
        "A refresh asking its sign-in's resource for a scope the sign-in did not grant (RFC 6749 §6).",
        "The provided value for the input parameter 'scope' is not valid. The scope {scope} was not granted to this refresh token; ask for it in a new authorization request.";
    GrantMalformed = 70000, InvalidGrant, AzureAd,
        "A refresh token or authorization code that does not exist.",
        "Provided grant is invalid or malformed.";
    GrantClientMismatch = 70000, InvalidGrant, AzureAd,
        "A refresh token or authorization code issued to another client.",
        "Provided grant is invalid: it was issued to a different client.";
    MfaRequired { resource: String } = 50076, InteractionRequired, AzureAd,
        "A password grant for a user whose second factor is enforced; a token request for an API with `require_mfa` (or with a `claims` request asking for `mfa`) from a sign-in without the second factor, whose document then carries `claims`, the claims request to authorize again with; at the authorization endpoint, `prompt=none` with the second factor needed but not passed.",
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource}'.";
    MfaEnrollmentRequired { resource: String } = 50079, InteractionRequired, AzureAd,
        "An API with `require_mfa` (or a `claims` request asking for `mfa`) and a user with no second factor (`totp_secret`) to pass it with: at the token endpoint, and at the authorization endpoint once the user signed in (Latchkey has no page to enroll one).",
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '{resource}'.";
    MalformedClaims = 90100, InvalidRequest, AzureAd,
        "A `claims` parameter that is not a JSON object (OpenID Connect Core §5.5), at either endpoint.",
        "claims parameter is empty or not valid.";
    ConsentRequired { client_id: String, app_name: String } = 65001, InvalidGrant("consent_required"), AzureAd,
        "No consent for the app to use the resource's scopes on the user's behalf.",
        "The user or administrator has not consented to use the application with ID '{client_id}' named '{app_name}'. Send an interactive authorization request for this user and resource.";
    RequestedTokenUseUnsupported { value: String } = 9002313, InvalidRequest, Latchkey,
        "An on-behalf-of request (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`) whose `requested_token_use` is not `on_behalf_of`.",
        "Invalid request. The requested_token_use '{value}' is not supported; an on-behalf-of request sends 'on_behalf_of'.";
    AssertionMalformed = 50027, InvalidRequest, AzureAd,
        "An on-behalf-of `assertion`, or a `client_assertion`, that is not a compact JWS (three base64url parts, a JSON header and JSON claims).",
        "JWT token is invalid or malformed.";
    AssertionKeyNotFound { kid: String } = 50013, InvalidGrant, AzureAd,
        "An on-behalf-of `assertion` whose `kid` names no key this server publishes (another authority's token, or one signed by a key retired since).",
        "Assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{kid}']";
    AssertionSignatureInvalid { kid: String } = 50013, InvalidGrant, AzureAd,
        "An on-behalf-of `assertion` whose signature does not verify (altered, or under an `alg` that is not its key's: RS256 for an RSA key, ES256 for a P-256 key) with the published key its `kid` names.",
        "Assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{kid}']";
    AssertionIssuerMismatch { issuer: String } = 50013, InvalidGrant, Latchkey,
        "An on-behalf-of `assertion` signed by this server but not issued for the tenant of the request (its `iss` or `tid` names another, or the server's public URL changed since).",
        "Assertion is invalid: its issuer '{issuer}' is not this tenant's. Request a new token from this tenant's authority and use it as the assertion.";
    AssertionExpired { now: Box<str>, valid_from: Box<str>, expires: Box<str> } = 500133, InvalidGrant, AzureAd,
        "An on-behalf-of `assertion` past its `exp` (or before its `nbf`, beyond five minutes of clock skew).",
        "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: {now}, assertion valid from {valid_from}, expiry time of assertion {expires}.";
    AssertionAudienceMismatch { audience: Box<str>, client_id: Box<str>, app_name: Box<str> } = 500131, InvalidGrant, AzureAd,
        "An on-behalf-of `assertion` whose `aud` is not the API the calling app exposes (the `[[tenants.apis]]` entry whose `app_id` is its client id: its App ID URI in v1 tokens, its `app_id` in v2 tokens).",
        "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '{audience}' and the expected audience is '{client_id}' or one of the Application Uris of this application with App ID '{client_id}'({app_name}). The downstream client must request a token for the expected audience (the application that made the OBO request) and this application should use that token as the assertion.";
    IdTokenAssertion = 240002, InvalidGrant, AzureAd,
        "An ID token presented as the on-behalf-of `assertion`: it takes an access token.",
        "Input id_token cannot be used as 'urn:ietf:params:oauth:grant-type:jwt-bearer' grant.";
    AppOnlyAssertion { client_id: String } = 7000114, UnauthorizedClient, AzureAd,
        "An app-only access token (client credentials: no user, no `scp`) presented as the on-behalf-of `assertion`.",
        "Application '{client_id}' is not allowed to make application on-behalf-of calls.";
    AssertionUserNotFound { user: String, tenant: String } = 50034, InvalidGrant, AzureAd,
        "An on-behalf-of `assertion` for a user who is no longer in the tenant.",
        "The user account {user} does not exist in the '{tenant}' directory. To sign into this application, the account must be added to the directory.";
    ResourceNotInPermissions { client: Box<str>, resource: Box<str>, permitted: Box<str> } = 650057, InvalidClient, AzureAd,
        "An on-behalf-of request for an API the calling app holds no permission on (none of its `permissions` names it).",
        "Invalid resource. The client has requested access to a resource which is not listed in the requested permissions in the client's application registration. Client app ID: {client}. Resource value from request: {resource}. List of valid resources from app registration: {permitted}.";
    UserNotAssigned { client_id: String, app_name: String } = 50105, InvalidGrant, AzureAd,
        status 403, action PromptDifferentAccount,
        "A user's token (password, refresh token, authorization code, device code, on-behalf-of) from an app with `assignment_required` whose `assigned_users` do not name the user; after every factor, before consent, and spending nothing (the refresh token works again once the user is assigned). The status (the seed's \"the user does not have permission\") and the action (\"prompt for a different account\") are the row's own. The message does not name the user (Azure AD hides it too).",
        "The signed in user is not assigned to a role for the application '{client_id}'({app_name}).";
    InvalidScope { scope: String } = 70011, InvalidScope, AzureAd,
        "A scope the resource does not define, or the app may not ask for.",
        "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.";
    Throttled = 90055, TemporarilyUnavailable, AzureAd,
        "More than `--max-in-flight` requests at once (the token endpoint adds `Retry-After: 1`).",
        "The server is temporarily too busy to handle the request. Please try again later.";
    ServerError = 50000, ServerError, AzureAd,
        "An internal failure (the store failed); the details are only in the server's log.",
        "There was an error issuing a token or an issue with our sign-in service.";
    RedirectUriMissing { client_id: String } = 900971, InvalidRequest, AzureAd,
        "No `redirect_uri`, and the app has more than one (error page).",
        "No reply address provided. The application '{client_id}' has several redirect URIs registered; the request must name one in 'redirect_uri'.";
    RedirectUriMismatch { redirect_uri: String, client_id: String } = 50011, InvalidRequest, AzureAd,
        "A `redirect_uri` not registered, by exact string match; a loopback one registered without a port matches any port (error page).",
        "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'.";
    RedirectUriMalformed = 90102, InvalidRequest, AzureAd,
        "A `redirect_uri` that is not an absolute URI without a fragment (error page).",
        "'redirect_uri' value must be a valid absolute URI without a fragment.";
    UnsupportedResponseType { response_type: String } = 70005, UnsupportedResponseType, AzureAd,
        "A `response_type` other than `code`.",
        "The response_type '{response_type}' is not supported. This server issues authorization codes: use 'code'.";
    PkceRequired = 9002325, InvalidRequest, Latchkey,
        "A public client without a PKCE `code_challenge`.",
        "Proof Key for Code Exchange is required for public clients: send 'code_challenge' and 'code_challenge_method' = 'S256'.";
    PkceMethodNotSupported { method: String } = 9002313, InvalidRequest, Latchkey,
        "A `code_challenge_method` other than `S256`.",
        "Invalid request. The code_challenge_method '{method}' is not supported; use 'S256'.";
    MalformedCodeChallenge = 9002313, InvalidRequest, Latchkey,
        "A `code_challenge` that is not 43 to 128 unreserved characters.",
        "Invalid request. The code_challenge must be 43 to 128 characters from A-Z, a-z, 0-9, '-', '.', '_' and '~'.";
    UnsupportedPrompt { prompt: String } = 90023, InvalidRequest, AzureAd,
        "A `prompt` value this server does not know.",
        "Unsupported 'prompt' value '{prompt}'. Use 'login', 'consent', 'none' or 'select_account'.";
    UnsupportedResponseMode { response_mode: String } = 9002313, InvalidRequest, Latchkey,
        "A `response_mode` this server does not know.",
        "Invalid request. The response_mode '{response_mode}' is not supported; use 'query', 'fragment' or 'form_post'.";
    LoginRequired = 50058, LoginRequired, AzureAd,
        "`prompt=none` and nobody is signed in.",
        "A silent sign-in request was sent but no user is signed in.";
    SilentConsentRequired { client_id: String, app_name: String } = 65001, ConsentRequired, AzureAd,
        "`prompt=none` and consent is missing.",
        "The user or administrator has not consented to use the application with ID '{client_id}' named '{app_name}'. Send an interactive authorization request for this user and resource.";
    DeviceAuthorizationPending = 70016, AuthorizationPending, AzureAd,
        "A device code polled for before the person finished at the device login page (its first poll always, however soon).",
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.";
    DevicePolledTooFast { interval: u64 } = 70016, SlowDown, Latchkey,
        "A device code polled for again sooner than `interval` seconds after its previous poll (never its first poll).",
        "OAuth 2.0 device flow error. Polling too frequently: wait at least {interval} seconds between requests, 5 seconds more after this answer.";
    DeviceAuthorizationDeclined = 65004, AuthorizationDeclined, Latchkey,
        "The person declined the request on the device login page (the consent page's Cancel).",
        "OAuth 2.0 device flow error. The user declined the authorization request.";
    DeviceCodeExpired = 70019, ExpiredToken, AzureAd,
        "A device code polled for after its `expires_in` (`--device-code-lifetime`), unredeemed.",
        "Verification code expired. Have the user retry the sign-in.";
    DeviceCodeUnknown = 70018, BadVerificationCode, Latchkey,
        "A `device_code` this tenant never issued to this client (or none at all under `code`).",
        "Invalid verification code: the provided device_code was not issued to this application.";
    DeviceCodeRedeemed = 54005, InvalidGrant, Latchkey,
        "A device code presented again after it was redeemed for tokens (of two concurrent pollers, the second).",
        "The device code has already been redeemed. Start a new device code flow to sign in again.";
    UserDeclinedConsent = 65004, AccessDenied, AzureAd,
        "The user pressed Cancel on the consent page.",
        "User declined to consent to access the app.";
    SignInUserNotAssigned { client_id: String, app_name: String } = 50105, AccessDenied, AzureAd,
        action PromptDifferentAccount,
        "The same at the authorization endpoint, once the user has signed in (every factor): before consent, and no code is issued. The action (\"prompt for a different account\") is the row's own.",
        "The signed in user is not assigned to a role for the application '{client_id}'({app_name}).";
    CodeRedeemed = 54005, InvalidGrant, AzureAd,
        "An authorization code redeemed before (its refresh tokens are revoked).",
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.";
    CrossOriginNotSpa { origin: String } = 9002326, InvalidRequest, AzureAd,
        "A cross-origin token request (one with an `Origin` header) for anything but a code or refresh token issued to a single-page-application redirect URI: a web or native app's code, a password or client-credentials grant, or any request to the v1 endpoint (the request changes nothing, so the code is not spent).",
        "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '{origin}'.";
    SpaRequiresCrossOrigin = 9002327, InvalidRequest, AzureAd,
        "A code or refresh token issued to a single-page-application redirect URI, redeemed without an `Origin` header (from a server, not the browser).",
        "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.";
    SpaOriginMismatch { origin: String, expected: String } = 9002326, InvalidRequest, Latchkey,
        "A code or refresh token issued to a single-page-application redirect URI, redeemed from another origin than that redirect URI's.",
        "Cross-origin token redemption is permitted only from the origin of the 'Single-Page Application' redirect URI the grant was issued for ('{expected}'). Request origin: '{origin}'.";
    SpaRefreshTokenExpired { issued_on: String } = 700084, InvalidGrant("bad_token"), AzureAd,
        "A refresh token of a single-page application whose sign-in is older than 24 hours: refreshing never extends an SPA's refresh tokens.",
        "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page. The token was issued on {issued_on}.";
    SpaPkceRequired = 9002325, InvalidRequest, AzureAd,
        "An authorization request to a single-page-application redirect URI without a PKCE `code_challenge` (whether or not the app has a secret).",
        "Proof Key for Code Exchange is required for cross-origin authorization code redemption.";
    CodeRedirectUriMismatch = 70000, InvalidGrant, Latchkey,
        "A `redirect_uri` that differs from the authorization request's.",
        "The redirect_uri does not match the one the authorization code was issued for.";
    CodeVerifierMismatch = 501481, InvalidGrant, AzureAd,
        "A `code_verifier` that does not hash to the `code_challenge`.",
        "The code_verifier does not match the code_challenge supplied in the authorization request.";
    CodeVerifierMissing = 501481, InvalidGrant, Latchkey,
        "No `code_verifier`, but the code has a challenge.",
        "The request body must contain the 'code_verifier' parameter: the authorization request supplied a code_challenge.";
    CodeVerifierUnexpected = 501481, InvalidGrant, Latchkey,
        "A `code_verifier`, but the code has no challenge.",
        "A code_verifier was sent, but the authorization request supplied no code_challenge.";
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

/// How a field's value appears in a message: bounded, if a caller sent it.
trait Quote {
    fn quote(&self) -> String;
}

impl Quote for &str {
    fn quote(&self) -> String {
        bounded(self)
    }
}

impl Quote for String {
    fn quote(&self) -> String {
        bounded(self)
    }
}

/// Rows with three or more values hold them boxed (16 bytes, not 24), so
/// that `Aadsts`, in every `Result<_, ProtocolError>`, stays small.
impl Quote for Box<str> {
    fn quote(&self) -> String {
        bounded(self)
    }
}

impl Quote for usize {
    fn quote(&self) -> String {
        self.to_string()
    }
}

impl Quote for u64 {
    fn quote(&self) -> String {
        self.to_string()
    }
}

impl Quote for Vec<String> {
    fn quote(&self) -> String {
        let each: Vec<String> = self.iter().map(|v| bounded(v)).collect();
        each.join(", ")
    }
}

/// Fills `{field}` placeholders in one pass, so that a quoted value that
/// itself reads `{tenant}` is never expanded.
fn render(template: &str, field: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            rest = &rest[open..];
            break;
        };
        match field(&after[..close]) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

impl Aadsts {
    /// The AADSTS number.
    pub fn number(&self) -> u32 {
        self.spec().number
    }

    /// The OAuth 2.0 error code the condition is reported as.
    pub fn error_code(&self) -> ErrorCode {
        self.spec().code.clone()
    }

    /// Azure AD's `suberror`, which tells MSAL which interaction is needed.
    pub fn suberror(&self) -> Option<&'static str> {
        self.spec().suberror
    }

    /// The message after `AADSTSnnnn: `.
    pub fn message(&self) -> String {
        render(self.spec().message, |name| self.field(name))
    }

    /// The token endpoint's HTTP status (see [`ConditionSpec::token_status`]).
    pub fn token_status(&self) -> u16 {
        self.spec().token_status()
    }

    /// What a client should do (see [`ConditionSpec::client_action`]).
    pub fn client_action(&self) -> ClientAction {
        self.spec().client_action()
    }

    /// The action of the condition numbered `number`, where the row gives
    /// its own: a client reads it from `error_codes` (or the description's
    /// `AADSTSnnnn:`), since the OAuth code says less (Azure AD sends
    /// 50105 as `invalid_grant` from the token endpoint and as
    /// `access_denied` in a redirect; both mean "use another account").
    pub fn action_for_number(number: u32) -> Option<ClientAction> {
        Self::CATALOGUE
            .iter()
            .filter(|row| row.number == number)
            .find_map(|row| row.action)
    }
}

impl ConditionSpec {
    /// The token endpoint's HTTP status: the row's own where it has one
    /// (403 for a user the app does not admit, the seed's "the user does
    /// not have permission to access the resource"), else its code's.
    pub fn token_status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.code.token_status())
    }

    /// What a client should do: the row's own action where it has one,
    /// else its code's.
    pub fn client_action(&self) -> ClientAction {
        self.action.unwrap_or_else(|| self.code.client_action())
    }
}

#[cfg(test)]
mod tests;
