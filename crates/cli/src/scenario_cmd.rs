//! `latchkey scenario add|list|clear --server URL`: the admin API from the
//! command line.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::admin_api::AdminServer;

#[derive(Args, Debug)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    action: ScenarioAction,
}

#[derive(Subcommand, Debug)]
enum ScenarioAction {
    /// Make an endpoint answer an error.
    Add {
        #[command(flatten)]
        server: AdminServer,
        /// The tenant: a GUID or a domain name.
        #[arg(long)]
        tenant: String,
        /// token or authorize.
        #[arg(long)]
        endpoint: String,
        /// Any error code valid for the endpoint.
        #[arg(long)]
        error: String,
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        grant_type: Option<String>,
        #[arg(long)]
        upn: Option<String>,
        #[arg(long)]
        resource: Option<String>,
        #[arg(long)]
        times: Option<u32>,
        #[arg(long)]
        probability: Option<f64>,
        #[arg(long)]
        retry_after: Option<u32>,
        #[arg(long)]
        delay_ms: Option<u64>,
    },
    /// List the scenarios in force.
    List {
        #[command(flatten)]
        server: AdminServer,
    },
    /// Remove scenarios (all, or one tenant's).
    Clear {
        #[command(flatten)]
        server: AdminServer,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(args: ScenarioArgs) -> ExitCode {
    let http = reqwest::Client::new();
    let (request, server) = match args.action {
        ScenarioAction::Add {
            server,
            tenant,
            endpoint,
            error,
            client_id,
            grant_type,
            upn,
            resource,
            times,
            probability,
            retry_after,
            delay_ms,
        } => {
            let mut body = json!({ "tenant": tenant, "endpoint": endpoint, "error": error });
            let optional: [(&str, Value); 8] = [
                ("client_id", json!(client_id)),
                ("grant_type", json!(grant_type)),
                ("upn", json!(upn)),
                ("resource", json!(resource)),
                ("times", json!(times)),
                ("probability", json!(probability)),
                ("retry_after", json!(retry_after)),
                ("delay_ms", json!(delay_ms)),
            ];
            for (name, value) in optional {
                if !value.is_null() {
                    body[name] = value;
                }
            }
            (http.post(url(&server)).json(&body), server)
        }
        ScenarioAction::List { server } => (http.get(url(&server)), server),
        ScenarioAction::Clear { server, tenant } => {
            let mut request = http.delete(url(&server));
            if let Some(tenant) = tenant {
                request = request.query(&[("tenant", tenant)]);
            }
            (request, server)
        }
    };
    server.send(request).await
}

fn url(server: &AdminServer) -> String {
    server.url("scenarios")
}
