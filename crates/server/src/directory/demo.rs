//! The built-in demo tenant for `latchkey serve` without `--directory`.

use super::{DirectoryData, DirectoryError, parse_directory};
use crate::secrets::{RngError, random_token};

const DEMO: &str = include_str!("demo.toml");

/// What `serve` prints so a developer can get a token at once.
#[derive(Clone)]
pub struct DemoCredentials {
    pub tenant_id: String,
    pub domain: String,
    pub client_id: String,
    pub public_client_id: String,
    pub client_secret: String,
    pub resource: String,
    pub user: String,
    pub mfa_user: String,
    pub admin_user: String,
    pub user_password: String,
}

/// The demo directory with a fresh client secret and user password.
pub fn demo_directory() -> Result<(DirectoryData, DemoCredentials), DemoError> {
    let client_secret = random_token(32)?;
    let user_password = random_token(12)?;
    let text = DEMO
        .replace("{client_secret}", &client_secret)
        .replace("{user_password}", &user_password);
    let data = parse_directory(&text)?.directory;
    let credentials = DemoCredentials {
        tenant_id: "7fe81447-da57-4385-becb-6de57f21477e".into(),
        domain: "contoso.example".into(),
        client_id: "2d4d11a2-f814-46a7-890a-274a72a7309e".into(),
        public_client_id: "0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11".into(),
        client_secret,
        resource: "https://files.contoso.example/".into(),
        user: "frank@contoso.example".into(),
        mfa_user: "mfa@contoso.example".into(),
        admin_user: "admin@contoso.example".into(),
        user_password,
    };
    Ok((data, credentials))
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Rng(#[from] RngError),
    #[error("the built-in demo directory is invalid: {0}")]
    Directory(#[from] DirectoryError),
}
