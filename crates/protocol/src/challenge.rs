//! `WWW-Authenticate` (RFC 9110 §11.6.1): a parser for any challenge list,
//! and [`BearerChallenge`], the RFC 6750 challenge of a secured resource,
//! written the seed's way. The resource middleware writes it and the client
//! reads it, through this one type.

use std::fmt;
use std::str::FromStr;

use crate::ErrorCode;

/// One challenge: a scheme with a token68 or with parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub token68: Option<String>,
    /// Names as sent; look them up with [`Challenge::param`].
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// A parameter by case-insensitive name (the first, if repeated).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_scheme(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed WWW-Authenticate at byte {at}: {problem}")]
pub struct ChallengeParseError {
    pub at: usize,
    pub problem: &'static str,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn skip_ows_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    fn token_end(&self, from: usize) -> usize {
        let mut end = from;
        while self.s.get(end).is_some_and(|&b| is_tchar(b)) {
            end += 1;
        }
        end
    }

    fn text(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(&self.s[from..to]).into_owned()
    }

    fn error(&self, problem: &'static str) -> ChallengeParseError {
        ChallengeParseError {
            at: self.pos,
            problem,
        }
    }

    /// At `token BWS "=" BWS (token / quoted-string)`?
    fn at_param(&self) -> bool {
        let end = self.token_end(self.pos);
        if end == self.pos {
            return false;
        }
        let mut i = end;
        while matches!(self.s.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if self.s.get(i) != Some(&b'=') {
            return false;
        }
        i += 1;
        while matches!(self.s.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        matches!(self.s.get(i), Some(&b) if b == b'"' || is_tchar(b))
    }

    /// At `token68` followed by the end of the challenge?
    fn token68_end(&self) -> Option<usize> {
        let mut end = self.pos;
        while self.s.get(end).is_some_and(|&b| is_token68_char(b)) {
            end += 1;
        }
        if end == self.pos {
            return None;
        }
        while self.s.get(end) == Some(&b'=') {
            end += 1;
        }
        let mut after = end;
        while matches!(self.s.get(after), Some(b' ' | b'\t')) {
            after += 1;
        }
        matches!(self.s.get(after), None | Some(b',')).then_some(end)
    }

    fn quoted_string(&mut self) -> Result<String, ChallengeParseError> {
        self.pos += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted-string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    let escaped = self
                        .s
                        .get(self.pos + 1)
                        .copied()
                        .ok_or_else(|| self.error("dangling escape"))?;
                    out.push(escaped);
                    self.pos += 2;
                }
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    fn param(&mut self) -> Result<(String, String), ChallengeParseError> {
        let start = self.pos;
        let end = self.token_end(start);
        let name = self.text(start, end);
        self.pos = end;
        self.skip_ows();
        self.pos += 1; // '=' (checked by at_param)
        self.skip_ows();
        let value = if self.peek() == Some(b'"') {
            self.quoted_string()?
        } else {
            let value_start = self.pos;
            self.pos = self.token_end(value_start);
            self.text(value_start, self.pos)
        };
        Ok((name, value))
    }
}

/// Parses a `WWW-Authenticate` value into its challenges. Tolerates what
/// real servers send: empty list elements (the seed's trailing comma),
/// extra spaces, any case in schemes and names.
pub fn parse_challenges(value: &str) -> Result<Vec<Challenge>, ChallengeParseError> {
    let mut cursor = Cursor {
        s: value.as_bytes(),
        pos: 0,
    };
    let mut challenges = Vec::new();
    loop {
        cursor.skip_ows_and_commas();
        if cursor.at_end() {
            return Ok(challenges);
        }
        let start = cursor.pos;
        let end = cursor.token_end(start);
        if end == start {
            return Err(cursor.error("expected an auth-scheme"));
        }
        let mut challenge = Challenge {
            scheme: cursor.text(start, end),
            token68: None,
            params: Vec::new(),
        };
        cursor.pos = end;
        if matches!(cursor.peek(), Some(b' ' | b'\t')) {
            cursor.skip_ows();
            if let Some(token_end) = cursor.token68_end().filter(|_| !cursor.at_param()) {
                challenge.token68 = Some(cursor.text(cursor.pos, token_end));
                cursor.pos = token_end;
            } else {
                parse_params(&mut cursor, &mut challenge)?;
            }
        }
        cursor.skip_ows();
        if !matches!(cursor.peek(), None | Some(b',')) {
            return Err(cursor.error("unexpected character after a challenge"));
        }
        challenges.push(challenge);
    }
}

fn parse_params(
    cursor: &mut Cursor<'_>,
    challenge: &mut Challenge,
) -> Result<(), ChallengeParseError> {
    loop {
        if !cursor.at_param() {
            // The end, or the next challenge's scheme.
            return Ok(());
        }
        let param = cursor.param()?;
        challenge.params.push(param);
        cursor.skip_ows();
        match cursor.peek() {
            None => return Ok(()),
            Some(b',') => {
                let before = cursor.pos;
                cursor.skip_ows_and_commas();
                if !cursor.at_param() {
                    cursor.pos = before;
                    return Ok(());
                }
            }
            Some(_) => return Err(cursor.error("expected ',' between parameters")),
        }
    }
}

/// Writes `value` as an RFC 9110 quoted-string: `"` and `\` escaped;
/// control characters, which a quoted-string cannot carry, become spaces.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push(c),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The RFC 6750 challenge of a secured resource, with Azure AD's
/// `authorization_uri` and `resource_id` (docs/spec/seed-000-resource-errors.txt).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BearerChallenge {
    pub realm: Option<String>,
    pub authorization_uri: Option<String>,
    pub error: Option<ErrorCode>,
    pub error_description: Option<String>,
    /// `insufficient_claims`: the claims request, in base64
    /// ([`crate::ClaimsRequest::to_challenge`]).
    pub claims: Option<String>,
    pub scope: Option<String>,
    pub resource_id: Option<String>,
}

impl BearerChallenge {
    /// Reads the Bearer challenge among parsed ones.
    pub fn from_challenges(challenges: &[Challenge]) -> Option<BearerChallenge> {
        let bearer = challenges.iter().find(|c| c.is_scheme("Bearer"))?;
        let get = |name: &str| bearer.param(name).map(str::to_owned);
        Some(BearerChallenge {
            realm: get("realm"),
            authorization_uri: get("authorization_uri"),
            error: bearer
                .param("error")
                .map(|e| e.parse().unwrap_or_else(|never| match never {})),
            error_description: get("error_description"),
            claims: get("claims"),
            scope: get("scope"),
            resource_id: get("resource_id"),
        })
    }
}

/// `Bearer realm="…", authorization_uri="…", error="…", error_description="…", claims="…", scope="…", resource_id="…"`,
/// each parameter only when set.
impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer")?;
        let params = [
            ("realm", self.realm.as_deref()),
            ("authorization_uri", self.authorization_uri.as_deref()),
            ("error", self.error.as_ref().map(ErrorCode::as_str)),
            ("error_description", self.error_description.as_deref()),
            ("claims", self.claims.as_deref()),
            ("scope", self.scope.as_deref()),
            ("resource_id", self.resource_id.as_deref()),
        ];
        let mut first = true;
        for (name, value) in params {
            if let Some(value) = value {
                f.write_str(if first { " " } else { ", " })?;
                write!(f, "{name}={}", quote(value))?;
                first = false;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerParseError {
    #[error(transparent)]
    Syntax(#[from] ChallengeParseError),
    #[error("no Bearer challenge")]
    NoBearer,
}

impl FromStr for BearerChallenge {
    type Err = BearerParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BearerChallenge::from_challenges(&parse_challenges(s)?).ok_or(BearerParseError::NoBearer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_missing_token_example_parses() {
        // Verbatim from docs/spec/seed-001-error-handling.md,
        // double spaces and trailing comma included.
        let seed = r#"Bearer authorization_uri="https://login.window.net/contoso.com/oauth2/authorize",  error="invalid_token",  error_description="The access token is missing.","#;
        let challenge: BearerChallenge = seed.parse().unwrap();
        assert_eq!(
            challenge.authorization_uri.as_deref(),
            Some("https://login.window.net/contoso.com/oauth2/authorize")
        );
        assert_eq!(challenge.error, Some(ErrorCode::InvalidToken));
        assert_eq!(
            challenge.error_description.as_deref(),
            Some("The access token is missing.")
        );
        // And docs/spec/seed-000-resource-errors.txt's, with an empty authorization_uri.
        let seed = r#"Bearer authorization_uri="",  error="invalid_token",  error_description="The access token is missing.","#;
        let challenge: BearerChallenge = seed.parse().unwrap();
        assert_eq!(challenge.authorization_uri.as_deref(), Some(""));
        // The expired example of docs/spec/seed-000-resource-errors.txt, folded onto one line.
        let seed = r#"Bearer authorization_uri="", error="invalid_token", error_description="The access token is expired.""#;
        let challenge: BearerChallenge = seed.parse().unwrap();
        assert_eq!(
            challenge.error_description.as_deref(),
            Some("The access token is expired.")
        );
    }

    #[test]
    fn writes_the_issue_format_and_reads_it_back() {
        let challenge = BearerChallenge {
            authorization_uri: Some("https://login.example/t/oauth2/authorize".into()),
            error: Some(ErrorCode::InsufficientScope),
            error_description: Some(r#"Needs "Files.Read" \ really"#.into()),
            scope: Some("Files.Read".into()),
            resource_id: Some("https://files.contoso.example/".into()),
            realm: None,
            claims: None,
        };
        let text = challenge.to_string();
        assert_eq!(
            text,
            r#"Bearer authorization_uri="https://login.example/t/oauth2/authorize", error="insufficient_scope", error_description="Needs \"Files.Read\" \\ really", scope="Files.Read", resource_id="https://files.contoso.example/""#
        );
        assert_eq!(text.parse::<BearerChallenge>().unwrap(), challenge);
    }

    #[test]
    fn a_claims_challenge_microsofts_way_and_ours() {
        // Microsoft's example of a claims challenge (learn.microsoft.com,
        // "Claims challenges, claims requests and client capabilities").
        let microsoft = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ==""#;
        let challenge: BearerChallenge = microsoft.parse().unwrap();
        assert_eq!(challenge.error, Some(ErrorCode::InsufficientClaims));
        assert_eq!(
            challenge.claims.as_deref(),
            Some(
                "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="
            )
        );
        let ours = BearerChallenge {
            authorization_uri: Some("https://login.example/t/oauth2/authorize".into()),
            error: Some(ErrorCode::InsufficientClaims),
            error_description: Some("Needs mfa.".into()),
            claims: Some(crate::ClaimsRequest::to_challenge(
                crate::ClaimsRequest::AMR_MFA,
            )),
            resource_id: Some("https://files.contoso.example/".into()),
            ..BearerChallenge::default()
        };
        let text = ours.to_string();
        assert_eq!(
            text,
            r#"Bearer authorization_uri="https://login.example/t/oauth2/authorize", error="insufficient_claims", error_description="Needs mfa.", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYW1yIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWVzIjpbIm1mYSJdfX19", resource_id="https://files.contoso.example/""#
        );
        assert_eq!(text.parse::<BearerChallenge>().unwrap(), ours);
    }

    #[test]
    fn several_challenges_token68_and_case() {
        let parsed = parse_challenges(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", NEGOTIATE a87421000492aa874209af8bc028==, bearer Error="invalid_token", scope="a, b""#,
        )
        .unwrap();
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[0].scheme, "Newauth");
        assert_eq!(parsed[0].param("TITLE"), Some(r#"Login to "apps""#));
        assert_eq!(parsed[0].param("type"), Some("1"));
        assert_eq!(parsed[1].param("realm"), Some("simple"));
        assert_eq!(
            parsed[2].token68.as_deref(),
            Some("a87421000492aa874209af8bc028==")
        );
        let bearer = BearerChallenge::from_challenges(&parsed).unwrap();
        assert_eq!(bearer.error, Some(ErrorCode::InvalidToken));
        assert_eq!(bearer.scope.as_deref(), Some("a, b"));
    }

    #[test]
    fn a_bare_scheme_and_malformed_values() {
        assert_eq!(parse_challenges("Bearer").unwrap()[0].params.len(), 0);
        assert!(parse_challenges(r#"Bearer error="unterminated"#).is_err());
        assert!(parse_challenges("=oops").is_err());
        assert_eq!(
            "Basic realm=\"x\"".parse::<BearerChallenge>(),
            Err(BearerParseError::NoBearer)
        );
    }

    #[test]
    fn control_characters_cannot_break_the_header() {
        assert_eq!(quote("a\r\nb"), "\"a  b\"");
    }
}
