//! The managed identity endpoints' wire: the App Service / Functions
//! protocol (api-version 2019-08-01) and the Azure Instance Metadata
//! Service (IMDS, api-version 2018-02-01), each answer in the field order
//! those services write (what the Azure SDKs parse), numbers as strings.

use serde::{Deserialize, Serialize};

/// App Service's token: `expires_on` in Unix seconds, as a string (the
/// 2017-09-01 protocol wrote a date; 2019-08-01 writes epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppServiceToken {
    pub access_token: String,
    pub expires_on: String,
    pub resource: String,
    pub token_type: String,
    pub client_id: String,
}

/// App Service's refusal: what MSAL reads as `statusCode` and `message`
/// (and `correlationId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppServiceError {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub message: String,
    #[serde(rename = "correlationId")]
    pub correlation_id: String,
}

/// IMDS's token: every number a string, as IMDS writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImdsToken {
    pub access_token: String,
    pub client_id: String,
    pub expires_in: String,
    pub expires_on: String,
    pub ext_expires_in: String,
    pub not_before: String,
    pub resource: String,
    pub token_type: String,
}

/// IMDS's own refusals (a missing `Metadata` header, an unknown
/// identity): `error` and `error_description` only. Refusals that come
/// from Azure AD (an unknown resource) are Azure AD's document instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImdsError {
    pub error: String,
    pub error_description: String,
}

macro_rules! to_json {
    ($($ty:ty),*) => {$(
        impl $ty {
            pub fn to_json(&self) -> String {
                // Strings and a number cannot fail to serialise.
                serde_json::to_string(self).unwrap_or_default()
            }
        }
    )*};
}

to_json!(AppServiceToken, AppServiceError, ImdsToken, ImdsError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_the_services_order() {
        let token = AppServiceToken {
            access_token: "a".into(),
            expires_on: "1597772135".into(),
            resource: "r".into(),
            token_type: "Bearer".into(),
            client_id: "c".into(),
        };
        assert_eq!(
            token.to_json(),
            r#"{"access_token":"a","expires_on":"1597772135","resource":"r","token_type":"Bearer","client_id":"c"}"#
        );
        let error = AppServiceError {
            status_code: 400,
            message: "m".into(),
            correlation_id: "x".into(),
        };
        assert_eq!(
            error.to_json(),
            r#"{"statusCode":400,"message":"m","correlationId":"x"}"#
        );
    }
}
