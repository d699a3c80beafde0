//! Refusals on demand, for testing a client's error handling: the next N
//! requests (or all) are refused as if the condition were real.

use std::str::FromStr;
use std::sync::Mutex;

use latchkey_protocol::BearerError;

use crate::{Rejection, Requirement};

/// What an injected refusal looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 401, as for an expired token.
    InvalidToken,
    /// 400, as for a malformed Authorization header.
    InvalidRequest,
    /// 403, naming the route's scope.
    InsufficientScope,
    /// 403.
    InsufficientAccess,
    /// 401, a claims challenge asking for a second factor.
    InsufficientClaims,
    /// 500.
    ServerError,
}

/// `ERROR[:TIMES]`, e.g. `invalid_token:2`; without TIMES, every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceScenario {
    pub refusal: Refusal,
    pub times: Option<u32>,
}

impl FromStr for ResourceScenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, times) = match s.split_once(':') {
            Some((name, times)) => (
                name,
                Some(
                    times
                        .parse()
                        .map_err(|_| format!("'{times}' is not a count"))?,
                ),
            ),
            None => (s, None),
        };
        let refusal = match name {
            "invalid_token" => Refusal::InvalidToken,
            "invalid_request" => Refusal::InvalidRequest,
            "insufficient_scope" => Refusal::InsufficientScope,
            "insufficient_access" => Refusal::InsufficientAccess,
            "insufficient_claims" => Refusal::InsufficientClaims,
            "server_error" | "500" => Refusal::ServerError,
            other => {
                return Err(format!(
                    "'{other}' is not a resource error: invalid_token, invalid_request, insufficient_scope, insufficient_access, insufficient_claims or server_error"
                ));
            }
        };
        Ok(ResourceScenario { refusal, times })
    }
}

#[derive(Default)]
pub struct Scenarios {
    active: Mutex<Vec<ResourceScenario>>,
}

impl Scenarios {
    pub fn add(&self, scenario: ResourceScenario) {
        if let Ok(mut active) = self.active.lock() {
            active.push(scenario);
        }
    }

    /// The refusal of the first scenario still in force, if any.
    pub fn fire(&self, requirement: &Requirement) -> Option<Rejection> {
        let mut active = self.active.lock().ok()?;
        let scenario = active.iter_mut().find(|s| s.times != Some(0))?;
        if let Some(times) = scenario.times.as_mut() {
            *times -= 1;
        }
        tracing::info!(injected = true, refusal = ?scenario.refusal, "resource scenario fired");
        Some(match scenario.refusal {
            Refusal::InvalidToken => Rejection::Bearer(BearerError::Expired),
            Refusal::InvalidRequest => Rejection::Bearer(BearerError::MalformedAuthorizationHeader),
            Refusal::InsufficientScope => Rejection::Bearer(BearerError::InsufficientScope {
                scope: first_scope(requirement).unwrap_or_default(),
            }),
            Refusal::InsufficientAccess => Rejection::Bearer(BearerError::InsufficientAccess),
            Refusal::InsufficientClaims => Rejection::Bearer(BearerError::MfaRequired),
            Refusal::ServerError => Rejection::Internal("injected by a scenario".into()),
        })
    }
}

fn first_scope(requirement: &Requirement) -> Option<String> {
    match requirement {
        Requirement::Scope(scope) => Some(scope.clone()),
        Requirement::AnyOf(all) | Requirement::AllOf(all) => all.iter().find_map(first_scope),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_counts_run_out() {
        let scenario: ResourceScenario = "invalid_token:2".parse().unwrap();
        assert_eq!(
            scenario,
            ResourceScenario {
                refusal: Refusal::InvalidToken,
                times: Some(2)
            }
        );
        assert!("teapot".parse::<ResourceScenario>().is_err());
        assert!("invalid_token:x".parse::<ResourceScenario>().is_err());
        let scenarios = Scenarios::default();
        scenarios.add(scenario);
        let read = Requirement::scope("Files.Read");
        assert_eq!(
            scenarios.fire(&read),
            Some(Rejection::Bearer(BearerError::Expired))
        );
        assert!(scenarios.fire(&read).is_some());
        assert!(scenarios.fire(&read).is_none());
    }
}
