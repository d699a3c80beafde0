//! Client assertions refused, each byte for byte: forgeries (a changed
//! claim, `alg: none`, HMAC keyed with the certificate, an alg that does
//! not fit the key), an unknown or unnamed key, the wrong `aud` or `sub`,
//! a missing claim, the wrong times or too long a life, a secret beside an
//! assertion, and a single-use app's replay.

use serde_json::json;

use super::*;

const CERT_DOCS: &str =
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials";

/// Posts Contoso Daemon's client-credentials request with `assertion`
/// and checks the refusal byte for byte.
async fn refused(server: &TestServer, assertion: &str, expected: Expected<'_>) {
    assert_token_error(client_credentials(server, assertion, FILES).await, expected).await;
}

const NOT_REGISTERED: &str = "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{t}', Please check the certificates registered for app Id 'c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f' in the directory.]";

#[tokio::test]
async fn forged_and_misdirected_certificate_assertions_are_refused() {
    let server = TestServer::start().await;
    let header = msal_python_header();
    let good = daemon_claims(&server);
    let thumbprint = hex(&sha1_thumbprint(&daemon_cert()));

    // A bad signature: the claims changed after signing.
    let signed = daemon_assertion(&header, &good);
    let mut parts: Vec<&str> = signed.split('.').collect();
    let mut altered = good.clone();
    altered["exp"] = json!(unix_now() + 900);
    let altered_claims = b64(&altered);
    parts[1] = &altered_claims;
    let message = format!(
        "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint}']"
    );
    refused(
        &server,
        &parts.join("."),
        Expected::new(401, "invalid_client", 700027, &message),
    )
    .await;

    // An unregistered certificate's thumbprint.
    let other = [7u8; 20];
    let unknown = json!({"alg": "RS256", "x5t": URL_SAFE_NO_PAD.encode(other)});
    let message = NOT_REGISTERED.replace("{t}", &hex(&other));
    refused(
        &server,
        &daemon_assertion(&unknown, &good),
        Expected::new(401, "invalid_client", 700027, &message),
    )
    .await;

    // No thumbprint at all.
    refused(
        &server,
        &daemon_assertion(&json!({"alg": "RS256"}), &good),
        Expected::new(401, "invalid_client", 5002723, "Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header."),
    )
    .await;

    // `aud` another token endpoint.
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token");
    let message = format!(
        "Client assertion audience claim does not match Realm issuer. Review the documentation at {CERT_DOCS} . The audience must be the token endpoint, such as '{}'.",
        server.token_url(TENANT)
    );
    refused(
        &server,
        &daemon_assertion(&header, &wrong_aud),
        Expected::new(401, "invalid_client", 700023, &message),
    )
    .await;

    // `sub` is not the client id.
    let mut wrong_sub = good.clone();
    wrong_sub["sub"] = json!(WEB);
    let message = format!(
        "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at {CERT_DOCS} ."
    );
    refused(
        &server,
        &daemon_assertion(&header, &wrong_sub),
        Expected::new(401, "invalid_client", 700021, &message),
    )
    .await;

    // No `iss`.
    let mut no_iss = good.clone();
    no_iss.as_object_mut().unwrap().remove("iss");
    refused(
        &server,
        &daemon_assertion(&header, &no_iss),
        Expected::new(400, "invalid_request", 90014, "The required field 'iss' is missing from the credential. Ensure that you have all the necessary parameters for the login request."),
    )
    .await;

    // Valid for two hours from its `nbf` (which is not after the request's
    // time): over the cap.
    let mut long = good.clone();
    let start = unix_now();
    long["nbf"] = json!(start);
    long["iat"] = json!(start);
    long["exp"] = json!(start + 7_200);
    refused(
        &server,
        &daemon_assertion(&header, &long),
        Expected::new(401, "invalid_client", 700024, "Client assertion is not within its valid time range: it is valid for 7200 seconds, longer than the 3600 seconds this server accepts. Create assertions that expire sooner; ten minutes is usual."),
    )
    .await;
}

#[tokio::test]
async fn unsigned_and_hmac_forgeries_are_refused_before_any_key_is_used() {
    let server = TestServer::start().await;
    let claims_ = daemon_claims(&server);
    let x5t = URL_SAFE_NO_PAD.encode(sha1_thumbprint(&daemon_cert()));
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "x5t": x5t})),
        b64(&claims_)
    );
    refused(
        &server,
        &none,
        Expected::new(401, "invalid_client", 5002738, "Invalid JWT token. 'none' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256,ES256'"),
    )
    .await;
    // HS256 keyed with the (public) certificate: the classic confusion.
    let hmac = jws(&json!({"alg": "HS256", "x5t": x5t}), &claims_, |m| {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &daemon_cert());
        aws_lc_rs::hmac::sign(&key, m).as_ref().to_vec()
    });
    refused(
        &server,
        &hmac,
        Expected::new(401, "invalid_client", 5002738, "Invalid JWT token. 'HS256' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256,ES256'"),
    )
    .await;
    // ES256 claimed for the RSA certificate: the alg must fit the key.
    let mismatched = daemon_assertion(&json!({"alg": "RS256", "x5t": x5t}), &claims_);
    let (signed, _) = mismatched.rsplit_once('.').unwrap();
    let (_, claims_part) = signed.split_once('.').unwrap();
    let es = format!(
        "{}.{claims_part}.{}",
        b64(&json!({"alg": "ES256", "x5t": x5t})),
        URL_SAFE_NO_PAD.encode([1u8; 64])
    );
    refused(
        &server,
        &es,
        Expected::new(401, "invalid_client", 5002738, "Invalid JWT token. 'ES256' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256'"),
    )
    .await;
    // Not a JWS at all.
    refused(
        &server,
        "not.a-jwt",
        Expected::new(
            400,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        ),
    )
    .await;
}

#[tokio::test]
async fn expired_and_early_assertions_are_refused_with_their_times() {
    let server = TestServer::start().await;
    let header = msal_python_header();
    let now = unix_now();
    let times = |nbf: i64, exp: i64| {
        let mut c = daemon_claims(&server);
        c["nbf"] = json!(nbf);
        c["iat"] = json!(nbf);
        c["exp"] = json!(exp);
        c
    };
    let azure = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].0000000Z"
            ))
            .unwrap()
    };
    for (nbf, exp) in [(now - 1_200, now - 600), (now + 900, now + 1_200)] {
        let response =
            client_credentials(&server, &daemon_assertion(&header, &times(nbf, exp)), FILES).await;
        assert_token_error_naming(response, Expected::new(401, "invalid_client", 700024, ""), |doc| {
            // The current time is the request's, to the 100 ns, as Azure
            // AD writes it: its second is the document's timestamp.
            let description = doc["error_description"].as_str().unwrap();
            let at = description.find("Current time: ").unwrap() + 14;
            let current = &description[at..at + 28];
            let second = doc["timestamp"].as_str().unwrap().replacen(' ', "T", 1);
            assert_eq!(&current[..19], &second[..19]);
            assert!(current[20..27].bytes().all(|b| b.is_ascii_digit()) && current.ends_with('Z'));
            format!(
                "Client assertion is not within its valid time range. Current time: {current}, assertion valid from {}, expiry time of assertion {}. Review the documentation at {CERT_DOCS} .",
                azure(nbf),
                azure(exp)
            )
        })
        .await;
    }
}

#[tokio::test]
async fn a_secret_and_an_assertion_together_are_refused() {
    let server = TestServer::start().await;
    let assertion = daemon_assertion(&msal_python_header(), &daemon_claims(&server));
    let response = server
        .token(
            TENANT,
            &with_assertion(
                &assertion,
                &[
                    ("grant_type", "client_credentials"),
                    ("resource", FILES),
                    ("client_secret", "web-secret-0123456789-abcdefghijklmnop"),
                ],
            ),
        )
        .await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002313, "Invalid request. Both a client secret and a client assertion were sent; a client authenticates with one credential."),
    )
    .await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", DAEMON),
                ("resource", FILES),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                ),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002313, "Invalid request. The client_assertion_type 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' is not supported; send 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."),
    )
    .await;
    // An app with a secret and no certificate: the assertion's key is not
    // registered (no longer "send a client_assertion", which it did).
    let mut web_claims = daemon_claims(&server);
    web_claims["iss"] = json!(WEB);
    web_claims["sub"] = json!(WEB);
    let web_assertion = daemon_assertion(&msal_python_header(), &web_claims);
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("resource", FILES),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &web_assertion),
            ],
        )
        .await;
    let message = NOT_REGISTERED
        .replace("{t}", &hex(&sha1_thumbprint(&daemon_cert())))
        .replace(DAEMON, WEB);
    assert_token_error(
        response,
        Expected::new(401, "invalid_client", 700027, &message),
    )
    .await;
}

/// The test directory with Contoso Daemon taking each assertion once.
fn single_use_directory() -> String {
    let anchor = "  name = \"Contoso Daemon\"\n";
    let fixture = include_str!("../../../../../tests/fixtures/directory.toml");
    assert!(fixture.contains(anchor));
    fixture.replacen(
        anchor,
        &format!("{anchor}  single_use_assertions = true\n"),
        1,
    )
}

#[tokio::test]
async fn a_single_use_app_takes_each_assertion_once() {
    let server = TestServer::start_with_directory(&single_use_directory(), |_| {}).await;
    let good = daemon_claims(&server);
    let assertion = daemon_assertion(&msal_python_header(), &good);
    token_of(client_credentials(&server, &assertion, FILES).await).await;
    let jti = good["jti"].as_str().unwrap();
    let message = format!(
        "Invalid JWT token. The client assertion with jti '{jti}' has already been used, and this application accepts each assertion once. Create a new assertion for each request."
    );
    refused(
        &server,
        &assertion,
        Expected::new(401, "invalid_client", 50027, &message),
    )
    .await;
    let mut no_jti = daemon_claims(&server);
    no_jti.as_object_mut().unwrap().remove("jti");
    refused(
        &server,
        &daemon_assertion(&msal_python_header(), &no_jti),
        Expected::new(400, "invalid_request", 90014, "The required field 'jti' is missing from the credential. Ensure that you have all the necessary parameters for the login request."),
    )
    .await;
}
