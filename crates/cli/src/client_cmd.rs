//! `latchkey token`, `latchkey login` and `latchkey call`: the client
//! library on the command line. Exit codes: 0 success; 2 fix the request;
//! 3 retried and still failing; 4 needs a user or an administrator;
//! 5 refused by a trust check.

use std::process::ExitCode;

use clap::Args;
use latchkey_client::{
    Action, Client, ClientCertificate, ClientConfig, Credentials, Error, RetryPolicy, TrustedHost,
};
use serde_json::json;

#[derive(Args, Debug)]
pub struct ClientArgs {
    /// The tenant authority: {url}/{tenant}. Optional for `call`.
    #[arg(long)]
    authority: Option<String>,
    /// The resource (App ID URI) to get a token for. Optional for `call`.
    #[arg(long)]
    resource: Option<String>,
    #[arg(long)]
    client_id: String,
    #[arg(long, env = "LATCHKEY_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// A PEM file with the app's certificate and its private key: each
    /// token request carries a client assertion signed with it (PS256 for
    /// RSA, ES256 for P-256) instead of a secret.
    #[arg(
        long,
        env = "LATCHKEY_CLIENT_CERTIFICATE",
        conflicts_with = "client_secret"
    )]
    client_certificate: Option<std::path::PathBuf>,
    /// The password grant's user.
    #[arg(long)]
    username: Option<String>,
    #[arg(long, env = "LATCHKEY_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// A host trusted as an authorization server (HOST or HOST:PORT; an
    /// http authorization_uri only on a loopback host listed with its port).
    #[arg(long = "trusted-host")]
    trusted_hosts: Vec<TrustedHost>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Tries for a temporary failure, the first included.
    #[arg(long, default_value_t = 4)]
    max_attempts: u32,
    /// Also trust the CA certificates (PEM) in this file, e.g.
    /// `DATA/tls/ca.pem` of `serve --tls-self-signed`.
    #[arg(long)]
    ca_file: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    #[command(flatten)]
    common: ClientArgs,
    /// Use the refresh_token grant with this refresh token.
    #[arg(long, env = "LATCHKEY_REFRESH_TOKEN", hide_env_values = true)]
    refresh_token: Option<String>,
    /// On-behalf-of: exchange this access token of a user, issued to the
    /// client's own API, for one to the resource (needs --client-secret).
    #[arg(
        long,
        value_name = "ASSERTION",
        env = "LATCHKEY_ASSERTION",
        hide_env_values = true,
        conflicts_with = "refresh_token"
    )]
    on_behalf_of: Option<String>,
    /// The scope parameter (e.g. `openid`).
    #[arg(long)]
    scope: Option<String>,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    common: ClientArgs,
    #[arg(long)]
    scope: Option<String>,
    /// Sign in on another device (RFC 8628): print where to go and the
    /// code to type, then wait for the sign-in there. Declined: exit 4;
    /// the code expired: exit 4.
    #[arg(long)]
    device_code: bool,
}

#[derive(Args, Debug)]
pub struct CallArgs {
    #[command(flatten)]
    common: ClientArgs,
    /// The API URL to GET.
    url: String,
    /// On insufficient_scope, sign in again in the browser for the scope
    /// the API names, and retry; on a claims challenge (insufficient_claims,
    /// or interaction_required with claims), sign in again with those
    /// claims (e.g. passing a second factor), and retry.
    #[arg(long)]
    login: bool,
}

impl ClientArgs {
    fn client(&self) -> Result<Client, Error> {
        let mut config = ClientConfig::new(&self.client_id);
        config.authority = self.authority.clone();
        config.trusted_hosts = self.trusted_hosts.clone();
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
            config.extra_roots_pem = Some(pem);
        }
        config.retry = RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            ..RetryPolicy::default()
        };
        let client_certificate = match &self.client_certificate {
            None => None,
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
                let certificate = ClientCertificate::from_pem(&pem)
                    .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
                Some(std::sync::Arc::new(certificate))
            }
        };
        config.credentials = Credentials {
            client_secret: self.client_secret.clone(),
            client_certificate,
            user: match (&self.username, &self.password) {
                (Some(u), Some(p)) => Some((u.clone(), p.clone())),
                (Some(_), None) => return Err(Error::Usage("--username needs --password".into())),
                _ => None,
            },
        };
        Client::new(config)
    }

    fn required(&self) -> Result<(String, String), Error> {
        match (&self.authority, &self.resource) {
            (Some(a), Some(r)) => Ok((a.clone(), r.clone())),
            _ => Err(Error::Usage(
                "--authority and --resource are required".into(),
            )),
        }
    }
}

pub async fn token(args: TokenArgs) -> ExitCode {
    let json = args.common.json;
    let outcome = async {
        let client = args.common.client()?;
        let (authority, resource) = args.common.required()?;
        if let Some(assertion) = &args.on_behalf_of {
            return client
                .on_behalf_of(&authority, &resource, assertion, args.scope.as_deref())
                .await;
        }
        match (&args.refresh_token, &client.config().credentials.user) {
            (Some(refresh), _) => client.refresh(&authority, &resource, refresh).await,
            (None, Some((user, password))) => {
                client
                    .password(&authority, &resource, user, password, args.scope.as_deref())
                    .await
            }
            (None, None) => client.client_credentials(&authority, &resource).await,
        }
    }
    .await;
    finish(
        outcome.map(|t| serde_json::to_value(t).unwrap_or_default()),
        json,
    )
}

pub async fn login(args: LoginArgs) -> ExitCode {
    let json = args.common.json;
    let outcome = async {
        let client = args.common.client()?;
        let (authority, resource) = args.common.required()?;
        let scope = args.scope.as_deref();
        let tokens = if args.device_code {
            client
                .login_with_device_code(&authority, &resource, scope, |message| {
                    eprintln!("{message}");
                })
                .await?
        } else {
            client
                .login(&authority, &resource, scope, |url| {
                    eprintln!("Open this URL in a browser to sign in:\n{url}");
                })
                .await?
        };
        Ok(serde_json::to_value(tokens).unwrap_or_default())
    }
    .await;
    finish(outcome, json)
}

pub async fn call(args: CallArgs) -> ExitCode {
    let json = args.common.json;
    let outcome = async {
        let client = args.common.client()?;
        let resource = args.common.resource.as_deref();
        let response = if args.login {
            client
                .call_interactive(&args.url, resource, |url| {
                    eprintln!("Open this URL in a browser to sign in:\n{url}");
                })
                .await?
        } else {
            client.call(&args.url, resource).await?
        };
        Ok(json!({ "status": response.status, "body": response.body }))
    }
    .await;
    finish(outcome, json)
}

/// Prints the result, or the error with its client action; the exit code
/// says which action applies.
fn finish(outcome: Result<serde_json::Value, Error>, json: bool) -> ExitCode {
    match outcome {
        Ok(value) => {
            let text = match (json, value.get("body").and_then(|b| b.as_str())) {
                (false, Some(body)) => body.to_owned(),
                _ => serde_json::to_string_pretty(&value).unwrap_or_default(),
            };
            say!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            let action = error.action();
            if json {
                let document = match &error {
                    Error::Token(t) => serde_json::to_value(&t.document).ok(),
                    Error::RetriesExhausted { last, .. } => match last.as_ref() {
                        Error::Token(t) => serde_json::to_value(&t.document).ok(),
                        _ => None,
                    },
                    _ => None,
                };
                say!(
                    "{}",
                    json!({
                        "error": error.to_string(),
                        "action": action_name(&action),
                        "action_description": action.describe(),
                        "scope": match &action { Action::Reauthorize { scope } => scope.clone(), _ => None },
                        "claims": match &action { Action::ReauthorizeWithClaims { claims } => Some(claims.clone()), _ => None },
                        "exit_code": action.exit_code(),
                        "correlation_id": error.correlation_id(),
                        "document": document,
                    })
                );
            } else {
                eprintln!("latchkey: {error}");
                eprintln!("what to do: {}", action.describe());
                if let Some(correlation) = error.correlation_id() {
                    eprintln!("correlation id: {correlation}");
                }
            }
            ExitCode::from(action.exit_code())
        }
    }
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::FixRequest => "fix_request",
        Action::RetryLater => "retry_later",
        Action::RequestNewToken => "request_new_token",
        Action::Reauthorize { .. } => "reauthorize",
        Action::ReauthorizeWithClaims { .. } => "reauthorize_with_claims",
        Action::DifferentAccount => "different_account",
        Action::AskForConsent => "ask_for_consent",
        Action::InteractionRequired => "interaction_required",
        Action::FixCredentials => "fix_credentials",
        Action::InstallApplication => "install_application",
        Action::ChangeGrantType => "change_grant_type",
        Action::PollAgain => "poll_again",
        Action::Refused => "refused",
    }
}
