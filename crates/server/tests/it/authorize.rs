//! The authorization endpoint: the error page, redirect errors in every
//! response mode, the pages a person uses, and redirect-URI safety.

use crate::harness::*;

const WEB_CALLBACK: &str = "http://localhost:5000/callback";
const CLI_CALLBACK: &str = "http://localhost:7000/cb";
const LEGACY: &str = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// A state full of characters that break naive encoders.
fn nasty_state() -> String {
    let mut state = String::from("D79E5777-702E-4260-9A62-37F75FF22CCE ");
    while state.len() < 1500 {
        state.push_str("&=+%#?/\\\"'<>é漢 ;,");
    }
    state
}

/// Asserts the error page: status, no Location, and the machine-readable
/// document (ids consistent with the data attributes).
fn assert_error_page(outcome: &Outcome, status: u16, error: &str, aadsts: u32, message: &str) {
    let Outcome::Page {
        status: got,
        html,
        headers,
    } = outcome
    else {
        panic!("expected the error page: {outcome:?}")
    };
    assert_eq!(*got, status);
    assert!(!headers.contains_key("location"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let doc = error_page_document(html);
    assert_eq!(doc["error"], error);
    assert_eq!(doc["error_codes"], serde_json::json!([aadsts]));
    let trace_id = doc["trace_id"].as_str().unwrap();
    assert_eq!(headers["x-ms-request-id"], trace_id);
    assert!(html.contains(&format!("data-trace-id=\"{trace_id}\"")));
    assert!(html.contains(&format!("data-error=\"{error}\"")));
    let description = doc["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{aadsts}: {message}")),
        "{description}"
    );
    assert!(description.contains(&format!("Trace ID: {trace_id}")));
}

#[tokio::test]
async fn untrusted_requests_get_the_error_page_and_no_redirect() {
    let server = TestServer::start().await;
    let b = server.browser();
    let base = [
        ("response_type", "code"),
        ("resource", FILES),
        ("state", "s"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut params: Vec<(&str, &str)> = extra.to_vec();
        params.extend_from_slice(&base);
        server.authorize_url(TENANT, &params)
    };
    let stranger = "11111111-2222-3333-4444-555555555555";
    let cases: Vec<(String, u32, String)> = vec![
        (with(&[("client_id", stranger), ("redirect_uri", WEB_CALLBACK)]), 700016, format!("Application with identifier '{stranger}' was not found in the directory '{TENANT}'.")),
        (with(&[("client_id", WEB)]), 900971, format!("No reply address provided. The application '{WEB}' has several redirect URIs registered")),
        (with(&[("client_id", WEB), ("redirect_uri", "http://localhost:5000/callback/")]), 50011, "The redirect URI 'http://localhost:5000/callback/' specified in the request does not match".into()),
        (with(&[("client_id", WEB), ("redirect_uri", "localhost:5000 /callback")]), 90102, "'redirect_uri' value must be a valid absolute URI without a fragment.".into()),
        (with(&[("client_id", WEB), ("redirect_uri", "http://localhost:5000/callback#x")]), 90102, "'redirect_uri' value must be a valid absolute URI".into()),
        (with(&[("client_id", WEB), ("client_id", WEB), ("redirect_uri", WEB_CALLBACK)]), 9002313, "Invalid request. The parameter 'client_id' is present more than once.".into()),
        (with(&[("client_id", WEB), ("redirect_uri", WEB_CALLBACK), ("redirect_uri", WEB_CALLBACK)]), 9002313, "Invalid request. The parameter 'redirect_uri' is present more than once.".into()),
        (with(&[("client_id", WEB), ("redirect_uri", WEB_CALLBACK), ("state", "other")]), 9002313, "Invalid request. The parameter 'state' is present more than once.".into()),
        (with(&[("redirect_uri", WEB_CALLBACK)]), 90014, "The request body must contain the following parameter: 'client_id'.".into()),
        // A client of another tenant is unknown in this one.
        (server.authorize_url(STRICT_TENANT, &[("client_id", WEB), ("redirect_uri", WEB_CALLBACK)]), 700016, format!("Application with identifier '{WEB}' was not found in the directory '{STRICT_TENANT}'.")),
    ];
    for (url, aadsts, message) in cases {
        let outcome = server.open(&b, &url).await;
        let status = if url.contains(STRICT_TENANT) {
            400
        } else {
            200
        };
        let error = if aadsts == 700016 {
            "unauthorized_client"
        } else {
            "invalid_request"
        };
        assert_error_page(&outcome, status, error, aadsts, &message);
    }
    let outcome = server
        .open(
            &b,
            &format!(
                "{}/nowhere.example/oauth2/authorize?client_id={WEB}",
                server.base
            ),
        )
        .await;
    assert_error_page(
        &outcome,
        200,
        "invalid_request",
        90002,
        "Tenant 'nowhere.example' not found.",
    );
}

/// Mutations of a registered redirect URI, none of which may be redirected to.
fn mutations(uri: &str) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    let chars: Vec<char> = uri.chars().collect();
    for i in 0..chars.len() {
        if chars[i].is_ascii_alphabetic() {
            let mut c = chars.clone();
            c[i] = if c[i].is_ascii_lowercase() {
                c[i].to_ascii_uppercase()
            } else {
                c[i].to_ascii_lowercase()
            };
            out.insert(c.into_iter().collect::<String>());
        }
        for insert in [
            '/', '.', '%', '@', ':', '?', '#', ' ', 'x', '\\', '~', ';', '&', '=', '0', '-', '_',
            '!', '$', '*',
        ] {
            let mut c = chars.clone();
            c.insert(i + 1, insert);
            out.insert(c.into_iter().collect::<String>());
        }
        let mut c = chars.clone();
        c.remove(i);
        out.insert(c.into_iter().collect::<String>());
    }
    let (scheme, rest) = uri.split_once("://").unwrap();
    let (host_port, path) = rest.split_once('/').unwrap();
    let host = host_port.split(':').next().unwrap();
    for extra in [
        format!("{uri}/"),
        format!("{uri}//"),
        format!("{uri}?a=1"),
        format!("{uri}?"),
        format!("{uri}#frag"),
        format!("{uri}/.."),
        format!("{uri}/../callback"),
        format!("{uri}%2e%2e"),
        format!("{uri}/%2E%2E/"),
        format!("{scheme}://{host}/{path}"),
        format!("{scheme}://{host}:80/{path}"),
        format!("{scheme}://{host}:5001/{path}"),
        format!("https://{host_port}/{path}"),
        format!("{scheme}://user@{host_port}/{path}"),
        format!("{scheme}://user:pw@{host_port}/{path}"),
        format!("{scheme}://{host}.evil.example:5000/{path}"),
        format!("{scheme}://evil.{host}:5000/{path}"),
        format!("{scheme}://{host_port}.evil.example/{path}"),
        format!("{scheme}://127.0.0.1:5000/{path}"),
        format!("{scheme}://[::1]:5000/{path}"),
        format!("{scheme}://{host_port}/./{path}"),
        format!("{scheme}://{host_port}/{path}%2f"),
        format!("{scheme}://{host_port}%2f{path}"),
        format!("{uri} "),
        format!(" {uri}"),
        format!("{uri}\u{0}"),
        format!("{uri}%00"),
        format!("{scheme}:/{host_port}/{path}"),
        format!("{scheme}:{host_port}/{path}"),
        uri.replace("localhost", "locaIhost").to_string(),
        uri.replace("localhost", "lоcalhost").to_string(),
    ] {
        out.insert(extra);
    }
    out.remove(uri);
    out.into_iter().collect()
}

#[tokio::test]
async fn five_hundred_mutated_redirect_uris_never_get_a_location() {
    let server = TestServer::start().await;
    let b = server.browser();
    let variants = mutations(CLI_CALLBACK);
    assert!(variants.len() >= 500, "only {} mutations", variants.len());
    for variant in &variants {
        let url = server.authorize_url(
            TENANT,
            &[
                ("client_id", CLI),
                ("redirect_uri", variant),
                ("response_type", "code"),
                ("state", "s"),
            ],
        );
        let response = b.get(&url).send().await.unwrap();
        assert!(
            response.headers().get("location").is_none(),
            "redirected to {variant:?}"
        );
        assert!(
            [200u16].contains(&response.status().as_u16()),
            "{variant:?}: {}",
            response.status()
        );
        let html = response.text().await.unwrap();
        let doc = error_page_document(&html);
        assert!(
            [50011, 90102].contains(&doc["error_codes"][0].as_u64().unwrap()),
            "{variant:?}: {doc}"
        );
    }
}

/// Extra parameters, the error, its AADSTS number and the message's start.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, u32, String);

/// The request parameters of a confidential client's authorization request.
fn web_request<'a>(mode: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", WEB),
        ("redirect_uri", WEB_CALLBACK),
        ("response_mode", mode),
        ("state", state),
    ]
}

#[tokio::test]
async fn errors_go_back_to_the_client_with_the_state_in_every_response_mode() {
    let server = TestServer::start().await;
    let b = server.browser();
    let state = nasty_state();
    let plain_challenge = "a".repeat(43);
    for mode in ["query", "fragment", "form_post"] {
        let cases: Vec<Case<'_>> = vec![
            (vec![("resource", FILES)], "invalid_request", 90014, "The request body must contain the following parameter: 'response_type'.".into()),
            (vec![("response_type", "token"), ("resource", FILES)], "unsupported_response_type", 70005, "The response_type 'token' is not supported.".into()),
            (vec![("response_type", "code")], "invalid_request", 90014, "The request body must contain the following parameter: 'resource'.".into()),
            (vec![("response_type", "code"), ("resource", "https://nope.example/")], "invalid_resource", 500011, format!("The resource principal named https://nope.example/ was not found in the tenant named {TENANT}.")),
            (vec![("response_type", "code"), ("resource", FILES), ("scope", "openid Files.Delete")], "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope Files.Delete is not valid.".into()),
            (vec![("response_type", "code"), ("resource", FILES), ("code_challenge", "abc"), ("code_challenge_method", "S256")], "invalid_request", 9002313, "Invalid request. The code_challenge must be 43 to 128 characters".into()),
            (vec![("response_type", "code"), ("resource", FILES), ("code_challenge", &plain_challenge)], "invalid_request", 9002313, "Invalid request. The code_challenge_method 'plain' is not supported; use 'S256'.".into()),
            (vec![("response_type", "code"), ("resource", FILES), ("prompt", "maybe")], "invalid_request", 90023, "Unsupported 'prompt' value 'maybe'.".into()),
            (vec![("response_type", "code"), ("resource", FILES), ("prompt", "none")], "login_required", 50058, "A silent sign-in request was sent but no user is signed in.".into()),
            (vec![("response_type", "code"), ("resource", FILES), ("resource", FILES)], "invalid_request", 9002313, "Invalid request. The parameter 'resource' is present more than once.".into()),
        ];
        for (extra, error, aadsts, message) in cases {
            let mut params = web_request(mode, &state);
            params.extend(extra);
            let outcome = server
                .open(&b, &server.authorize_url(TENANT, &params))
                .await;
            match (&outcome, mode) {
                (Outcome::Redirect { location, .. }, "query") => {
                    assert!(location.starts_with(&format!("{WEB_CALLBACK}?error=")))
                }
                (Outcome::Redirect { location, .. }, "fragment") => {
                    assert!(location.starts_with(&format!("{WEB_CALLBACK}#error=")))
                }
                (Outcome::FormPost { action, .. }, "form_post") => assert_eq!(action, WEB_CALLBACK),
                other => panic!("{mode}: unexpected {other:?}"),
            }
            let delivered = outcome.delivered();
            assert_eq!(delivered["error"], error, "{mode} {aadsts}");
            assert_eq!(
                delivered["state"], state,
                "the state comes back byte for byte"
            );
            let description = &delivered["error_description"];
            assert!(
                description.starts_with(&format!("AADSTS{aadsts}: {message}")),
                "{description}"
            );
            assert!(
                description.contains("\r\nTrace ID: ")
                    && description.contains("\r\nCorrelation ID: ")
                    && description.contains("\r\nTimestamp: ")
            );
            assert_eq!(
                delivered.len(),
                3,
                "error, error_description, state: {delivered:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_response_mode_is_reported_by_query() {
    let server = TestServer::start().await;
    let outcome = server
        .open(
            &server.browser(),
            &server.authorize_url(
                TENANT,
                &[
                    ("client_id", WEB),
                    ("redirect_uri", WEB_CALLBACK),
                    ("response_mode", "web_message"),
                    ("response_type", "code"),
                    ("resource", FILES),
                    ("state", "s"),
                ],
            ),
        )
        .await;
    let Outcome::Redirect { location, params } = outcome else {
        panic!()
    };
    assert!(location.starts_with(&format!("{WEB_CALLBACK}?")));
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].starts_with(
        "AADSTS9002313: Invalid request. The response_mode 'web_message' is not supported"
    ));
}

#[tokio::test]
async fn client_conditions_are_reported_to_the_client() {
    let server = TestServer::start().await;
    let b = server.browser();
    // Legacy may not use the code flow.
    let outcome = server
        .open(
            &b,
            &server.authorize_url(
                TENANT,
                &[
                    ("client_id", LEGACY),
                    ("response_type", "code"),
                    ("resource", FILES),
                    ("state", "s"),
                ],
            ),
        )
        .await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["error"], "unauthorized_client");
    assert!(delivered["error_description"].starts_with(&format!("AADSTS70000: The application '{LEGACY}' is not allowed to use the grant type 'authorization_code'.")));
    // A public client without PKCE.
    let outcome = server
        .open(
            &b,
            &server.authorize_url(
                TENANT,
                &[
                    ("client_id", CLI),
                    ("response_type", "code"),
                    ("resource", FILES),
                    ("state", "s"),
                ],
            ),
        )
        .await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["error"], "invalid_request");
    assert!(
        delivered["error_description"].starts_with(
            "AADSTS9002325: Proof Key for Code Exchange is required for public clients"
        )
    );
    assert_eq!(delivered["state"], "s");
}

#[tokio::test]
async fn the_seeds_sample_redirect_shape() {
    // seeds/001: a request missing response_type, answered by 302 to the
    // client with error, error_description and the state.
    let server = TestServer::start().await;
    let state = "D79E5777-702E-4260-9A62-37F75FF22CCE";
    let response = server
        .browser()
        .get(server.authorize_url(
            TENANT,
            &[
                ("client_id", CLI),
                ("redirect_uri", CLI_CALLBACK),
                ("state", state),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let trace = response.headers()["x-ms-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let prefix = format!(
        "{CLI_CALLBACK}?error=invalid_request&error_description=AADSTS90014%3a+The+request+body+must+contain+the+following+parameter%3a+%27response_type%27.%0d%0aTrace+ID%3a+{trace}%0d%0aCorrelation+ID%3a+"
    );
    assert!(location.starts_with(&prefix), "{location}");
    assert!(
        location.ends_with(&format!("Z&state={state}")),
        "{location}"
    );
}

#[tokio::test]
async fn a_person_signs_in_consents_and_the_code_redeems_for_tokens() {
    let server = TestServer::start().await;
    let b = server.browser();
    let state = nasty_state();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", CLI),
            ("redirect_uri", CLI_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("scope", "openid Files.Read"),
            ("state", &state),
            ("nonce", "n-0S6_WzA2Mj"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", "nora@contoso.example"),
            ("x-unknown-extra", "ignored"),
        ],
    );
    // The sign-in page, with the hint and the security headers.
    let page = server.open(&b, &url).await;
    let Outcome::Page {
        status: 200,
        html,
        headers,
    } = &page
    else {
        panic!("{page:?}")
    };
    assert!(html.contains("value=\"nora@contoso.example\""));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    // A wrong password shows the page again, with an alert, and no session.
    let again = server
        .submit(
            &b,
            html,
            &[("username", "nora@contoso.example"), ("password", "wrong")],
        )
        .await;
    assert!(
        again.page().contains("role=\"alert\"")
            && again
                .page()
                .contains("Your account or password is incorrect.")
    );
    // The right one: 303 with the session cookie, then the consent page.
    let posted = server
        .submit(
            &b,
            again.page(),
            &[
                ("username", "nora@contoso.example"),
                ("password", "nora-password"),
            ],
        )
        .await;
    let Outcome::SeeOther { location, headers } = &posted else {
        panic!("{posted:?}")
    };
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("lk_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http on loopback");
    let consent = server.open(&b, location).await;
    let html = consent.page();
    assert!(
        html.contains("id=\"consent\"") && html.contains("<li>Files.Read</li>"),
        "{html}"
    );
    // Accept: the code and the state go to the client.
    let outcome = server.submit(&b, html, &[("consent", "accept")]).await;
    let Outcome::Redirect { location, params } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(location.starts_with(&format!("{CLI_CALLBACK}?code=")));
    assert_eq!(params["state"], state);
    let code = &params["code"];
    assert_eq!(code.len(), 43, "256 bits");
    // The code redeems once, with the verifier.
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLI),
                ("code", code),
                ("redirect_uri", CLI_CALLBACK),
                ("code_verifier", verifier),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "Files.Read");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["upn"], "nora@contoso.example");
    assert_eq!(access["scp"], "Files.Read");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], CLI);
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    verify_with_jwks(&server, body["id_token"].as_str().unwrap()).await;
    assert!(body["refresh_token"].is_string());
    // Signed in and consented: the next request goes straight to a code.
    let outcome = server.open(&b, &url).await;
    assert!(outcome.delivered().contains_key("code"));
    // prompt=none works now too.
    let silent = url.replace("login_hint", "prompt=none&lh");
    assert!(
        server
            .open(&b, &silent)
            .await
            .delivered()
            .contains_key("code")
    );
}

#[tokio::test]
async fn cancelling_consent_is_access_denied_with_the_state() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "keep-me"),
        ],
    );
    let consent = server
        .sign_in(&b, &url, "nora@contoso.example", "nora-password")
        .await;
    let outcome = server
        .submit(&b, consent.page(), &[("consent", "cancel")])
        .await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["error"], "access_denied");
    assert!(
        delivered["error_description"]
            .starts_with("AADSTS65004: User declined to consent to access the app.")
    );
    assert_eq!(delivered["state"], "keep-me");
}

#[tokio::test]
async fn a_second_factor_is_asked_for_and_checked() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "s"),
        ],
    );
    let mfa = server
        .sign_in(&b, &url, "mia@contoso.example", "mia-password")
        .await;
    assert!(mfa.page().contains("id=\"mfa\""), "{mfa:?}");
    // Silent requests cannot pass the second factor.
    let silent = server.open(&b, &format!("{url}&prompt=none")).await;
    assert_eq!(silent.delivered()["error"], "interaction_required");
    assert!(silent.delivered()["error_description"].starts_with("AADSTS50076: "));
    let wrong = server.submit(&b, mfa.page(), &[("otp", "000000")]).await;
    let wrong = if wrong.page().contains("That code is not right") {
        wrong
    } else {
        server.submit(&b, mfa.page(), &[("otp", "999999")]).await
    };
    assert!(wrong.page().contains("That code is not right"));
    let totp = crate::harness::totp("JBSWY3DPEHPK3PXP");
    let posted = server
        .submit(
            &b,
            wrong.page(),
            &[("otp", &totp.generate_current().unwrap())],
        )
        .await;
    let Outcome::SeeOther { location, .. } = posted else {
        panic!("{posted:?}")
    };
    let consent = server.open(&b, &location).await;
    let code = server
        .submit(&b, consent.page(), &[("consent", "accept")])
        .await;
    let code = code.delivered()["code"].clone();
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
                ("redirect_uri", WEB_CALLBACK),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn silent_requests_without_consent_are_consent_required() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "s"),
        ],
    );
    let consent = server
        .sign_in(&b, &url, "nora@contoso.example", "nora-password")
        .await;
    assert!(consent.page().contains("id=\"consent\""));
    let silent = server.open(&b, &format!("{url}&prompt=none")).await;
    assert_eq!(silent.delivered()["error"], "consent_required");
    assert!(silent.delivered()["error_description"].starts_with("AADSTS65001: "));
    // prompt=login asks again even with a session.
    let again = server.open(&b, &format!("{url}&prompt=login")).await;
    assert!(again.page().contains("id=\"signin\""));
}

#[tokio::test]
async fn a_form_without_its_csrf_token_signs_nobody_in() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "s"),
        ],
    );
    let page = server.open(&b, &url).await;
    let fields: Vec<(String, String)> = hidden_fields(page.page())
        .into_iter()
        .filter(|(n, _)| n != "lk_csrf")
        .collect();
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.extend([
        ("username", "frank@contoso.example"),
        ("password", "frank-password"),
        ("lk_csrf", "forged"),
    ]);
    let response = b
        .post(format!("{}/{TENANT}/oauth2/authorize", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&pairs))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("lk_session"))
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This page has expired. Please try again.")
    );
}

#[tokio::test]
async fn a_failing_store_is_server_error_at_the_client() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "s"),
        ],
    );
    let url = format!("{url}&scope=Files.Read");
    let consent = server
        .sign_in(&b, &url, "frank@contoso.example", "frank-password")
        .await;
    // Frank consented to Files.Read, so signing in led straight to a code.
    assert!(consent.delivered().contains_key("code"), "{consent:?}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", server.db_path.display()))
        .await
        .unwrap();
    sqlx::query("DROP TABLE auth_codes")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let outcome = server.open(&b, &url).await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["error"], "server_error");
    assert!(
        delivered["error_description"]
            .starts_with("AADSTS50000: There was an error issuing a token")
    );
    assert!(!delivered["error_description"].contains("auth_codes"));
    assert_eq!(delivered["state"], "s");
}

#[tokio::test]
async fn overload_is_temporarily_unavailable_at_the_client() {
    let server = TestServer::start_with(|c| {
        c.max_in_flight = 1;
        c.scenarios = vec![slow_robot(1500)];
    })
    .await;
    let held = server.hold_a_permit();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "busy"),
        ],
    );
    let b = server.browser();
    let mut seen = None;
    for _ in 0..50 {
        let outcome = server.open(&b, &url).await;
        if let Outcome::Redirect { params, .. } = &outcome
            && params.get("error").map(String::as_str) == Some("temporarily_unavailable")
        {
            seen = Some(params.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let params = seen.expect("a temporarily_unavailable redirect while the slot is held");
    assert_eq!(params["state"], "busy");
    assert!(params["error_description"].starts_with("AADSTS90055: "));
    held.await.unwrap();
}

#[tokio::test]
async fn a_tenant_segment_that_is_not_utf8_is_shown_on_the_error_page() {
    let server = TestServer::start().await;
    let url = format!(
        "{}/%FF%FE/oauth2/authorize?client_id={WEB}&response_type=code",
        server.base
    );
    let outcome = server.open(&server.browser(), &url).await;
    assert_error_page(
        &outcome,
        200,
        "invalid_request",
        900023,
        "Specified tenant identifier '%FF%FE' is neither a valid DNS name, nor a valid external domain.",
    );
}

#[tokio::test]
async fn an_authorization_request_may_be_posted_as_a_form() {
    let server = TestServer::start().await;
    let body = form(&[
        ("client_id", WEB),
        ("redirect_uri", WEB_CALLBACK),
        ("resource", FILES),
        ("state", "posted"),
    ]);
    let response = server
        .browser()
        .post(format!("{}/{TENANT}/oauth2/authorize", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let outcome = Outcome::read(response).await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["error"], "invalid_request");
    assert!(delivered["error_description"].starts_with(
        "AADSTS90014: The request body must contain the following parameter: 'response_type'."
    ));
    assert_eq!(delivered["state"], "posted");
    // A body that is not a form cannot be trusted at all: the error page.
    let response = server
        .browser()
        .post(format!("{}/{TENANT}/oauth2/authorize", server.base))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let outcome = Outcome::read(response).await;
    assert_error_page(
        &outcome,
        200,
        "invalid_request",
        9002313,
        "Invalid request. The request body must be of type 'application/x-www-form-urlencoded'.",
    );
}

#[tokio::test]
async fn the_error_pages_json_carries_no_markup_from_a_hostile_redirect_uri() {
    let server = TestServer::start().await;
    let hostile = "http://localhost:5000/<!--<script>alert(1)</script>";
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", hostile),
            ("response_type", "code"),
            ("resource", FILES),
        ],
    );
    let Outcome::Page { html, .. } = server.open(&server.browser(), &url).await else {
        panic!("expected the error page")
    };
    let script = html
        .split("<script type=\"application/json\" id=\"latchkey-error\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    assert!(!script.contains('<'), "{script}");
    let doc = error_page_document(&html);
    assert!(
        doc["error_description"].as_str().unwrap().contains(hostile),
        "{doc}"
    );
}

#[tokio::test]
async fn head_on_the_authorize_endpoint_issues_no_code() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("scope", "Files.Read"),
            ("state", "s"),
        ],
    );
    // Frank is signed in and has consented: a GET goes straight to a code.
    let signed_in = server
        .sign_in(&b, &url, "frank@contoso.example", "frank-password")
        .await;
    assert!(signed_in.delivered().contains_key("code"));
    let head = b.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200, "the error page, without its body");
    assert!(head.headers().get("location").is_none());
    assert_eq!(head.text().await.unwrap(), "");
    // The session is untouched and still leads to a code.
    assert!(server.open(&b, &url).await.delivered().contains_key("code"));
}
