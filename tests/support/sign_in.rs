//! Frank (or another user) signing in as a person's browser does it, on
//! the Contoso test directory's sign-in page; included by the client's and
//! the cli's test binaries (`#[path]`, not a crate: one more link).

/// The value of `name="…" value="…"` pairs of hidden inputs, unescaped.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&#x2f;", "/")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest
                .split_once("value=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            (unescape(name), unescape(value))
        })
        .collect()
}

/// Submits the sign-in `page` that `base` served with Frank's password;
/// asserts the 303 back to the authorize endpoint, and returns where it
/// points.
pub async fn sign_in_frank(browser: &reqwest::Client, base: &str, page: &str) -> String {
    sign_in_as(
        browser,
        base,
        page,
        "frank@contoso.example",
        "frank-password",
    )
    .await
}

/// Submits the sign-in `page` with `upn`'s password, as `sign_in_frank`.
pub async fn sign_in_as(
    browser: &reqwest::Client,
    base: &str,
    page: &str,
    upn: &str,
    password: &str,
) -> String {
    let mut fields = hidden_fields(page);
    fields.push(("username".into(), upn.into()));
    fields.push(("password".into(), password.into()));
    let posted = browser
        .post(format!(
            "{base}/7fe81447-da57-4385-becb-6de57f21477e/oauth2/authorize"
        ))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    posted.headers()["location"].to_str().unwrap().to_owned()
}

/// The user code in a device sign-in's message (Azure AD's words: "…
/// and enter the code CODE to authenticate.").
pub fn user_code_in(message: &str) -> String {
    message
        .split("enter the code ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no user code in {message:?}"))
        .to_owned()
}

/// Frank at the device login page of `base`: types `user_code`, signs
/// in, and accepts (or declines) on the consent page; asserts the page
/// that says so.
pub async fn decide_device_as_frank(
    browser: &reqwest::Client,
    base: &str,
    user_code: &str,
    accept: bool,
) {
    let post = |fields: Vec<(String, String)>| async move {
        browser
            .post(format!("{base}/devicelogin"))
            .form(&fields)
            .send()
            .await
            .unwrap()
    };
    let signin = post(vec![
        ("lk_step".into(), "code".into()),
        ("user_code".into(), user_code.into()),
    ])
    .await
    .text()
    .await
    .unwrap();
    assert!(signin.contains("id=\"signin\""), "{signin}");
    let mut fields = hidden_fields(&signin);
    fields.push(("username".into(), "frank@contoso.example".into()));
    fields.push(("password".into(), "frank-password".into()));
    let posted = post(fields).await;
    assert_eq!(posted.status(), 303);
    let location = posted.headers()["location"].to_str().unwrap().to_owned();
    let consent = browser
        .get(format!("{base}{location}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(consent.contains("id=\"device-notice\""), "{consent}");
    let mut fields = hidden_fields(&consent);
    let answer = if accept { "accept" } else { "cancel" };
    fields.push(("consent".into(), answer.into()));
    let done = post(fields).await.text().await.unwrap();
    let expected = if accept {
        "device-approved"
    } else {
        "device-declined"
    };
    assert!(done.contains(expected), "{done}");
}
