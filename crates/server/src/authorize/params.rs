//! The parameters of an authorization request, from the query (GET) or a
//! form body (POST), remembering repeats: a repeated `client_id`,
//! `redirect_uri` or `state` makes the whole request untrustworthy.

use axum::body::Body;
use axum::http::{HeaderMap, Method};
use latchkey_protocol::Aadsts;

use crate::form_body::read_form_body;
use crate::request_body::BodyLimits;

/// Fields the server's own pages add to the protocol parameters.
pub const STEP_FIELDS: [&str; 6] = [
    "lk_step", "lk_csrf", "password", "otp", "consent", "username",
];

#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(bytes: &[u8]) -> Params {
        Params {
            pairs: form_urlencoded::parse(bytes).into_owned().collect(),
        }
    }

    /// Reads the query of a GET, or the form body of a POST.
    pub async fn read(
        method: &Method,
        headers: &HeaderMap,
        query: Option<&str>,
        body: Body,
        limits: BodyLimits,
    ) -> Result<Params, Aadsts> {
        // Not HEAD: a signed-in browser's HEAD would issue a code that
        // nobody receives (link checkers, prefetchers), and change state
        // that a HEAD must leave alone (RFC 9110 §9.3.2).
        if *method == Method::GET {
            return Ok(Params::parse(query.unwrap_or_default().as_bytes()));
        }
        if *method != Method::POST {
            return Err(Aadsts::MethodNotAllowed {
                method: method.to_string(),
            });
        }
        let bytes = read_form_body(headers, body, limits).await?;
        Ok(Params::parse(&bytes))
    }

    /// The value of `name`; `Err` when it is repeated. Empty counts as absent.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Aadsts> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(Aadsts::DuplicateParameter {
                name: name.to_owned(),
            }),
            (Some(v), None) if !v.is_empty() => Ok(Some(v)),
            _ => Ok(None),
        }
    }

    /// Like `get`, for parameters whose repetition is only a request error.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The protocol parameters, without the pages' own fields, and without
    /// `drop` (e.g. `prompt` once it has been satisfied).
    pub fn protocol_pairs(&self, drop: &[&str]) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(n, _)| !STEP_FIELDS.contains(&n.as_str()) && !drop.contains(&n.as_str()))
            .cloned()
            .collect()
    }

    /// The authorize URL's query for these parameters.
    pub fn query_string(&self, drop: &[&str]) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.protocol_pairs(drop) {
            serializer.append_pair(&name, &value);
        }
        serializer.finish()
    }
}
