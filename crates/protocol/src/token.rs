//! Successful token responses and the access-token claims (v1).

use serde::{Deserialize, Serialize};

/// The grant types the token endpoint knows (RFC 6749 §4, RFC 8628, and
/// Azure AD's on-behalf-of), by the names a directory file's `grant_types`
/// lists them with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
    /// RFC 8628: a device (a command line) signs a person in on another one.
    DeviceCode,
    /// Azure AD's on-behalf-of flow: an API exchanges its caller's token
    /// for one to a downstream API (RFC 7523's `jwt-bearer` on the wire).
    OnBehalfOf,
}

impl GrantType {
    pub const ALL: [GrantType; 6] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::DeviceCode,
        GrantType::OnBehalfOf,
    ];

    /// The grant's name in `grant_types` (and in logs and messages).
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
            GrantType::DeviceCode => "device_code",
            GrantType::OnBehalfOf => "on_behalf_of",
        }
    }

    /// Parses a name of `grant_types`; `None` for a grant this server does
    /// not support.
    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Parses the token request's `grant_type` parameter: the names above,
    /// where they are wire names too, and the URNs of RFC 8628 (v2.0; ADAL
    /// sends the bare `device_code`) and RFC 7523 (on-behalf-of).
    pub fn from_wire(s: &str) -> Option<GrantType> {
        match s {
            "urn:ietf:params:oauth:grant-type:device_code" | "device_code" => {
                Some(GrantType::DeviceCode)
            }
            "urn:ietf:params:oauth:grant-type:jwt-bearer" => Some(GrantType::OnBehalfOf),
            "on_behalf_of" => None,
            other => GrantType::parse(other),
        }
    }
}

/// Which Azure AD endpoint generation a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// `/oauth2/token`: `resource`, numbers as strings, v1 claims.
    #[default]
    V1,
    /// `/oauth2/v2.0/token`: scopes name the resource, numbers as numbers.
    V2,
}

/// A v2.0 token response (no `resource`, numbers as numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponseV2 {
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: u64,
    pub ext_expires_in: u64,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// See [`TokenResponseV1::client_info`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

impl From<TokenResponseV1> for TokenResponseV2 {
    fn from(v1: TokenResponseV1) -> Self {
        TokenResponseV2 {
            token_type: v1.token_type,
            scope: v1.scope,
            expires_in: v1.expires_in.parse().unwrap_or(0),
            ext_expires_in: v1.ext_expires_in.parse().unwrap_or(0),
            access_token: v1.access_token,
            refresh_token: v1.refresh_token,
            id_token: v1.id_token,
            client_info: v1.client_info,
        }
    }
}

/// A v1 token response. Like Azure AD v1, numbers are sent as strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponseV1 {
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: String,
    pub ext_expires_in: String,
    pub expires_on: String,
    pub not_before: String,
    pub resource: String,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the `scope` asked for `openid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// When the request sent `client_info=1` and the token speaks for a
    /// user: base64url (unpadded) JSON `{"uid":"<object id>","utid":"<tenant
    /// id>"}`, the key MSAL files its accounts and tokens under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

/// The claims of a v1 access token (docs/spec/design.md, "Domain").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// How the user signed in (`["pwd"]`, `["pwd", "mfa"]`), in a token
    /// that speaks for a user (an on-behalf-of token: its assertion's; a
    /// refreshed one: its sign-in's): what an API requiring a second factor
    /// checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// v1: the client. v2 tokens carry `azp` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// v1: "0" public client, "1" client secret, "2" a managed identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appidacr: Option<String>,
    /// v2: the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// v2: "0" public client, "1" client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azpacr: Option<String>,
    /// `app` in a managed identity's token (Azure AD sends it there; for
    /// other app-only tokens it is an optional claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    pub oid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    pub sub: String,
    pub tid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    /// A unique token id, so two tokens issued in the same second differ.
    pub uti: String,
    pub ver: String,
}
