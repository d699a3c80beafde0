//! The device authorization response (RFC 8628 §3.2) as Azure AD writes
//! it: v1 (`/oauth2/devicecode`) with `verification_url` and numbers as
//! strings, as ADAL reads it; v2.0 with `verification_uri` and numbers.

use serde::{Deserialize, Serialize};

/// What the device authorization endpoint hands the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub user_code: String,
    pub device_code: String,
    /// The page where the person types the user code.
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: u64,
}

impl DeviceAuthorization {
    /// The instruction a device shows the person, in Azure AD's words.
    pub fn message(&self) -> String {
        format!(
            "To sign in, use a web browser to open the page {} and enter the code {} to authenticate.",
            self.verification_uri, self.user_code
        )
    }
}

/// The v1 response, in Azure AD's field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponseV1 {
    pub user_code: String,
    pub device_code: String,
    pub verification_url: String,
    pub expires_in: String,
    pub interval: String,
    pub message: String,
}

/// The v2.0 response, in Azure AD's field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponseV2 {
    pub user_code: String,
    pub device_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: u64,
    pub message: String,
}

impl From<&DeviceAuthorization> for DeviceAuthorizationResponseV1 {
    fn from(d: &DeviceAuthorization) -> Self {
        DeviceAuthorizationResponseV1 {
            user_code: d.user_code.clone(),
            device_code: d.device_code.clone(),
            verification_url: d.verification_uri.clone(),
            expires_in: d.expires_in.to_string(),
            interval: d.interval.to_string(),
            message: d.message(),
        }
    }
}

impl From<&DeviceAuthorization> for DeviceAuthorizationResponseV2 {
    fn from(d: &DeviceAuthorization) -> Self {
        DeviceAuthorizationResponseV2 {
            user_code: d.user_code.clone(),
            device_code: d.device_code.clone(),
            verification_uri: d.verification_uri.clone(),
            expires_in: d.expires_in,
            interval: d.interval,
            message: d.message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorization() -> DeviceAuthorization {
        DeviceAuthorization {
            user_code: "BDFGHJKL".into(),
            device_code: "dc".into(),
            verification_uri: "https://login.example/devicelogin".into(),
            expires_in: 900,
            interval: 5,
        }
    }

    #[test]
    fn both_generations_as_azure_ad_writes_them() {
        let d = authorization();
        assert_eq!(
            serde_json::to_string(&DeviceAuthorizationResponseV1::from(&d)).unwrap(),
            r#"{"user_code":"BDFGHJKL","device_code":"dc","verification_url":"https://login.example/devicelogin","expires_in":"900","interval":"5","message":"To sign in, use a web browser to open the page https://login.example/devicelogin and enter the code BDFGHJKL to authenticate."}"#
        );
        assert_eq!(
            serde_json::to_string(&DeviceAuthorizationResponseV2::from(&d)).unwrap(),
            r#"{"user_code":"BDFGHJKL","device_code":"dc","verification_uri":"https://login.example/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page https://login.example/devicelogin and enter the code BDFGHJKL to authenticate."}"#
        );
    }
}
