//! `GET /error?code=NNNN`: the catalogue's entry for an AADSTS number, as
//! Azure AD's `login.microsoftonline.com/error?code=` answers it, for
//! people (HTML) and for tools (JSON with `Accept: application/json`).
//! Everything shown is read from `Aadsts::CATALOGUE`, the table that
//! docs/errors.md is rendered from too, so the page cannot drift from
//! what the server answers. Several conditions may share a number: all
//! are shown.
//!
//! Statuses: 200 for a number in the catalogue and for `/error` alone (the
//! index); 404 for a number that is not in it; 400 for a `code` that is
//! not a number. (Azure AD's page answers people only; a status that says
//! "no such entry" lets a script tell without reading the page.)

use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{Aadsts, ConditionSpec, NumberOrigin, Surface, bounded};
use serde::Serialize;

use crate::authorize::pages;

/// The lookup page's path; the error page links to it.
pub const PATH: &str = "/error";

/// What the `code` parameter asked for.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    /// No `code` (or an empty one): the index of every number.
    Index,
    Number(u32),
    /// Not an AADSTS number; kept (bounded) to say so.
    NotANumber(String),
}

impl Asked {
    /// `code=50058`, also written `AADSTS50058` (as error descriptions
    /// print it), surrounding spaces ignored.
    fn parse(query: Option<&str>) -> Asked {
        let code = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(name, _)| name == "code")
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default();
        if code.is_empty() {
            return Asked::Index;
        }
        let digits = match code.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("AADSTS") => &code[6..],
            _ => code.as_str(),
        };
        match digits.parse::<u32>() {
            Ok(number) if digits.bytes().all(|b| b.is_ascii_digit()) => Asked::Number(number),
            _ => Asked::NotANumber(bounded(&code)),
        }
    }
}

/// One row of the catalogue as the lookup shows it.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub aadsts: u32,
    /// The OAuth 2.0 error code it is reported as.
    pub error: &'static str,
    pub suberror: Option<&'static str>,
    /// Where the code may appear: `authorize`, `token`.
    pub surfaces: Vec<&'static str>,
    /// The token endpoint's HTTP status; `None` for a code only the
    /// authorization endpoint sends (by redirect).
    pub token_status: Option<u16>,
    /// What causes it in Latchkey.
    pub when: &'static str,
    /// The message after `AADSTSnnnn: ` (`{field}`: a value of the request).
    pub message: &'static str,
    /// What the client should do: the seeds' client action.
    pub client_action: &'static str,
    /// `azure_ad` (Azure AD's number for this condition) or `latchkey`
    /// (the number of Azure AD's nearest condition).
    pub number_origin: &'static str,
}

impl Entry {
    fn of(row: &'static ConditionSpec) -> Entry {
        Entry {
            aadsts: row.number,
            error: row.code.spec().wire,
            suberror: row.suberror,
            surfaces: row
                .code
                .surfaces()
                .iter()
                .map(|s| surface_name(*s))
                .collect(),
            token_status: row
                .code
                .is_valid_on(Surface::Token)
                .then(|| row.token_status()),
            when: row.when,
            message: row.message,
            client_action: row.client_action().text(),
            number_origin: match row.origin {
                NumberOrigin::AzureAd => "azure_ad",
                NumberOrigin::Latchkey => "latchkey",
            },
        }
    }
}

fn surface_name(surface: Surface) -> &'static str {
    match surface {
        Surface::Authorize => "authorize",
        Surface::Token => "token",
        Surface::Resource => "resource",
    }
}

/// The catalogue's rows numbered `number`, in catalogue order.
pub fn entries(number: u32) -> Vec<Entry> {
    Aadsts::CATALOGUE
        .iter()
        .filter(|row| row.number == number)
        .map(Entry::of)
        .collect()
}

/// The JSON answer.
#[derive(Debug, Serialize)]
struct Lookup {
    /// The `code` as asked (bounded); absent for the index.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    entries: Vec<Entry>,
    /// Why there are no entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// `GET /error`.
pub async fn lookup(headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let asked = Asked::parse(query.as_deref());
    let (status, lookup) = match asked {
        Asked::Index => (
            StatusCode::OK,
            Lookup {
                code: None,
                entries: Aadsts::CATALOGUE.iter().map(Entry::of).collect(),
                message: None,
            },
        ),
        Asked::Number(number) => {
            let entries = entries(number);
            let status = if entries.is_empty() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            let message = entries.is_empty().then(|| {
                format!("AADSTS{number} is not in Latchkey's catalogue: Latchkey never answers it.")
            });
            let code = Some(number.to_string());
            (
                status,
                Lookup {
                    code,
                    entries,
                    message,
                },
            )
        }
        Asked::NotANumber(code) => (
            StatusCode::BAD_REQUEST,
            Lookup {
                message: Some(format!(
                    "'{code}' is not an AADSTS number: look up the digits after AADSTS, e.g. /error?code=50058."
                )),
                code: Some(code),
                entries: Vec::new(),
            },
        ),
    };
    let mut response = if wants_json(&headers) {
        let body = serde_json::to_string(&lookup).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    } else {
        // The index lists the numbers, each a link; the JSON index has
        // every entry in full.
        let shown: Vec<EntryView<'_>> = match lookup.code {
            Some(_) => lookup.entries.iter().map(EntryView::of).collect(),
            None => Vec::new(),
        };
        pages::error_lookup(
            status,
            minijinja::context! {
                code => lookup.code,
                message => lookup.message,
                entries => shown,
                index => index_numbers(),
                // Relative, so that it holds behind a proxy's path prefix.
                path => PATH.trim_start_matches('/'),
            },
        )
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// Every number of the catalogue, ascending, once each.
fn index_numbers() -> Vec<u32> {
    let mut numbers: Vec<u32> = Aadsts::CATALOGUE.iter().map(|row| row.number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// JSON when the `Accept` header names `application/json` (and does not
/// refuse it with `q=0`); a browser's `Accept` never does, so people get
/// the page.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            media.eq_ignore_ascii_case("application/json") && !refused
        })
}

/// An entry for the template: its texts cut where the catalogue marks
/// code with backticks, so the page shows `<code>` without trusting any
/// markup in the text (minijinja escapes every piece).
#[derive(Debug, Serialize)]
struct EntryView<'a> {
    entry: &'a Entry,
    when: Vec<Piece<'a>>,
    message: Vec<Piece<'a>>,
    client_action: Vec<Piece<'a>>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct Piece<'a> {
    text: &'a str,
    code: bool,
}

impl<'a> EntryView<'a> {
    fn of(entry: &'a Entry) -> EntryView<'a> {
        EntryView {
            entry,
            when: pieces(entry.when),
            message: vec![Piece {
                text: entry.message,
                code: false,
            }],
            client_action: pieces(entry.client_action),
        }
    }
}

/// `a `b` c` → "a ", code "b", " c".
fn pieces(text: &str) -> Vec<Piece<'_>> {
    text.split('`')
        .enumerate()
        .filter(|(_, text)| !text.is_empty())
        .map(|(i, text)| Piece {
            text,
            code: i % 2 == 1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_people_paste_them() {
        assert_eq!(Asked::parse(None), Asked::Index);
        assert_eq!(Asked::parse(Some("code=")), Asked::Index);
        assert_eq!(Asked::parse(Some("code=50058")), Asked::Number(50058));
        assert_eq!(Asked::parse(Some("code=AADSTS50058")), Asked::Number(50058));
        assert_eq!(Asked::parse(Some("code=aadsts50058")), Asked::Number(50058));
        assert_eq!(Asked::parse(Some("code=%2050058%20")), Asked::Number(50058));
        assert_eq!(
            Asked::parse(Some("code=+50058")),
            Asked::Number(50058),
            "a + is a space in a query"
        );
        assert_eq!(
            Asked::parse(Some("code=5005x")),
            Asked::NotANumber("5005x".to_owned())
        );
        assert_eq!(
            Asked::parse(Some("code=99999999999")),
            Asked::NotANumber("99999999999".to_owned())
        );
        assert_eq!(
            Asked::parse(Some("code=AADSTS")),
            Asked::NotANumber("AADSTS".to_owned())
        );
    }

    #[test]
    fn json_only_when_asked_for() {
        let accept = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
            wants_json(&headers)
        };
        assert!(accept("application/json"));
        assert!(accept("text/html;q=0.9, Application/JSON"));
        assert!(!accept("application/json;q=0"));
        assert!(!accept("*/*"));
        assert!(!accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!wants_json(&HeaderMap::new()));
    }

    #[test]
    fn backticks_mark_code() {
        assert_eq!(
            pieces("a `b` c"),
            vec![
                Piece {
                    text: "a ",
                    code: false
                },
                Piece {
                    text: "b",
                    code: true
                },
                Piece {
                    text: " c",
                    code: false
                },
            ]
        );
    }
}
