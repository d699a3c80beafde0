//! The sign-in log's pages for people: the table of recent sign-ins
//! (failures highlighted, the filters as a form) and one record, with what
//! the catalogue says of its error and the client action the seed gives.
//! As the sign-in pages are: no external assets, no script at all, a CSP
//! that allows only inline styles and forms to this server, never framed.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use minijinja::{Environment, Value, context};

use super::entry::{Entry, Filters, client_action, when};

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Part of the binary: a broken template fails every page test.
        for (name, source) in [
            ("layout.html", include_str!("templates/layout.html")),
            ("list.html", include_str!("templates/list.html")),
            ("detail.html", include_str!("templates/detail.html")),
        ] {
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(template = name, error = %err, "a page template does not parse");
            }
        }
        env
    })
}

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn page(name: &str, ctx: Value) -> Response {
    let rendered = templates()
        .get_template(name)
        .and_then(|template| template.render(ctx));
    let (status, body) = match rendered {
        Ok(body) => (StatusCode::OK, body),
        Err(err) => {
            tracing::error!(template = name, error = %err, "rendering a sign-in log page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>The page could not be rendered.".to_owned(),
            )
        }
    };
    crate::html_page::html(status, body, Some(HeaderValue::from_static(CSP)))
}

pub fn list(entries: &[Entry], filters: &Filters) -> Response {
    let filters = context! {
        trace_id => filters.trace_id,
        correlation_id => filters.correlation_id,
        user => filters.user,
        app => filters.app,
        error => filters.error,
        since => filters.since,
    };
    page(
        "list.html",
        context! { entries => Value::from_serialize(entries), filters },
    )
}

pub fn detail(entry: &Entry) -> Response {
    page(
        "detail.html",
        context! {
            e => Value::from_serialize(entry),
            action => client_action(entry).map(|a| a.text()),
            when => when(entry),
        },
    )
}
