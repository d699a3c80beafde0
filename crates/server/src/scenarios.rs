//! Error scenarios on demand: make an endpoint answer a seed error, so that
//! app developers can test their error handling. Scenarios come from the
//! directory file (`[[tenants.scenarios]]`) or the admin API, live in
//! memory, and fire through the same code paths as real errors: on the
//! wire an injected error is indistinguishable from a real one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use latchkey_protocol::{Aadsts, ErrorCode, GrantType, Surface, same_resource};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The server's surfaces a scenario can name: `"token"` or `"authorize"`
/// (the resource middleware takes its scenarios from `demo-api --scenario`).
mod endpoint {
    use latchkey_protocol::Surface;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(surface: &Surface, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match surface {
            Surface::Token => "token",
            Surface::Authorize => "authorize",
            Surface::Resource => "resource",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Surface, D::Error> {
        match <std::borrow::Cow<'de, str>>::deserialize(deserializer)?.as_ref() {
            "token" => Ok(Surface::Token),
            "authorize" => Ok(Surface::Authorize),
            other => Err(de::Error::unknown_variant(other, &["token", "authorize"])),
        }
    }
}

/// A scenario as written in the directory file or sent to the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    #[serde(with = "endpoint")]
    pub endpoint: Surface,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Any error code valid for the endpoint.
    pub error: String,
    /// Fire this many times, then behave normally; absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire with this probability (0..1); absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seconds, sent as `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    /// Added latency before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// The longest latency a scenario may add.
const MAX_DELAY_MS: u64 = 60_000;

impl ScenarioSpec {
    /// The scenario for `tenant`, if it is one that can happen.
    pub fn validate(self, tenant: Uuid) -> Result<Scenario, String> {
        let code: ErrorCode = self.error.parse().unwrap_or_else(|never| match never {});
        if !code.is_valid_on(self.endpoint) {
            return Err(format!(
                "'{}' is not an error of the {} endpoint",
                self.error,
                match self.endpoint {
                    Surface::Token => "token",
                    _ => "authorize",
                }
            ));
        }
        if let Some(grant) = &self.grant_type {
            GrantType::parse(grant).ok_or_else(|| format!("unknown grant_type '{grant}'"))?;
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(format!("probability {p} is not between 0 and 1"));
        }
        if self.delay_ms.is_some_and(|d| d > MAX_DELAY_MS) {
            return Err(format!("delay_ms is at most {MAX_DELAY_MS}"));
        }
        Ok(Scenario {
            tenant,
            spec: self,
            code,
        })
    }
}

/// A scenario that can happen: validated once, from the directory file
/// or the admin API.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    tenant: Uuid,
    spec: ScenarioSpec,
    code: ErrorCode,
}

/// A scenario in force.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveScenario {
    pub id: u64,
    pub tenant: Uuid,
    #[serde(flatten)]
    pub spec: ScenarioSpec,
    /// How many more times it fires; absent: always.
    pub remaining: Option<u32>,
    pub fired: u32,
    #[serde(skip)]
    code: ErrorCode,
}

/// What a request looks like, for matching.
#[derive(Debug, Default)]
pub struct Probe<'a> {
    pub tenant: Uuid,
    pub client_id: Option<&'a str>,
    pub grant_type: Option<&'a str>,
    pub upn: Option<&'a str>,
    pub resource: Option<&'a str>,
}

/// A scenario that fired.
#[derive(Debug, Clone)]
pub struct Injection {
    pub id: u64,
    pub code: ErrorCode,
    pub retry_after: Option<u32>,
    pub delay: Option<Duration>,
}

impl Injection {
    /// Waits the scenario's added latency.
    pub async fn delay(&self) {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
    }
}

/// What the real condition behind an injected error names.
pub struct Facts<'a> {
    pub client_id: String,
    pub app_name: &'a str,
    /// The `{tenant}` segment as the client wrote it.
    pub tenant_segment: &'a str,
    pub grant: GrantType,
    pub resource: &'a str,
    pub scope: Option<&'a str>,
    pub response_type: Option<&'a str>,
}

impl Injection {
    /// The condition the injected code stands for, so that it renders
    /// exactly as the real one would. Codes are valid on the surface the
    /// scenario names (checked when it was added), so each arm is reached
    /// only from the endpoint whose condition it is.
    pub fn condition(&self, facts: Facts<'_>) -> Aadsts {
        let Facts {
            client_id,
            app_name,
            tenant_segment,
            grant,
            resource,
            scope,
            response_type,
        } = facts;
        match &self.code {
            ErrorCode::InvalidRequest => Aadsts::MalformedRequest,
            ErrorCode::UnauthorizedClient => Aadsts::GrantTypeNotAllowed {
                client_id,
                grant_type: grant.as_str().to_owned(),
            },
            ErrorCode::InvalidClient => Aadsts::InvalidClientSecret { client_id },
            ErrorCode::UnsupportedGrantType => Aadsts::UnsupportedGrantType {
                grant_type: grant.as_str().to_owned(),
            },
            ErrorCode::InvalidResource => Aadsts::ResourceNotFound {
                resource: resource.to_owned(),
                tenant: tenant_segment.to_owned(),
            },
            ErrorCode::InvalidGrant => match grant {
                GrantType::Password => Aadsts::InvalidUsernameOrPassword,
                GrantType::AuthorizationCode => Aadsts::CodeRedeemed,
                _ => Aadsts::GrantMalformed,
            },
            ErrorCode::InteractionRequired => Aadsts::MfaRequired {
                resource: resource.to_owned(),
            },
            ErrorCode::InvalidScope => Aadsts::InvalidScope {
                scope: scope.unwrap_or(resource).to_owned(),
            },
            ErrorCode::TemporarilyUnavailable => Aadsts::Throttled,
            ErrorCode::AccessDenied => Aadsts::UserDeclinedConsent,
            ErrorCode::UnsupportedResponseType => Aadsts::UnsupportedResponseType {
                response_type: response_type.unwrap_or("code").to_owned(),
            },
            ErrorCode::AuthorizationPending => Aadsts::DeviceAuthorizationPending,
            ErrorCode::SlowDown => Aadsts::DevicePolledTooFast { interval: 5 },
            ErrorCode::AuthorizationDeclined => Aadsts::DeviceAuthorizationDeclined,
            ErrorCode::ExpiredToken => Aadsts::DeviceCodeExpired,
            ErrorCode::BadVerificationCode => Aadsts::DeviceCodeUnknown,
            ErrorCode::LoginRequired => Aadsts::LoginRequired,
            ErrorCode::ConsentRequired => Aadsts::SilentConsentRequired {
                client_id,
                app_name: app_name.to_owned(),
            },
            _ => Aadsts::ServerError,
        }
    }
}

pub struct Scenarios {
    active: Mutex<Vec<ActiveScenario>>,
    rng: Mutex<fastrand::Rng>,
    next_id: AtomicU64,
}

impl Scenarios {
    /// `seed` makes `probability` reproducible.
    pub fn new(seed: Option<u64>) -> Scenarios {
        let rng = seed.map(fastrand::Rng::with_seed).unwrap_or_default();
        Scenarios {
            active: Mutex::new(Vec::new()),
            rng: Mutex::new(rng),
            next_id: AtomicU64::new(1),
        }
    }

    /// Puts `scenario` in force; its id.
    pub fn add(&self, scenario: Scenario) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let Scenario { tenant, spec, code } = scenario;
        self.lock().push(ActiveScenario {
            id,
            tenant,
            remaining: spec.times,
            spec,
            fired: 0,
            code,
        });
        id
    }

    pub fn list(&self) -> Vec<ActiveScenario> {
        self.lock().clone()
    }

    /// Removes every scenario (of `tenant`, when given); how many went.
    pub fn clear(&self, tenant: Option<Uuid>) -> usize {
        let mut active = self.lock();
        let before = active.len();
        active.retain(|s| tenant.is_some_and(|t| t != s.tenant));
        before - active.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ActiveScenario>> {
        match self.active.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The first scenario of `endpoint` that matches and fires.
    pub fn fire(&self, endpoint: Surface, probe: &Probe<'_>) -> Option<Injection> {
        let mut active = self.lock();
        if active.is_empty() {
            return None;
        }
        for scenario in active.iter_mut() {
            if scenario.spec.endpoint != endpoint
                || scenario.tenant != probe.tenant
                || scenario.remaining == Some(0)
            {
                continue;
            }
            if !matches(&scenario.spec, probe) {
                continue;
            }
            if let Some(p) = scenario.spec.probability {
                let draw = match self.rng.lock() {
                    Ok(mut rng) => rng.f64(),
                    Err(poisoned) => poisoned.into_inner().f64(),
                };
                if draw >= p {
                    continue;
                }
            }
            if let Some(remaining) = scenario.remaining.as_mut() {
                *remaining -= 1;
            }
            scenario.fired += 1;
            return Some(Injection {
                id: scenario.id,
                code: scenario.code.clone(),
                retry_after: scenario.spec.retry_after,
                delay: scenario.spec.delay_ms.map(Duration::from_millis),
            });
        }
        None
    }
}

fn matches(spec: &ScenarioSpec, probe: &Probe<'_>) -> bool {
    let same = |want: &Option<String>, got: Option<&str>, eq: fn(&str, &str) -> bool| match want {
        None => true,
        Some(want) => got.is_some_and(|got| eq(want, got)),
    };
    same(&spec.client_id, probe.client_id, |a, b| {
        a.eq_ignore_ascii_case(b)
    }) && same(&spec.grant_type, probe.grant_type, |a, b| a == b)
        && same(&spec.upn, probe.upn, |a, b| a.eq_ignore_ascii_case(b))
        && same(&spec.resource, probe.resource, same_resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(error: &str) -> ScenarioSpec {
        ScenarioSpec {
            endpoint: Surface::Token,
            client_id: None,
            grant_type: None,
            upn: None,
            resource: None,
            error: error.into(),
            times: None,
            probability: None,
            retry_after: None,
            delay_ms: None,
        }
    }

    #[test]
    fn only_errors_of_the_endpoint_are_accepted() {
        let tenant = Uuid::nil();
        assert!(spec("temporarily_unavailable").validate(tenant).is_ok());
        assert!(
            spec("access_denied").validate(tenant).is_err(),
            "an authorize error"
        );
        assert!(spec("insufficient_scope").validate(tenant).is_err());
        assert!(
            spec("slow_down").validate(tenant).is_ok(),
            "the device flow's"
        );
        assert!(
            ScenarioSpec {
                probability: Some(1.5),
                ..spec("server_error")
            }
            .validate(tenant)
            .is_err()
        );
    }

    #[test]
    fn times_and_matching() {
        let scenarios = Scenarios::new(Some(1));
        let tenant = Uuid::nil();
        scenarios.add(
            ScenarioSpec {
                times: Some(2),
                grant_type: Some("password".into()),
                ..spec("server_error")
            }
            .validate(tenant)
            .unwrap(),
        );
        let password = Probe {
            tenant,
            grant_type: Some("password"),
            ..Probe::default()
        };
        let other = Probe {
            tenant,
            grant_type: Some("client_credentials"),
            ..Probe::default()
        };
        assert!(scenarios.fire(Surface::Token, &other).is_none());
        assert!(scenarios.fire(Surface::Authorize, &password).is_none());
        assert!(scenarios.fire(Surface::Token, &password).is_some());
        assert!(scenarios.fire(Surface::Token, &password).is_some());
        assert!(
            scenarios.fire(Surface::Token, &password).is_none(),
            "fired twice, then normal"
        );
        assert_eq!(scenarios.list()[0].fired, 2);
    }

    #[test]
    fn probability_is_reproducible_with_a_seed() {
        let run = || {
            let scenarios = Scenarios::new(Some(42));
            scenarios.add(
                ScenarioSpec {
                    probability: Some(0.3),
                    ..spec("server_error")
                }
                .validate(Uuid::nil())
                .unwrap(),
            );
            let probe = Probe {
                tenant: Uuid::nil(),
                ..Probe::default()
            };
            (0..1000)
                .filter(|_| scenarios.fire(Surface::Token, &probe).is_some())
                .count()
        };
        let fired = run();
        assert_eq!(fired, run(), "same seed, same draws");
        assert!((250..350).contains(&fired), "about 30 %: {fired}");
    }
}
