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
    InvalidTenantIdentifier { tenant: String } = 900023, InvalidRequest, AzureAd,
        "A tenant path segment that is not UTF-8 once percent-decoded (the segment is quoted as it was sent).",
        "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain.";
    UnknownApplication { client_id: String, tenant: String } = 700016, UnauthorizedClient, AzureAd,
        "No application with that client id in the tenant (at the authorization endpoint: the error page).",
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.";
    MissingClientSecret = 7000218, InvalidClient, AzureAd,
        "A confidential client sent no secret; a public client asked for an on-behalf-of token (a confidential client's grant).",
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.";
    InvalidClientSecret { client_id: String } = 7000215, InvalidClient, AzureAd,
        "A wrong client secret (with `WWW-Authenticate: Basic` when it came over Basic).",
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.";
    PublicClientSentSecret = 700025, InvalidClient, AzureAd,
        "A public client sent a secret.",
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.";
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
        "An on-behalf-of `assertion` that is not a compact JWS (three base64url parts, a JSON header and JSON claims).",
        "JWT token is invalid or malformed.";
    AssertionKeyNotFound { kid: String } = 50013, InvalidGrant, AzureAd,
        "An on-behalf-of `assertion` whose `kid` names no key this server publishes (another authority's token, or one signed by a key retired since).",
        "Assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{kid}']";
    AssertionSignatureInvalid { kid: String } = 50013, InvalidGrant, AzureAd,
        "An on-behalf-of `assertion` whose signature does not verify (altered, or not RS256) with the published key its `kid` names.",
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
mod tests {
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
            Aadsts::InvalidTenantIdentifier { tenant: s("%FF") },
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
            900023 400 invalid_request: Specified tenant identifier '%FF' is neither a valid DNS name, nor a valid external domain.
            700016 400 unauthorized_client: Application with identifier 'c' was not found in the directory 't'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.
            7000218 401 invalid_client: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.
            7000215 401 invalid_client: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'c'.
            700025 401 invalid_client: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.
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
        assert!(condition.message().starts_with(
            "Application with identifier '{tenant}' was not found in the directory 't'."
        ));
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
        expect_file!["../../../docs/errors.md"].assert_eq(&doc);
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
                    action_name(spec.action)
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

    /// The seeds' wording of each action.
    fn action_name(action: ClientAction) -> &'static str {
        match action {
            ClientAction::FixRequest => "fix and resubmit the request",
            ClientAction::RetryWithDelay => "retry after random delays",
            ClientAction::RequestNewToken => "request a new token, once",
            ClientAction::ReauthorizeWithScope => "authorize again with the `scope` named",
            ClientAction::ReauthorizeWithClaims => "authorize again with the `claims` named",
            ClientAction::PromptDifferentAccount => {
                "prompt for a different account or for permissions"
            }
            ClientAction::AskForConsent => "tell the user it cannot proceed without consent",
            ClientAction::InteractionRequired => "retry interactively",
            ClientAction::FixCredentials => "the administrator updates the credentials",
            ClientAction::InstallApplication => "install the application and add it to the tenant",
            ClientAction::ChangeGrantType => "change the grant type",
            ClientAction::PollAgain => "poll again after `interval` seconds",
        }
    }
}
