//! What the commands that drive a running server's admin API share
//! (`scenario`, `users`): the server and its key, and how an answer
//! becomes output and an exit code.

use std::process::ExitCode;

use clap::Args;

#[derive(Args, Debug)]
pub struct AdminServer {
    /// The server's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub server: String,
    #[arg(long, env = "LATCHKEY_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: String,
}

impl AdminServer {
    /// The URL of the admin API's `path` (after `/_admin/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/_admin/{path}", self.server.trim_end_matches('/'))
    }

    /// Sends `request` with the admin key: prints the answer's body and
    /// exits 0 on success; 2 when the API refused, 3 when it was unreachable.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> ExitCode {
        let response = match request.bearer_auth(&self.admin_key).send().await {
            Ok(response) => response,
            Err(err) => {
                eprintln!("latchkey: cannot reach {}: {err}", self.server);
                return ExitCode::from(3);
            }
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() {
            say!("{body}");
            ExitCode::SUCCESS
        } else {
            eprintln!("latchkey: the admin API answered {status}: {body}");
            ExitCode::from(2)
        }
    }
}
