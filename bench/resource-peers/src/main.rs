//! resource-peers JWKS_URL ISSUER AUDIENCE BASELINE_ADDR AUTHORIZER_ADDR
//!
//! Serves GET /api/read twice: with no auth at all (the baseline), and
//! behind jwt-authorizer checking RS256, iss, aud, exp, nbf and the same
//! requirement as `latchkey demo-api` (scope Files.Read or role Files.ReadAll).

use axum::{routing::get, Router};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, Validation};
use serde_json::Value;

fn may_read(claims: &Value) -> bool {
    let scope = claims["scp"].as_str().unwrap_or_default().split(' ').any(|s| s == "Files.Read");
    let role = claims["roles"].as_array().is_some_and(|r| r.iter().any(|r| r == "Files.ReadAll"));
    scope || role
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, jwks, issuer, audience, baseline_addr, authorizer_addr] = args.as_slice() else {
        eprintln!("usage: resource-peers JWKS_URL ISSUER AUDIENCE BASELINE_ADDR AUTHORIZER_ADDR");
        std::process::exit(2);
    };
    let baseline = Router::new().route("/api/read", get(|| async { "read" }));
    let validation = Validation::new().iss(&[issuer]).aud(&[audience]).nbf(true).leeway(60);
    let authorizer: Authorizer<Value> = JwtAuthorizer::from_jwks_url(jwks)
        .validation(validation)
        .check(may_read)
        .build()
        .await
        .expect("jwt-authorizer");
    let protected = Router::new().route("/api/read", get(|| async { "read" })).layer(authorizer.into_layer());
    let a = tokio::net::TcpListener::bind(baseline_addr).await.unwrap();
    let b = tokio::net::TcpListener::bind(authorizer_addr).await.unwrap();
    println!("ready");
    tokio::join!(
        async { axum::serve(a, baseline).await.unwrap() },
        async { axum::serve(b, protected).await.unwrap() },
    );
}
