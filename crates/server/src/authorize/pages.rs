//! The pages a person sees: sign-in, second factor, consent, the error
//! page, and the form-post response. Small, accessible, no external assets;
//! never framed.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::TokenErrorResponse;
use minijinja::{Environment, Value, context};

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // The templates are part of the binary; a broken one fails every
        // page test, so loading cannot fail at run time.
        for (name, source) in [
            ("layout.html", include_str!("templates/layout.html")),
            ("hidden.html", include_str!("templates/hidden.html")),
            ("signin.html", include_str!("templates/signin.html")),
            ("mfa.html", include_str!("templates/mfa.html")),
            ("consent.html", include_str!("templates/consent.html")),
            ("error.html", include_str!("templates/error.html")),
            (
                "error_lookup.html",
                include_str!("templates/error_lookup.html"),
            ),
            ("form_post.html", include_str!("templates/form_post.html")),
            ("signed_out.html", include_str!("templates/signed_out.html")),
            (
                "device_code.html",
                include_str!("templates/device_code.html"),
            ),
            (
                "device_done.html",
                include_str!("templates/device_done.html"),
            ),
        ] {
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(template = name, error = %err, "a page template does not parse");
            }
        }
        env
    })
}

/// A page's Content-Security-Policy: nothing loads from anywhere, the
/// page is never framed, and forms and scripts only as each page needs.
#[derive(Debug, Default)]
struct Csp<'a> {
    /// Inline `<style>`: every page has its styles inline.
    inline_styles: bool,
    /// The one inline script allowed (the form-post page's auto-submit).
    script_nonce: Option<&'a str>,
    /// `form-action` sources; `None` leaves form targets unrestricted.
    form_action: Option<Vec<String>>,
}

impl Csp<'_> {
    /// The error page: forms (none today) only to us.
    fn error_page() -> Csp<'static> {
        Csp {
            inline_styles: true,
            form_action: Some(vec!["'self'".to_owned()]),
            ..Csp::default()
        }
    }

    /// A form page. Browsers apply `form-action` to the redirects that
    /// follow a submission too, and a consent form's answer is a redirect
    /// to the client: so the client's redirect origin is allowed as well.
    /// A redirect URI that cannot be a CSP source leaves form targets
    /// unrestricted rather than break the consent redirect.
    fn form_page(redirect_uri: &str) -> Csp<'static> {
        Csp {
            inline_styles: true,
            form_action: csp_source(redirect_uri).map(|source| vec!["'self'".to_owned(), source]),
            ..Csp::default()
        }
    }

    fn form_post(nonce: &str) -> Csp<'_> {
        Csp {
            script_nonce: Some(nonce),
            ..Csp::default()
        }
    }

    fn header_value(&self) -> Option<HeaderValue> {
        let mut directives = vec!["default-src 'none'".to_owned()];
        if self.inline_styles {
            directives.push("style-src 'unsafe-inline'".to_owned());
        }
        if let Some(nonce) = self.script_nonce {
            directives.push(format!("script-src 'nonce-{nonce}'"));
        }
        if let Some(sources) = &self.form_action {
            directives.push(format!("form-action {}", sources.join(" ")));
        }
        directives.push("frame-ancestors 'none'".to_owned());
        directives.push("base-uri 'none'".to_owned());
        HeaderValue::from_str(&directives.join("; ")).ok()
    }
}

/// `scheme://host[:port]` for http(s), `scheme:` otherwise; `None` when the
/// URI has characters a CSP source cannot carry.
fn csp_source(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let source = match rest.strip_prefix("//") {
        Some(after) if scheme == "http" || scheme == "https" => {
            let authority = after.split(['/', '?', '#']).next()?;
            let authority = authority.rsplit('@').next()?;
            format!("{scheme}://{authority}")
        }
        _ => format!("{scheme}:"),
    };
    source
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b";,'\"".contains(&b))
        .then_some(source)
}

fn render(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    templates().get_template(name)?.render(ctx)
}

/// An HTML response with the headers every page carries.
fn html(status: StatusCode, body: String, csp: &Csp<'_>) -> Response {
    crate::html_page::html(status, body, csp.header_value())
}

fn page(name: &str, ctx: Value, csp: &Csp<'_>) -> Response {
    match render(name, ctx) {
        Ok(body) => html(StatusCode::OK, body, csp),
        Err(err) => {
            tracing::error!(template = name, error = %err, "rendering a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

/// What every form page shares.
pub struct Form<'a> {
    /// Where the form posts: this tenant's authorize endpoint.
    pub action: &'a str,
    /// The authorization request's parameters, carried as hidden fields.
    pub params: &'a [(String, String)],
    pub csrf: &'a str,
    pub app: &'a str,
    pub tenant: &'a str,
    /// The client's redirect URI, allowed as a form target.
    pub redirect_uri: &'a str,
    /// The user code, when a device's sign-in is on the pages: the consent
    /// page asks the person to confirm it is theirs.
    pub device_code: Option<&'a str>,
}

pub fn sign_in(form: &Form<'_>, username: &str, error: Option<&str>) -> Response {
    page(
        "signin.html",
        context! { action => form.action, params => form.params, csrf => form.csrf, app => form.app,
        tenant => form.tenant, username => username, error => error },
        &Csp::form_page(form.redirect_uri),
    )
}

pub fn second_factor(form: &Form<'_>, upn: &str, error: Option<&str>) -> Response {
    page(
        "mfa.html",
        context! { action => form.action, params => form.params, csrf => form.csrf, upn => upn, error => error },
        &Csp::form_page(form.redirect_uri),
    )
}

pub fn consent(form: &Form<'_>, upn: &str, api: &str, scopes: &[String]) -> Response {
    page(
        "consent.html",
        context! { action => form.action, params => form.params, csrf => form.csrf, app => form.app,
        upn => upn, api => api, scopes => scopes, device_code => form.device_code },
        &Csp::form_page(form.redirect_uri),
    )
}

/// The error page for a request that cannot be redirected. The document
/// is both shown and embedded as JSON, for tests and tools; each AADSTS
/// number links to its entry at `lookup` (the error lookup page's URL).
pub fn error(
    doc: &TokenErrorResponse,
    message: &str,
    status: StatusCode,
    lookup: &str,
) -> Response {
    // No `<` at all inside the script element: `</script` would close it
    // early and `<!--` would change how the HTML parser reads the rest.
    let json = doc.to_json().replace('<', "\\u003c");
    match render(
        "error.html",
        context! { doc => Value::from_serialize(doc), message => message, json => json, lookup => lookup },
    ) {
        Ok(body) => html(status, body, &Csp::error_page()),
        Err(err) => {
            tracing::error!(error = %err, "rendering the error page failed");
            (status, doc.to_json()).into_response()
        }
    }
}

/// The error lookup page (`error_lookup`), with `status` (404 for a
/// number not in the catalogue).
pub fn error_lookup(status: StatusCode, ctx: Value) -> Response {
    match render("error_lookup.html", ctx) {
        Ok(body) => html(status, body, &Csp::error_page()),
        Err(err) => {
            tracing::error!(error = %err, "rendering the error lookup page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

/// The device login page's first step: the person types the user code
/// their device shows (`error` after a wrong or throttled one).
pub fn device_code(
    action: &str,
    entered: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    match render(
        "device_code.html",
        context! { action => action, entered => entered, error => error },
    ) {
        Ok(body) => html(status, body, &Csp::error_page()),
        Err(err) => {
            tracing::error!(error = %err, "rendering the device code page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

/// The device login page's last step: approved or declined, the person
/// goes back to the device.
pub fn device_done(app: &str, approved: bool) -> Response {
    page(
        "device_done.html",
        context! { app => app, approved => approved },
        &Csp::error_page(),
    )
}

/// The page after sign-out when there is nowhere (trusted) to go back to.
pub fn signed_out() -> Response {
    page("signed_out.html", context! {}, &Csp::error_page())
}

/// The `form_post` response: an auto-submitting form to the client.
pub fn form_post(redirect_uri: &str, params: &[(&str, String)], nonce: &str) -> Response {
    match render(
        "form_post.html",
        context! { action => redirect_uri, params => params, nonce => nonce },
    ) {
        Ok(body) => html(StatusCode::OK, body, &Csp::form_post(nonce)),
        Err(err) => {
            tracing::error!(error = %err, "rendering the form_post page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_sources_of_redirect_uris() {
        assert_eq!(
            csp_source("http://127.0.0.1:7000/cb?x=1").as_deref(),
            Some("http://127.0.0.1:7000")
        );
        assert_eq!(
            csp_source("https://user@app.example/cb").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            csp_source("com.example.app:/oauth").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(csp_source("https://a;b/"), None);
    }

    #[test]
    fn the_three_policies() {
        let policy = |csp: Csp<'_>| csp.header_value().unwrap();
        assert_eq!(
            policy(Csp::error_page()),
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(
            policy(Csp::form_page("http://127.0.0.1:7000/cb")),
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:7000; frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(
            policy(Csp::form_page("https://a;b/")),
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(
            policy(Csp::form_post("n0nce")),
            "default-src 'none'; script-src 'nonce-n0nce'; frame-ancestors 'none'; base-uri 'none'"
        );
    }
}
