//! `latchkey users revoke-sessions UPN --server URL`: Azure AD's "revoke
//! sessions" for one user, through the running server's admin API (its
//! browser sessions end, every refresh token of theirs answers
//! `invalid_grant` AADSTS50173).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::admin_api::AdminServer;

#[derive(Args, Debug)]
pub struct UsersArgs {
    #[command(subcommand)]
    action: UsersAction,
}

#[derive(Subcommand, Debug)]
enum UsersAction {
    /// End a user's sign-in sessions and revoke their refresh tokens.
    RevokeSessions {
        #[command(flatten)]
        server: AdminServer,
        /// The user's UPN, e.g. frank@contoso.example.
        upn: String,
    },
}

pub async fn run(args: UsersArgs) -> ExitCode {
    let http = reqwest::Client::new();
    match args.action {
        UsersAction::RevokeSessions { server, upn } => {
            let Some(url) = user_url(&server, &upn, "revokeSignInSessions") else {
                eprintln!("latchkey: --server {} is not a URL", server.server);
                return ExitCode::from(2);
            };
            server.send(http.post(url)).await
        }
    }
}

/// `/_admin/users/{upn}/{action}`, the UPN percent-encoded as one segment.
fn user_url(server: &AdminServer, upn: &str, action: &str) -> Option<reqwest::Url> {
    let mut url = reqwest::Url::parse(&server.url("users")).ok()?;
    url.path_segments_mut().ok()?.push(upn).push(action);
    Some(url)
}
