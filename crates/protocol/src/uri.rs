//! Rules about identifiers that more than one side applies: the server
//! when it loads a directory and matches a request, the resource middleware
//! when it checks a token's audience.

/// Two resource identifiers (App ID URIs, `aud` values) name the same API
/// when they differ at most by one trailing slash and the case of scheme
/// and host: Azure AD matches `https://api.example/` and
/// `HTTPS://API.example` alike. The path stays case-sensitive.
pub fn same_resource(a: &str, b: &str) -> bool {
    fn key(s: &str) -> (String, &str) {
        let s = s.strip_suffix('/').unwrap_or(s);
        match s.find("://") {
            Some(i) => {
                let rest = &s[i + 3..];
                let host_end = rest.find('/').map_or(s.len(), |j| i + 3 + j);
                (s[..host_end].to_ascii_lowercase(), &s[host_end..])
            }
            None => (String::new(), s),
        }
    }
    key(a) == key(b)
}

/// An absolute URI (RFC 3986 §4.3: `scheme ":" hier-part`) without a
/// fragment, white space or control characters: what a redirect URI must
/// be, registered (RFC 6749 §3.1.2) or requested.
pub fn is_absolute_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok
        && !rest.is_empty()
        && !uri.contains('#')
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_match_modulo_one_trailing_slash_and_host_case() {
        assert!(same_resource(
            "https://files.contoso.example/",
            "https://files.contoso.example"
        ));
        assert!(same_resource(
            "HTTPS://Files.Contoso.Example/",
            "https://files.contoso.example/"
        ));
        assert!(!same_resource(
            "https://files.contoso.example/A",
            "https://files.contoso.example/a"
        ));
        assert!(!same_resource(
            "https://files.contoso.example.evil/",
            "https://files.contoso.example/"
        ));
        assert!(!same_resource(
            "https://files.contoso.example//",
            "https://files.contoso.example"
        ));
        assert!(same_resource("api://files", "api://files/"));
    }

    #[test]
    fn absolute_uris() {
        for ok in [
            "https://app.example/cb",
            "http://localhost:5000/callback",
            "com.example.app:/oauth",
            "urn:ietf:wg:oauth:2.0:oob",
        ] {
            assert!(is_absolute_uri(ok), "{ok}");
        }
        for bad in [
            "/relative",
            "app.example/cb",
            "https://app.example/cb#frag",
            "https://a b",
            ":nothing",
            "https:",
        ] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }
}
