//! The seed's trust checks on a challenge
//! (docs/spec/seed-000-resource-errors.txt, "Error Parameters"): an
//! `authorization_uri` must name a trusted authorization server, and a
//! `resource_id` must belong to the API being called. Both compare parsed
//! URLs, never raw string prefixes.

use std::net::IpAddr;

use url::{Host, Url};

use crate::Error;

/// A host (and, for plain-http loopback, a port) the client trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedHost {
    pub host: String,
    pub port: Option<u16>,
}

impl std::str::FromStr for TrustedHost {
    type Err = String;

    /// `HOST` or `HOST:PORT` (`[::1]:PORT` for IPv6).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = Url::parse(&format!("http://{s}"))
            .map_err(|_| format!("'{s}' is not HOST or HOST:PORT"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("'{s}' has no host"))?
            .to_ascii_lowercase();
        if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
            return Err(format!("'{s}' is not HOST or HOST:PORT"));
        }
        Ok(TrustedHost {
            host,
            port: url.port(),
        })
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks an `authorization_uri`: https on a trusted host (the configured
/// authority's host always is); plain http only on a loopback host that is
/// the configured authority's own origin or listed with its exact port.
pub fn check_authorization_uri(
    uri: &str,
    authority: Option<&Url>,
    trusted: &[TrustedHost],
) -> Result<Url, Error> {
    let refuse = |reason: &str| Error::UntrustedAuthority {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(uri).map_err(|_| refuse("it is not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("it carries user information"));
    }
    let host = url
        .host_str()
        .ok_or_else(|| refuse("it has no host"))?
        .to_ascii_lowercase();
    let same_origin = authority.is_some_and(|a| a.origin() == url.origin());
    let same_host = authority
        .and_then(Url::host_str)
        .is_some_and(|h| h.eq_ignore_ascii_case(&host));
    match url.scheme() {
        "https"
            if same_host
                || trusted.iter().any(|t| {
                    t.host == host
                        && t.port
                            .is_none_or(|p| Some(p) == url.port_or_known_default())
                }) =>
        {
            Ok(url)
        }
        "https" => Err(refuse(
            "its host is not in the trusted set (--trusted-host)",
        )),
        "http" if !is_loopback(&url) => Err(refuse("it is not https")),
        "http" if same_origin => Ok(url),
        "http"
            if trusted.iter().any(|t| {
                t.host == host && t.port.is_some() && t.port == url.port_or_known_default()
            }) =>
        {
            Ok(url)
        }
        "http" => Err(refuse(
            "plain http is trusted only on a loopback host listed with its port",
        )),
        _ => Err(refuse("it is not https")),
    }
}

/// Checks a `resource_id` against the API URL being called: same scheme,
/// host and port, and the API's path begins with the resource's path,
/// segment by segment.
pub fn check_resource_id(resource_id: &str, api: &Url) -> Result<(), Error> {
    let refuse = || Error::ForeignResource {
        resource_id: resource_id.to_owned(),
        api: api.to_string(),
    };
    let resource = Url::parse(resource_id).map_err(|_| refuse())?;
    if resource.scheme() != api.scheme()
        || resource.host() != api.host()
        || resource.port_or_known_default() != api.port_or_known_default()
        || !resource.username().is_empty()
    {
        return Err(refuse());
    }
    let segments = |u: &Url| -> Vec<String> {
        u.path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let (base, called) = (segments(&resource), segments(api));
    if called.len() < base.len() || base.iter().zip(&called).any(|(a, b)| a != b) {
        return Err(refuse());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn authorization_uris() {
        let trusted: Vec<TrustedHost> = vec![
            "login.contoso.example".parse().unwrap(),
            "127.0.0.1:9000".parse().unwrap(),
        ];
        let authority = url("https://login.example/t");
        let ok = |u: &str| check_authorization_uri(u, Some(&authority), &trusted).is_ok();
        assert!(ok("https://login.example/t/oauth2/authorize"));
        assert!(ok("https://login.contoso.example/t/oauth2/authorize"));
        assert!(
            !ok("http://login.contoso.example/t/oauth2/authorize"),
            "not https"
        );
        assert!(
            !ok("https://login.contoso.example.evil.example/t/oauth2/authorize"),
            "suffix host"
        );
        assert!(
            !ok("https://evil.example/login.contoso.example/oauth2/authorize"),
            "host in the path"
        );
        assert!(
            !ok("https://login.contoso.example@evil.example/x"),
            "userinfo trick"
        );
        assert!(
            ok("http://127.0.0.1:9000/t/oauth2/authorize"),
            "listed loopback with its port"
        );
        assert!(
            !ok("http://127.0.0.1:9001/t/oauth2/authorize"),
            "another port"
        );
        assert!(!ok("not a url"));
        // A loopback authority trusts exactly its own origin over http.
        let local = url("http://127.0.0.1:8080/t");
        assert!(
            check_authorization_uri(
                "http://127.0.0.1:8080/t/oauth2/authorize",
                Some(&local),
                &[]
            )
            .is_ok()
        );
        assert!(
            check_authorization_uri(
                "http://127.0.0.1:8081/t/oauth2/authorize",
                Some(&local),
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn resource_ids_are_compared_as_urls() {
        let api = url("https://service.contoso.com/data/items");
        assert!(check_resource_id("https://service.contoso.com/", &api).is_ok());
        assert!(check_resource_id("https://service.contoso.com", &api).is_ok());
        assert!(check_resource_id("https://service.contoso.com/data", &api).is_ok());
        assert!(check_resource_id("https://SERVICE.contoso.com:443/", &api).is_ok());
        for foreign in [
            "https://service.contoso.com.evil.example/",
            "https://service.contoso.co",
            "https://service.contoso.com/dat",
            "https://service.contoso.com/other",
            "http://service.contoso.com/",
            "https://service.contoso.com:8443/",
            "https://graph.contoso.com/",
            "api://service",
            "00000003-0000-0000-c000-000000000000",
        ] {
            assert!(check_resource_id(foreign, &api).is_err(), "{foreign}");
        }
    }
}
