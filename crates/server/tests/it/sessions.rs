//! The browser's session and the pages' CSRF tokens: tokens bound to the
//! session (or pre-session) cookie, session ids rotated at sign-in and at
//! the second factor, one session per browser, the exact cookies over
//! http and https, and sign-out (`/oauth2/logout`, `/oauth2/v2.0/logout`). Cookies are kept by hand here (`Jar`), so a test can
//! plant one, replay an old one, or read a Secure cookie over loopback.

use std::collections::BTreeMap;

use crate::harness::*;

const WEB_CALLBACK: &str = "http://localhost:5000/callback";
const SESSION_LIFETIME: &str = "28800";

fn web_url(server: &TestServer) -> String {
    server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "s"),
        ],
    )
}

/// A browser whose cookies the test holds: what the server set, by name.
#[derive(Default, Clone)]
struct Jar {
    cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` of the last response, as sent.
    last_set: Vec<String>,
}

impl Jar {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn take(&mut self, response: &reqwest::Response) {
        self.last_set = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for set in &self.last_set {
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// The value the last response set for `name`.
    fn set_value(&self, name: &str) -> Option<String> {
        self.last_set.iter().find_map(|set| {
            let pair = set.split(';').next()?;
            let (n, v) = pair.split_once('=')?;
            (n == name).then(|| v.to_owned())
        })
    }
}

/// No cookie store, no redirects: the `Jar` is the only cookie source.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn open(server: &TestServer, jar: &mut Jar, url: &str) -> Outcome {
    let url = if url.starts_with('/') {
        format!("{}{url}", server.base)
    } else {
        url.to_owned()
    };
    let mut request = plain_client().get(url);
    if !jar.cookies.is_empty() {
        request = request.header("cookie", jar.header());
    }
    let response = request.send().await.unwrap();
    jar.take(&response);
    Outcome::read(response).await
}

/// Posts the form of `page` with its hidden fields, `fields` replacing or
/// adding to them.
async fn post(server: &TestServer, jar: &mut Jar, page: &str, fields: &[(&str, &str)]) -> Outcome {
    let action = unescape(between(page, "<form method=\"post\" action=\"", "\"").unwrap());
    let mut pairs: Vec<(String, String)> = hidden_fields(page)
        .into_iter()
        .filter(|(name, _)| !fields.iter().any(|(n, _)| n == name))
        .collect();
    pairs.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut request = plain_client()
        .post(format!("{}{action}", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&pairs));
    if !jar.cookies.is_empty() {
        request = request.header("cookie", jar.header());
    }
    let response = request.send().await.unwrap();
    jar.take(&response);
    Outcome::read(response).await
}

fn field(page: &str, name: &str) -> String {
    hidden_fields(page)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} field"))
}

/// Signs `user` in from a fresh sign-in page: the 303's location.
async fn sign_in(
    server: &TestServer,
    jar: &mut Jar,
    url: &str,
    user: &str,
    password: &str,
) -> String {
    let page = open(server, jar, url).await;
    assert!(page.page().contains("id=\"signin\""), "{page:?}");
    let posted = post(
        server,
        jar,
        page.page(),
        &[("username", user), ("password", password)],
    )
    .await;
    let Outcome::SeeOther { location, .. } = posted else {
        panic!("sign-in did not answer 303: {posted:?}")
    };
    location
}

/// What a browser holding only the session cookie `value` gets at `url`.
async fn with_only_session(server: &TestServer, name: &str, value: &str, url: &str) -> Outcome {
    let mut jar = Jar::default();
    jar.cookies.insert(name.into(), value.into());
    open(server, &mut jar, url).await
}

fn is_sign_in_page(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Page { html, .. } if html.contains("id=\"signin\""))
}

#[tokio::test]
async fn a_csrf_token_from_another_browser_is_refused_even_with_its_cookie_planted() {
    let server = TestServer::start().await;
    let url = web_url(&server);
    // The attacker's own browser: a sign-in page, its token and cookies.
    let mut attacker = Jar::default();
    let page = open(&server, &mut attacker, &url).await;
    let attackers_token = field(page.page(), "lk_csrf");
    // The victim, signed in, on the consent page.
    let mut victim = Jar::default();
    let location = sign_in(
        &server,
        &mut victim,
        &url,
        "nora@contoso.example",
        "nora-password",
    )
    .await;
    let consent = open(&server, &mut victim, &location).await;
    assert!(consent.page().contains("id=\"consent\""));
    // The attacker's token, with the attacker's cookies planted beside
    // the victim's session: the consent page again, no code.
    let mut planted = victim.clone();
    for (name, value) in &attacker.cookies {
        planted.cookies.insert(name.clone(), value.clone());
    }
    let forged = post(
        &server,
        &mut planted,
        consent.page(),
        &[("consent", "accept"), ("lk_csrf", &attackers_token)],
    )
    .await;
    assert!(
        matches!(&forged, Outcome::Page { status: 200, html, .. } if html.contains("id=\"consent\"")),
        "{forged:?}"
    );
    // Nor does the attacker's token work with the victim's own cookies.
    let forged = post(
        &server,
        &mut victim.clone(),
        consent.page(),
        &[("consent", "accept"), ("lk_csrf", &attackers_token)],
    )
    .await;
    assert!(!matches!(forged, Outcome::Redirect { .. }), "{forged:?}");
    // The victim's own form still works.
    let accepted = post(
        &server,
        &mut victim,
        consent.page(),
        &[("consent", "accept")],
    )
    .await;
    assert!(accepted.delivered().contains_key("code"));
}

#[tokio::test]
async fn a_planted_cookie_and_field_pair_signs_nobody_in() {
    let server = TestServer::start().await;
    let url = web_url(&server);
    let mut fresh = Jar::default();
    let page = open(&server, &mut fresh, &url).await;
    // Login CSRF: the attacker's own credentials, a made-up token, and the
    // same value planted as every cookie a token could be checked against.
    let mut victim = Jar::default();
    for name in ["lk_presession", "lk_csrf"] {
        victim.cookies.insert(name.into(), "planted".into());
    }
    let posted = post(
        &server,
        &mut victim,
        page.page(),
        &[
            ("username", "frank@contoso.example"),
            ("password", "frank-password"),
            ("lk_csrf", "planted"),
        ],
    )
    .await;
    let Outcome::Page {
        status: 200, html, ..
    } = &posted
    else {
        panic!("{posted:?}")
    };
    assert!(html.contains("This page has expired. Please try again."));
    assert_eq!(victim.set_value("lk_session"), None);
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_at_the_second_factor() {
    let server = TestServer::start().await;
    let url = web_url(&server);
    let mut jar = Jar::default();
    let page = open(&server, &mut jar, &url).await;
    let posted = post(
        &server,
        &mut jar,
        page.page(),
        &[
            ("username", "mia@contoso.example"),
            ("password", "mia-password"),
        ],
    )
    .await;
    let Outcome::SeeOther { location, .. } = posted else {
        panic!("{posted:?}")
    };
    let signed_in = jar.get("lk_session").unwrap().to_owned();
    let mfa = open(&server, &mut jar, &location).await;
    assert!(mfa.page().contains("id=\"mfa\""));
    // The CSRF token changed with the binding.
    assert_ne!(field(mfa.page(), "lk_csrf"), field(page.page(), "lk_csrf"));
    let posted = post(
        &server,
        &mut jar,
        mfa.page(),
        &[("otp", &crate::harness::totp_now())],
    )
    .await;
    let Outcome::SeeOther { location, .. } = posted else {
        panic!("{posted:?}")
    };
    let raised = jar
        .set_value("lk_session")
        .expect("a new session cookie at the second factor");
    assert_ne!(raised, signed_in);
    // The password-only session is gone: it does not even sign in.
    assert!(is_sign_in_page(
        &with_only_session(&server, "lk_session", &signed_in, &url).await
    ));
    // The raised one goes on to consent, with no second factor asked.
    let consent = with_only_session(&server, "lk_session", &raised, &location).await;
    assert!(consent.page().contains("id=\"consent\""), "{consent:?}");
    // A form rendered for the old session is refused with the new one.
    let stale = post(
        &server,
        &mut jar.clone(),
        consent.page(),
        &[
            ("lk_csrf", &field(mfa.page(), "lk_csrf")),
            ("consent", "accept"),
        ],
    )
    .await;
    assert!(!matches!(stale, Outcome::Redirect { .. }), "{stale:?}");
    let code = post(&server, &mut jar, consent.page(), &[("consent", "accept")]).await;
    assert!(code.delivered().contains_key("code"));
    // Signing in again (prompt=login) replaces the raised session too.
    sign_in(
        &server,
        &mut jar,
        &format!("{url}&prompt=login"),
        "mia@contoso.example",
        "mia-password",
    )
    .await;
    assert_ne!(jar.get("lk_session").unwrap(), raised);
    assert!(is_sign_in_page(
        &with_only_session(&server, "lk_session", &raised, &url).await
    ));
}

#[tokio::test]
async fn signing_in_as_another_user_ends_the_first_session() {
    let server = TestServer::start().await;
    let url = web_url(&server);
    let mut jar = Jar::default();
    let location = sign_in(
        &server,
        &mut jar,
        &url,
        "nora@contoso.example",
        "nora-password",
    )
    .await;
    let nora = jar.get("lk_session").unwrap().to_owned();
    assert!(
        open(&server, &mut jar, &location)
            .await
            .page()
            .contains("id=\"consent\"")
    );
    // Frank signs in in the same browser (prompt=login shows the page).
    let location = sign_in(
        &server,
        &mut jar,
        &format!("{url}&prompt=login"),
        "frank@contoso.example",
        "frank-password",
    )
    .await;
    let frank = jar.get("lk_session").unwrap().to_owned();
    assert_ne!(frank, nora);
    let consent = open(&server, &mut jar, &location).await;
    assert!(
        consent
            .page()
            .contains("on behalf of frank@contoso.example")
    );
    // Nora's cookie, replayed, no longer signs anyone in.
    assert!(is_sign_in_page(
        &with_only_session(&server, "lk_session", &nora, &url).await
    ));
    let silent =
        with_only_session(&server, "lk_session", &nora, &format!("{url}&prompt=none")).await;
    assert_eq!(silent.delivered()["error"], "login_required");
}

/// `set` with the cookie's value replaced by `V`, after checking the value
/// is 256 bits of base64url.
fn shape(set: &str) -> String {
    let value = set.split(';').next().unwrap().split_once('=').unwrap().1;
    if value.is_empty() {
        return set.to_owned();
    }
    assert_eq!(value.len(), 43, "{set}");
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    set.replacen(value, "V", 1)
}

/// The cookies of a sign-in (and of Mia's second factor) at `server`,
/// each `Set-Cookie` with its value replaced by `V`.
async fn cookies_of_a_sign_in(server: &TestServer) -> Vec<Vec<String>> {
    let url = web_url(server);
    let mut jar = Jar::default();
    let page = open(server, &mut jar, &url).await;
    let page_cookies = jar.last_set.iter().map(|s| shape(s)).collect();
    let posted = post(
        server,
        &mut jar,
        page.page(),
        &[
            ("username", "mia@contoso.example"),
            ("password", "mia-password"),
        ],
    )
    .await;
    let Outcome::SeeOther { location, .. } = posted else {
        panic!("{posted:?}")
    };
    let sign_in_cookies = jar.last_set.iter().map(|s| shape(s)).collect();
    let mfa = open(server, &mut jar, &location).await;
    assert!(jar.last_set.is_empty(), "{:?}", jar.last_set);
    post(
        server,
        &mut jar,
        mfa.page(),
        &[("otp", &crate::harness::totp_now())],
    )
    .await;
    // Its Max-Age is what is left of the session: the same second, or the next.
    let mfa_cookies = jar
        .last_set
        .iter()
        .map(|s| shape(s).replace("Max-Age=28799", "Max-Age=28800"))
        .collect();
    vec![page_cookies, sign_in_cookies, mfa_cookies]
}

#[tokio::test]
async fn the_cookies_byte_for_byte_over_http_and_https() {
    let server = TestServer::start().await;
    assert_eq!(
        cookies_of_a_sign_in(&server).await,
        [
            vec!["lk_presession=V; HttpOnly; SameSite=Strict; Path=/".to_owned()],
            vec![
                format!("lk_session=V; HttpOnly; SameSite=Lax; Path=/; Max-Age={SESSION_LIFETIME}"),
                "lk_presession=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0".to_owned(),
            ],
            vec![format!(
                "lk_session=V; HttpOnly; SameSite=Lax; Path=/; Max-Age={SESSION_LIFETIME}"
            )],
        ]
    );
    // Reached over https: `__Host-` cookies, Secure, Path=/, no Domain.
    let server =
        TestServer::start_with(|c| c.public_url = "https://login.contoso.test".into()).await;
    assert_eq!(
        cookies_of_a_sign_in(&server).await,
        [
            vec!["__Host-lk_presession=V; HttpOnly; SameSite=Strict; Secure; Path=/".to_owned()],
            vec![
                format!(
                    "__Host-lk_session=V; HttpOnly; SameSite=None; Secure; Path=/; Max-Age={SESSION_LIFETIME}"
                ),
                "__Host-lk_presession=; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=0"
                    .to_owned(),
            ],
            vec![format!(
                "__Host-lk_session=V; HttpOnly; SameSite=None; Secure; Path=/; Max-Age={SESSION_LIFETIME}"
            )],
        ]
    );
    // Over https the plain names mean nothing: a planted `lk_session`
    // (what an http page or a sibling domain could set) is not read.
    let url = web_url(&server);
    let mut jar = Jar::default();
    sign_in(
        &server,
        &mut jar,
        &url,
        "nora@contoso.example",
        "nora-password",
    )
    .await;
    let session = jar.get("__Host-lk_session").unwrap().to_owned();
    assert!(is_sign_in_page(
        &with_only_session(&server, "lk_session", &session, &url).await
    ));
    assert!(!is_sign_in_page(
        &with_only_session(&server, "__Host-lk_session", &session, &url).await
    ));
}

/// Nora signed in to WEB (consented, a code issued with `openid`): her
/// browser's cookies, and the ID token the code redeems for.
async fn nora_signed_in_to_web(server: &TestServer) -> (Jar, String) {
    let url = format!("{}&scope=openid", web_url(server));
    let mut jar = Jar::default();
    let location = sign_in(
        server,
        &mut jar,
        &url,
        "nora@contoso.example",
        "nora-password",
    )
    .await;
    let mut outcome = open(server, &mut jar, &location).await;
    if matches!(outcome, Outcome::Page { .. }) {
        outcome = post(server, &mut jar, outcome.page(), &[("consent", "accept")]).await;
    }
    let code = outcome.delivered()["code"].clone();
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
                ("redirect_uri", WEB_CALLBACK),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    (jar, body["id_token"].as_str().unwrap().to_owned())
}

/// A sign-out request from a browser holding `jar`'s cookies.
async fn sign_out(
    server: &TestServer,
    jar: &Jar,
    path: &str,
    query: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = plain_client().get(format!("{}{path}?{}", server.base, form(query)));
    if !jar.cookies.is_empty() {
        request = request.header("cookie", jar.header());
    }
    request.send().await.unwrap()
}

fn headers_of(response: &reqwest::Response) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !["date", "x-ms-request-id", "content-length"].contains(&name.as_str()))
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

const ENDED_SESSION: &str = "lk_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0";

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = list
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

/// The signed-out page, byte for byte in its headers.
async fn assert_signed_out_page(response: reqwest::Response) {
    assert_eq!(response.status(), 200);
    assert_eq!(
        headers_of(&response),
        pairs(&[
            ("cache-control", "no-store"),
            (
                "content-security-policy",
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ),
            ("content-type", "text/html; charset=utf-8"),
            ("referrer-policy", "no-referrer"),
            ("set-cookie", ENDED_SESSION),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
        ])
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<main id=\"signed-out\">\n  <h1>You signed out of your account</h1>"),
        "{html}"
    );
}

#[tokio::test]
async fn sign_out_without_a_client_returns_to_an_app_the_session_signed_in_to() {
    let server = TestServer::start().await;
    let (jar, _) = nora_signed_in_to_web(&server).await;
    let session = jar.get("lk_session").unwrap().to_owned();
    // msal-browser's plain `logoutRedirect`: neither client_id nor id_token_hint.
    let response = sign_out(
        &server,
        &jar,
        &format!("/{TENANT}/oauth2/v2.0/logout"),
        &[
            ("post_logout_redirect_uri", WEB_CALLBACK),
            ("state", "bye now"),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        headers_of(&response),
        pairs(&[
            ("cache-control", "no-store"),
            ("location", "http://localhost:5000/callback?state=bye+now"),
            ("set-cookie", ENDED_SESSION),
        ])
    );
    // The session is over: its cookie signs nobody in any more.
    assert!(is_sign_in_page(
        &with_only_session(&server, "lk_session", &session, &web_url(&server)).await
    ));
    // Once it is over, nothing vouches for the URI: the signed-out page.
    let again = sign_out(
        &server,
        &jar,
        &format!("/{TENANT}/oauth2/logout"),
        &[("post_logout_redirect_uri", WEB_CALLBACK)],
    )
    .await;
    assert_signed_out_page(again).await;
}

#[tokio::test]
async fn sign_out_never_redirects_where_no_app_registered() {
    let server = TestServer::start().await;
    let (jar, id_token) = nora_signed_in_to_web(&server).await;
    for query in [
        // Not registered for anyone.
        vec![("post_logout_redirect_uri", "https://evil.example/")],
        vec![
            ("post_logout_redirect_uri", "https://evil.example/"),
            ("client_id", WEB),
        ],
        vec![
            ("post_logout_redirect_uri", "https://evil.example/"),
            ("id_token_hint", id_token.as_str()),
        ],
        // Registered for WEB, but the request names CLI, which did not.
        vec![
            ("post_logout_redirect_uri", WEB_CALLBACK),
            ("client_id", CLI),
        ],
        // Registered for WEB, an app of another tenant than the path's.
        vec![
            ("post_logout_redirect_uri", WEB_CALLBACK),
            ("client_id", WEB),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let (index, query) = query;
        let tenant = if index == 4 {
            "fabrikam.example"
        } else {
            TENANT
        };
        let response = sign_out(
            &server,
            &jar,
            &format!("/{tenant}/oauth2/v2.0/logout"),
            &query,
        )
        .await;
        assert_eq!(response.status(), 200, "{query:?}");
        assert_signed_out_page(response).await;
    }
}

#[tokio::test]
async fn sign_out_naming_the_client_returns_to_its_uri_with_or_without_a_session() {
    let server = TestServer::start().await;
    let (_, id_token) = nora_signed_in_to_web(&server).await;
    let nobody = Jar::default();
    // client_id, with no session at all.
    let response = sign_out(
        &server,
        &nobody,
        &format!("/{TENANT}/oauth2/logout"),
        &[
            ("post_logout_redirect_uri", WEB_CALLBACK),
            ("client_id", WEB),
            ("state", "s1"),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "http://localhost:5000/callback?state=s1"
    );
    // A valid id_token_hint names WEB; a forged one names nobody.
    let response = sign_out(
        &server,
        &nobody,
        &format!("/{TENANT}/oauth2/v2.0/logout"),
        &[
            ("post_logout_redirect_uri", WEB_CALLBACK),
            ("id_token_hint", &id_token),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], WEB_CALLBACK);
    let (signed, _) = id_token.rsplit_once('.').unwrap();
    let forged = format!("{signed}.AAAA");
    let response = sign_out(
        &server,
        &nobody,
        &format!("/{TENANT}/oauth2/v2.0/logout"),
        &[
            ("post_logout_redirect_uri", WEB_CALLBACK),
            ("id_token_hint", &forged),
        ],
    )
    .await;
    assert_signed_out_page(response).await;
    // POST, as a form, works as GET does.
    let response = plain_client()
        .post(format!("{}/{TENANT}/oauth2/v2.0/logout", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("post_logout_redirect_uri", WEB_CALLBACK),
            ("client_id", WEB),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], WEB_CALLBACK);
}

#[tokio::test]
async fn a_session_that_signed_in_to_no_app_vouches_for_no_uri() {
    let server = TestServer::start().await;
    // Signed in, but stopped at the consent page: no code, no app.
    let mut jar = Jar::default();
    let location = sign_in(
        &server,
        &mut jar,
        &web_url(&server),
        "nora@contoso.example",
        "nora-password",
    )
    .await;
    assert!(
        open(&server, &mut jar, &location)
            .await
            .page()
            .contains("id=\"consent\"")
    );
    let response = sign_out(
        &server,
        &jar,
        &format!("/{TENANT}/oauth2/v2.0/logout"),
        &[("post_logout_redirect_uri", WEB_CALLBACK)],
    )
    .await;
    assert_signed_out_page(response).await;
}
