use super::*;

const TENANT: &str = r#"
[[tenants]]
id = "7fe81447-da57-4385-becb-6de57f21477e"
domains = ["Contoso.example"]
  [[tenants.apis]]
  name = "Files"
  app_id_uri = "https://files.contoso.example/"
  scopes = ["Files.Read"]
  roles = ["Files.ReadAll"]
"#;

fn error_of(extra: &str) -> String {
    parse_directory(&format!("{TENANT}{extra}"))
        .unwrap_err()
        .to_string()
}

#[test]
fn a_short_secret_is_refused_without_showing_it() {
    let err = error_of(
        r#"
  [[tenants.apps]]
  client_id = "2d4d11a2-f814-46a7-890a-274a72a7309e"
  name = "Web"
  secret = "tooshort-but-secret"
"#,
    );
    assert_eq!(
        err,
        "tenants[0].apps[0].secret: a client secret needs at least 32 characters"
    );
}

#[test]
fn unknown_keys_are_refused() {
    let err = error_of("  colour = \"blue\"\n");
    assert!(err.contains("unknown field `colour`"), "{err}");
}

#[test]
fn permissions_must_name_defined_scopes() {
    let err = error_of(
        r#"
  [[tenants.apps]]
  client_id = "2d4d11a2-f814-46a7-890a-274a72a7309e"
  name = "Web"
  [[tenants.apps.permissions]]
  api = "https://files.contoso.example"
  scopes = ["Files.Write"]
"#,
    );
    assert_eq!(
        err,
        "tenants[0].apps[0].permissions[0]: scope 'Files.Write' is not defined by 'https://files.contoso.example/'"
    );
}

#[test]
fn a_password_hash_is_taken_as_it_is() {
    let phc = hash_password("imported-password").unwrap();
    let user =
        |keys: &str| format!("\n  [[tenants.users]]\n  upn = \"ida@contoso.example\"\n{keys}");
    let data = parse_directory(&format!(
        "{TENANT}{}",
        user(&format!("  password_hash = \"{phc}\"\n"))
    ))
    .unwrap()
    .directory;
    assert_eq!(data.users[0].password_hash, phc);
    assert!(crate::secrets::verify_password(
        "imported-password",
        Some(&data.users[0].password_hash)
    ));
    assert_eq!(
        error_of(&user(&format!(
            "  password = \"pw\"\n  password_hash = \"{phc}\"\n"
        ))),
        "tenants[0].users[0]: give `password` or `password_hash`, not both"
    );
    assert_eq!(
        error_of(&user("")),
        "tenants[0].users[0]: a user needs `password` or `password_hash`"
    );
    // bcrypt, argon2i, and text that only looks like a PHC string.
    for not_argon2id in [
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$ZmFrZWhhc2hmYWtlaGFzaA",
        "$argon2id$v=19$m=16,t=2,p=1$c2FsdHNhbHQ",
    ] {
        assert_eq!(
            error_of(&user(&format!("  password_hash = \"{not_argon2id}\"\n"))),
            "tenants[0].users[0].password_hash: not an Argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)",
            "{not_argon2id}"
        );
    }
}

#[test]
fn a_redirect_uri_app_registration_would_refuse_names_its_path() {
    let app = |secret: &str, uri: &str| {
        format!(
            "\n  [[tenants.apps]]\n  client_id = \"2d4d11a2-f814-46a7-890a-274a72a7309e\"\n  name = \"Web\"\n{secret}  redirect_uris = [\"{uri}\"]\n"
        )
    };
    let confidential = "  secret = \"0123456789abcdef0123456789abcdef\"\n";
    assert_eq!(
        error_of(&app(confidential, "http://app.example/cb")),
        "tenants[0].apps[0].redirect_uris: 'http://app.example/cb' uses http to a host that is not loopback (localhost, 127.0.0.1, [::1]): use https"
    );
    assert_eq!(
        error_of(&app("", "javascript:alert(1)//")),
        "tenants[0].apps[0].redirect_uris: 'javascript:alert(1)//' uses a scheme a browser runs or reads locally"
    );
    assert_eq!(
        error_of(&app(confidential, "msal2d4d11a2://auth")),
        "tenants[0].apps[0].redirect_uris: 'msal2d4d11a2://auth' uses a custom scheme, which only a public client (no secret) may register"
    );
    let native = parse_directory(&format!("{TENANT}{}", app("", "msal2d4d11a2://auth")));
    assert!(
        native.is_ok(),
        "a public client may register a custom scheme"
    );
}

#[test]
fn the_signing_alg_is_read_per_tenant_and_anything_else_refused() {
    let tenant = |line: &str| {
        format!("[[tenants]]\nid = \"7fe81447-da57-4385-becb-6de57f21477e\"\n{line}\n")
    };
    let alg = |text: &str| parse_directory(text).map(|f| f.directory.tenants[0].signing_alg);
    assert_eq!(alg(&tenant("")).unwrap(), SigningAlg::Rs256, "the default");
    assert_eq!(
        alg(&tenant("signing_alg = \"RS256\"")).unwrap(),
        SigningAlg::Rs256
    );
    assert_eq!(
        alg(&tenant("signing_alg = \"ES256\"")).unwrap(),
        SigningAlg::Es256
    );
    for bad in ["none", "HS256", "es256", "PS256", "ES384", ""] {
        assert_eq!(
            alg(&tenant(&format!("signing_alg = \"{bad}\"")))
                .unwrap_err()
                .to_string(),
            format!("tenants[0].signing_alg: '{bad}' is not a signing algorithm (RS256 or ES256)")
        );
    }
}

#[test]
fn the_refresh_token_reuse_interval_is_read_per_tenant() {
    let tenant = |line: &str| {
        format!("[[tenants]]\nid = \"7fe81447-da57-4385-becb-6de57f21477e\"\n{line}\n")
    };
    let seconds = |text: &str| {
        parse_directory(text).map(|f| f.directory.tenants[0].refresh_token_reuse_seconds)
    };
    assert_eq!(seconds(&tenant("")).unwrap(), 5, "the default");
    assert_eq!(
        seconds(&tenant("refresh_token_reuse_seconds = 0")).unwrap(),
        0
    );
    assert_eq!(
        seconds(&tenant("refresh_token_reuse_seconds = 60")).unwrap(),
        60
    );
    for bad in ["-1", "61", "86400"] {
        assert_eq!(
            seconds(&tenant(&format!("refresh_token_reuse_seconds = {bad}")))
                .unwrap_err()
                .to_string(),
            format!(
                "tenants[0].refresh_token_reuse_seconds: {bad} is not a number of seconds from 0 (strict rotation) to 60"
            )
        );
    }
    let err = seconds(&tenant("refresh_token_reuse_seconds = \"5s\""))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refresh_token_reuse_seconds") && err.contains("invalid type"),
        "{err}"
    );
}

#[test]
fn spa_redirect_uris_are_read_and_checked() {
    let app = |uris: &str| {
        format!(
            "\n  [[tenants.apps]]\n  client_id = \"2d4d11a2-f814-46a7-890a-274a72a7309e\"\n  name = \"SPA\"\n  redirect_uris = [\"http://localhost:5000/cb\"]\n  spa_redirect_uris = {uris}\n"
        )
    };
    let data = parse_directory(&format!(
        "{TENANT}{}",
        app(r#"["http://localhost:3000/", "https://spa.contoso.example/"]"#)
    ))
    .unwrap()
    .directory;
    assert_eq!(
        data.apps[0].spa_redirect_uris,
        ["http://localhost:3000/", "https://spa.contoso.example/"]
    );
    assert_eq!(data.apps[0].redirect_uris, ["http://localhost:5000/cb"]);
    assert_eq!(
        error_of(&app(r#"["http://spa.contoso.example/"]"#)),
        "tenants[0].apps[0].spa_redirect_uris: 'http://spa.contoso.example/' uses http to a host that is not loopback (localhost, 127.0.0.1, [::1]): use https"
    );
    assert_eq!(
        error_of(&app(r#"["msal2d4d11a2://auth"]"#)),
        "tenants[0].apps[0].spa_redirect_uris: 'msal2d4d11a2://auth' uses a custom scheme: a single-page application's redirect URI is a web page (https, or http to a loopback host)"
    );
    assert_eq!(
        error_of(&app(r#"["http://localhost:5000/cb"]"#)),
        "tenants[0].apps[0].spa_redirect_uris: 'http://localhost:5000/cb' is in redirect_uris too: a redirect URI is of one kind"
    );
    let err = error_of(&app(r#""http://localhost:3000/""#));
    assert!(err.contains("spa_redirect_uris"), "{err}");
}

#[test]
fn loading_twice_gives_the_same_ids() {
    let text = format!(
        "{TENANT}{}",
        r#"
  [[tenants.users]]
  upn = "Frank@contoso.example"
  password = "pw"
"#
    );
    let a = parse_directory(&text).unwrap().directory;
    let b = parse_directory(&text).unwrap().directory;
    assert_eq!(a.users[0].object_id, b.users[0].object_id);
    assert_eq!(a.users[0].upn, "frank@contoso.example");
    assert_eq!(a.tenants[0].domains, ["contoso.example"]);
}

#[test]
fn on_behalf_of_needs_a_confidential_client() {
    let app = |secret: &str| {
        format!(
            "\n  [[tenants.apps]]\n  client_id = \"2d4d11a2-f814-46a7-890a-274a72a7309e\"\n  name = \"API\"\n{secret}  grant_types = [\"on_behalf_of\"]\n"
        )
    };
    assert_eq!(
        error_of(&app("")),
        "tenants[0].apps[0].grant_types: on_behalf_of needs a confidential client (a secret, a certificate or a federated credential)"
    );
    let confidential = app("  secret = \"0123456789abcdef0123456789abcdef\"\n");
    assert!(parse_directory(&format!("{TENANT}{confidential}")).is_ok());
}

#[test]
fn require_mfa_and_mfa_enforced_are_read() {
    let text = r#"
[[tenants]]
id = "7fe81447-da57-4385-becb-6de57f21477e"
  [[tenants.apis]]
  name = "Payroll"
  app_id_uri = "https://payroll.contoso.example/"
  require_mfa = true
  [[tenants.apis]]
  name = "Files"
  app_id_uri = "https://files.contoso.example/"
  [[tenants.users]]
  upn = "mia@contoso.example"
  password = "pw"
  totp_secret = "JBSWY3DPEHPK3PXP"
  [[tenants.users]]
  upn = "quinn@contoso.example"
  password = "pw"
  totp_secret = "JBSWY3DPEHPK3PXP"
  mfa_enforced = false
"#;
    let data = parse_directory(text).unwrap().directory;
    assert!(data.apis[0].require_mfa);
    assert!(!data.apis[1].require_mfa, "the default");
    assert!(data.users[0].requires_second_factor(), "the default");
    assert!(!data.users[1].requires_second_factor());
    assert!(data.users[1].has_second_factor());
    // The policy's id is stable, and the API's own.
    assert_eq!(
        data.apis[0].mfa_policy_id(),
        parse_directory(text).unwrap().directory.apis[0].mfa_policy_id()
    );
    assert_ne!(data.apis[0].mfa_policy_id(), data.apis[1].mfa_policy_id());
    assert_eq!(
        error_of(
            "\n  [[tenants.users]]\n  upn = \"ida@contoso.example\"\n  password = \"pw\"\n  mfa_enforced = false\n"
        ),
        "tenants[0].users[0].mfa_enforced: mfa_enforced says when the second factor is asked for: the user needs a totp_secret"
    );
    let err = error_of(
        "  [[tenants.apis]]\n  name = \"X\"\n  app_id_uri = \"api://x\"\n  require_mfa = \"yes\"\n",
    );
    assert!(
        err.contains("require_mfa") && err.contains("invalid type"),
        "{err}"
    );
}

#[test]
fn assigned_users_are_the_tenants_users_by_upn() {
    let app = |keys: &str| {
        format!(
            "\n  [[tenants.apps]]\n  client_id = \"2d4d11a2-f814-46a7-890a-274a72a7309e\"\n  name = \"HR\"\n{keys}"
        )
    };
    let users = r#"
  [[tenants.users]]
  upn = "ivan@contoso.example"
  password = "pw"
  [[tenants.users]]
  upn = "jill@contoso.example"
  password = "pw"
"#;
    let parse = |keys: &str| parse_directory(&format!("{TENANT}{}{users}", app(keys)));
    let data =
        parse("  assignment_required = true\n  assigned_users = [\"Jill@Contoso.example\"]\n")
            .unwrap()
            .directory;
    let (ivan, jill) = (&data.users[0], &data.users[1]);
    let hr = &data.apps[0];
    assert!(hr.assignment_required);
    assert_eq!(hr.assigned_users, [jill.object_id]);
    assert!(hr.admits(jill) && !hr.admits(ivan));

    // Nobody assigned yet: nobody gets in (Azure AD's too).
    let data = parse("  assignment_required = true\n").unwrap().directory;
    assert!(!data.apps[0].admits(&data.users[0]));

    // Assignments while assignment is not required change nothing, as in
    // Azure AD: turning `assignment_required` on puts them in force.
    let data = parse("  assigned_users = [\"jill@contoso.example\"]\n")
        .unwrap()
        .directory;
    assert!(!data.apps[0].assignment_required);
    assert_eq!(data.apps[0].assigned_users, [data.users[1].object_id]);
    assert!(data.apps[0].admits(&data.users[0]));

    assert_eq!(
        parse("  assignment_required = true\n  assigned_users = [\"zed@contoso.example\"]\n")
            .unwrap_err()
            .to_string(),
        "tenants[0].apps[0].assigned_users: 'zed@contoso.example' is not a user of this tenant"
    );
    assert_eq!(
        parse("  assigned_users = [\"ivan@contoso.example\", \"IVAN@contoso.example\"]\n")
            .unwrap_err()
            .to_string(),
        "tenants[0].apps[0].assigned_users: 'IVAN@contoso.example' appears twice"
    );
}

#[test]
fn an_assigned_user_belongs_to_the_apps_tenant() {
    let text = format!(
        "{TENANT}{}",
        r#"
  [[tenants.apps]]
  client_id = "2d4d11a2-f814-46a7-890a-274a72a7309e"
  name = "HR"
  assignment_required = true
  assigned_users = ["ivan@fabrikam.example"]

[[tenants]]
id = "3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c"
domains = ["fabrikam.example"]
  [[tenants.users]]
  upn = "ivan@fabrikam.example"
  password = "pw"
"#
    );
    assert_eq!(
        parse_directory(&text).unwrap_err().to_string(),
        "tenants[0].apps[0].assigned_users: 'ivan@fabrikam.example' is not a user of this tenant"
    );
}

/// Contoso Daemon's test certificate and its key, in one PEM.
const DAEMON_PEM: &str = include_str!("../../../../../tests/fixtures/contoso-daemon.pem");

fn certificate_only() -> &'static str {
    &DAEMON_PEM[DAEMON_PEM.find("-----BEGIN CERTIFICATE-----").unwrap()..]
}

fn daemon_with(credential: &str) -> String {
    format!(
        "\n  [[tenants.apps]]\n  client_id = \"c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f\"\n  name = \"Daemon\"\n  grant_types = [\"client_credentials\"]\n{credential}"
    )
}

#[test]
fn a_certificate_makes_an_app_confidential() {
    let app = daemon_with(&format!(
        "    [[tenants.apps.certificates]]\n    pem = \"\"\"\n{}\"\"\"\n",
        certificate_only()
    ));
    let data = parse_directory(&format!("{TENANT}{app}"))
        .unwrap()
        .directory;
    let daemon = &data.apps[0];
    assert!(daemon.is_confidential());
    assert_eq!(daemon.certificates.len(), 1);
    assert_eq!(daemon.certificates[0].thumbprint().len(), 40);
}

#[test]
fn a_pem_with_a_private_key_is_refused() {
    let app = daemon_with(&format!(
        "    [[tenants.apps.certificates]]\n    pem = \"\"\"\n{DAEMON_PEM}\"\"\"\n"
    ));
    assert_eq!(
        error_of(&app),
        "tenants[0].apps[0].certificates[0]: it holds a private key: register only the certificate; its key stays with the app"
    );
    for (credential, problem) in [
        (
            "    [[tenants.apps.certificates]]\n",
            "give exactly one of 'pem' and 'path'",
        ),
        (
            "    [[tenants.apps.certificates]]\n    pem = \"not pem\"\n",
            "it holds no '-----BEGIN CERTIFICATE-----' block",
        ),
        (
            "    [[tenants.apps.certificates]]\n    path = \"cert.pem\"\n",
            "a path needs the directory file's location: load the directory from a file",
        ),
    ] {
        assert_eq!(
            error_of(&daemon_with(credential)),
            format!("tenants[0].apps[0].certificates[0]: {problem}")
        );
    }
}

#[test]
fn certificates_and_jwks_files_are_read_beside_the_directory_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("daemon.crt"), certificate_only()).unwrap();
    std::fs::write(
        dir.path().join("jwks.json"),
        r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
    )
    .unwrap();
    let app = daemon_with(
        "    [[tenants.apps.certificates]]\n    path = \"daemon.crt\"\n    [[tenants.apps.federated_credentials]]\n    issuer = \"https://issuer.example\"\n    subject = \"s\"\n    jwks_path = \"jwks.json\"\n",
    );
    let path = dir.path().join("directory.toml");
    std::fs::write(&path, format!("{TENANT}{app}")).unwrap();
    let data = load_directory_file(&path).unwrap().directory;
    let daemon = &data.apps[0];
    assert_eq!(daemon.certificates.len(), 1);
    let federated = &daemon.federated_credentials[0];
    assert_eq!(federated.audiences, ["api://AzureADTokenExchange"]);
    assert!(federated.jwks.is_some());
    // A file that is not a JWKS, and one that is missing.
    std::fs::write(dir.path().join("jwks.json"), "{}").unwrap();
    let err = load_directory_file(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        "tenants[0].apps[0].federated_credentials[0].jwks_path: the file is not a JWKS ({\"keys\": [...]})"
    );
    std::fs::remove_file(dir.path().join("daemon.crt")).unwrap();
    let err = load_directory_file(&path).unwrap_err().to_string();
    assert!(
        err.starts_with("tenants[0].apps[0].certificates[0]: cannot read "),
        "{err}"
    );
}

#[test]
fn single_use_assertions_need_a_way_to_sign_them() {
    let app = daemon_with(
        "  single_use_assertions = true\n  secret = \"0123456789abcdef0123456789abcdef\"\n",
    );
    assert_eq!(
        error_of(&app),
        "tenants[0].apps[0].single_use_assertions: the app has no certificate or federated credential to sign assertions with"
    );
    let app = daemon_with(
        "    [[tenants.apps.federated_credentials]]\n    issuer = \"not a url\"\n    subject = \"s\"\n",
    );
    assert_eq!(
        error_of(&app),
        "tenants[0].apps[0].federated_credentials[0].issuer: 'not a url' is not an issuer URL"
    );
}
