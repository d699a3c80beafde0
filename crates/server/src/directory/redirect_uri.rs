//! Which redirect URIs an app may register, as Azure AD's app registration
//! decides: `https` for every app; `http` only to a loopback host (the
//! local web server a developer or a native app listens on); any other
//! scheme (`msal{client_id}://auth`, `urn:ietf:wg:oauth:2.0:oob`,
//! `com.example.app:/cb`) only for a public (native) client, whose
//! redirect the operating system delivers; and never a scheme that runs
//! or reads something where the browser stands (`javascript:`, `data:`,
//! `vbscript:`, `file:`).

use latchkey_protocol::is_absolute_uri;

/// Why `uri` cannot be registered, or `None` if it can. `public`: the app
/// has no secret.
pub fn refusal(uri: &str, public: bool) -> Option<&'static str> {
    if !is_absolute_uri(uri) {
        return Some("is not an absolute URI without a fragment");
    }
    let (scheme, rest) = uri.split_once(':')?;
    match scheme.to_ascii_lowercase().as_str() {
        "javascript" | "data" | "vbscript" | "file" | "blob" => {
            Some("uses a scheme a browser runs or reads locally")
        }
        "https" => match authority(rest) {
            Some(authority) if !authority.contains('@') && !authority.is_empty() => None,
            _ => Some("needs a host (and no user name) after https://"),
        },
        "http" => match authority(rest).map(host) {
            Some(host) if is_loopback(host) => None,
            _ => Some(
                "uses http to a host that is not loopback (localhost, 127.0.0.1, [::1]): use https",
            ),
        },
        _ if public => None,
        _ => Some("uses a custom scheme, which only a public client (no secret) may register"),
    }
}

/// Why `uri` cannot be registered as a single-page application's redirect
/// URI, or `None` if it can: the rules of `refusal` for a confidential app
/// (`https`, or `http` to a loopback host), since a browser's page has a
/// web origin and never a custom scheme.
pub fn spa_refusal(uri: &str) -> Option<&'static str> {
    refusal(uri, false).map(|problem| {
        if problem.starts_with("uses a custom scheme") {
            "uses a custom scheme: a single-page application's redirect URI is a web page (https, or http to a loopback host)"
        } else {
            problem
        }
    })
}

/// The web origin (RFC 6454) of an `http` or `https` URI, serialised as a
/// browser's `Origin` header is: scheme and host in lower case, the port
/// only when it is not the scheme's default. `None` for other URIs.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority = authority(rest)?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.rfind(':') {
        Some(colon) if !authority[colon..].contains(']') => {
            (&authority[..colon], Some(&authority[colon + 1..]))
        }
        _ => (authority, None),
    };
    let host = host.to_ascii_lowercase();
    match port {
        Some(port) if !port.is_empty() && port != default_port => {
            Some(format!("{scheme}://{host}:{port}"))
        }
        _ => Some(format!("{scheme}://{host}")),
    }
}

/// The authority of `//authority/path…`, if the URI has one.
fn authority(rest: &str) -> Option<&str> {
    let rest = rest.strip_prefix("//")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The host of an authority without user information, port removed.
fn host(authority: &str) -> &str {
    if authority.contains('@') {
        // A user name before the host is refused whatever follows.
        return "";
    }
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().map_or("", |h| h);
    }
    authority.split(':').next().unwrap_or("")
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "::1"
}

#[cfg(test)]
mod tests {
    use super::{origin_of, refusal, spa_refusal};

    #[test]
    fn an_spa_redirect_uri_is_https_or_loopback_http() {
        assert_eq!(spa_refusal("http://localhost:3000/"), None);
        assert_eq!(spa_refusal("https://app.example/spa"), None);
        assert_eq!(
            spa_refusal("msal2d4d11a2://auth"),
            Some(
                "uses a custom scheme: a single-page application's redirect URI is a web page (https, or http to a loopback host)"
            )
        );
        assert!(spa_refusal("http://app.example/").is_some());
    }

    #[test]
    fn origins_read_as_browsers_send_them() {
        for (uri, origin) in [
            ("http://localhost:3000/", "http://localhost:3000"),
            ("HTTPS://App.Example:443/cb?x=1", "https://app.example"),
            ("http://127.0.0.1:80/", "http://127.0.0.1"),
            ("https://app.example:8443", "https://app.example:8443"),
            ("http://[::1]:5173/cb", "http://[::1]:5173"),
            ("http://[::1]/cb", "http://[::1]"),
        ] {
            assert_eq!(origin_of(uri).as_deref(), Some(origin), "{uri}");
        }
        assert_eq!(origin_of("msal1://auth"), None);
        assert_eq!(origin_of("https://user@app.example/"), None);
    }

    #[test]
    fn every_app_may_register_https_and_loopback_http() {
        for uri in [
            "https://app.example/cb",
            "https://app.example:8443/cb?x=1",
            "http://localhost/cb",
            "http://LOCALHOST:5000/callback",
            "http://127.0.0.1/",
            "http://127.0.0.1:49152",
            "http://[::1]:8400/cb",
        ] {
            assert_eq!(refusal(uri, false), None, "{uri}");
            assert_eq!(refusal(uri, true), None, "{uri}");
        }
    }

    #[test]
    fn custom_schemes_are_for_public_clients_only() {
        for uri in [
            "msal2d4d11a2-f814-46a7-890a-274a72a7309e://auth",
            "urn:ietf:wg:oauth:2.0:oob",
            "com.example.app:/oauth",
        ] {
            assert_eq!(refusal(uri, true), None, "{uri}");
            assert!(refusal(uri, false).is_some(), "{uri}");
        }
    }

    #[test]
    fn dangerous_schemes_and_remote_http_are_refused_for_every_app() {
        for uri in [
            "javascript:alert(1)//",
            "JavaScript://%0aalert(1)",
            "data:text/html,<script>x</script>",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "http://app.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.0.0.1.evil.example/",
            "http://localhost@evil.example/",
            "http://[::2]/",
            "https://user@app.example/cb",
            "https:///cb",
        ] {
            assert!(refusal(uri, true).is_some(), "{uri}");
            assert!(refusal(uri, false).is_some(), "{uri}");
        }
    }
}
