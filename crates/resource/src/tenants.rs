//! Which tenants' tokens an API accepts. A multi-tenant authority
//! (`common`, `organizations`) signs tokens for every tenant with the same
//! keys, and each tenant names its own App ID URIs: a token's audience
//! means this API only together with the tenant that issued it. Microsoft's
//! guidance for such APIs: `tid` must be a GUID, `iss` must be the issuer of
//! that same tenant, and the tenant must be one the API serves.

use latchkey_protocol::BearerError;

use crate::config::{AcceptedTenants, InitError};

/// Azure AD's placeholder in a multi-tenant discovery document's issuer.
const TEMPLATE: &str = "{tenantid}";

/// The tenant policy, checked at start.
#[derive(Debug)]
pub(crate) enum Tenants {
    /// A single-tenant authority: its issuer pins the tenant.
    Authority,
    /// Lower-case tenant ids.
    Only(Vec<String>),
    Any,
}

impl Tenants {
    pub fn new(authority: &str, accepted: &AcceptedTenants) -> Result<Tenants, InitError> {
        match accepted {
            AcceptedTenants::Any => {
                tracing::warn!(
                    authority,
                    "accepting tokens from ANY tenant of the authority: every tenant can name \
                     this API's App ID URI; the API must decide per tenant itself"
                );
                Ok(Tenants::Any)
            }
            AcceptedTenants::Only(ids) if !ids.is_empty() => ids
                .iter()
                .map(|id| tenant_id(id).ok_or_else(|| InitError::Tenant(id.clone())))
                .collect::<Result<Vec<_>, _>>()
                .map(Tenants::Only),
            _ if is_multi_tenant(authority) => Err(InitError::TenantsRequired(authority.into())),
            _ => Ok(Tenants::Authority),
        }
    }

    /// Whether `iss` is one of the authority's issuers for the token's
    /// `tid`, and that tenant is accepted.
    pub fn check(&self, issuers: &[&str], iss: &str, tid: Option<&str>) -> Result<(), BearerError> {
        let tenant = tid.and_then(tenant_id);
        let mut templated = false;
        let issued_here = issuers.iter().any(|issuer| {
            if issuer.contains(TEMPLATE) {
                templated = true;
                // Filled only with a GUID, the one the token names.
                tid.is_some_and(|tid| tenant.is_some() && issuer.replace(TEMPLATE, tid) == iss)
            } else {
                *issuer == iss
            }
        });
        let accepted = match self {
            Tenants::Any => true,
            Tenants::Only(ids) => tenant.is_some_and(|tenant| ids.contains(&tenant)),
            // A template with no tenants said (an authority not recognised
            // as multi-tenant by its name): refused, never any tenant.
            Tenants::Authority => !templated,
        };
        if issued_here && accepted {
            Ok(())
        } else {
            Err(BearerError::WrongIssuer)
        }
    }
}

/// `common` and `organizations` take tokens of many tenants; a tenant id,
/// a domain and `consumers` each name one.
fn is_multi_tenant(authority: &str) -> bool {
    let segment = authority
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    segment.eq_ignore_ascii_case("common") || segment.eq_ignore_ascii_case("organizations")
}

/// A tenant id in its hyphenated GUID form, lower-cased; `None` otherwise.
fn tenant_id(value: &str) -> Option<String> {
    let id = uuid::Uuid::try_parse(value).ok()?;
    let canonical = id.hyphenated().to_string();
    canonical.eq_ignore_ascii_case(value).then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "7fe81447-da57-4385-becb-6de57f21477e";
    const B: &str = "3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c";

    #[test]
    fn multi_tenant_authorities_need_tenants() {
        for authority in [
            "http://h/common",
            "http://h/Organizations/",
            "https://h/x/common",
        ] {
            assert!(matches!(
                Tenants::new(authority, &AcceptedTenants::Unset),
                Err(InitError::TenantsRequired(_))
            ));
            assert!(matches!(
                Tenants::new(authority, &AcceptedTenants::Only(vec![])),
                Err(InitError::TenantsRequired(_))
            ));
        }
        for authority in [
            "http://h/contoso.example",
            &format!("http://h/{A}"),
            "http://h/consumers",
        ] {
            assert!(matches!(
                Tenants::new(authority, &AcceptedTenants::Unset),
                Ok(Tenants::Authority)
            ));
        }
        assert!(matches!(
            Tenants::new("http://h/common", &AcceptedTenants::Only(vec!["contoso.example".into()])),
            Err(InitError::Tenant(t)) if t == "contoso.example"
        ));
    }

    #[test]
    fn the_tenant_fills_the_template_only_as_a_guid_and_only_if_accepted() {
        let only_a = Tenants::new(
            "http://h/common",
            &AcceptedTenants::Only(vec![A.to_uppercase()]),
        )
        .unwrap();
        let template = ["http://h/{tenantid}/"];
        let iss = |t: &str| format!("http://h/{t}/");
        assert_eq!(only_a.check(&template, &iss(A), Some(A)), Ok(()));
        assert_eq!(
            only_a.check(&template, &iss(B), Some(B)),
            Err(BearerError::WrongIssuer)
        );
        // The issuer and `tid` must name the same tenant.
        assert!(only_a.check(&template, &iss(A), Some(B)).is_err());
        assert!(only_a.check(&template, &iss(A), None).is_err());
        let any = Tenants::new("http://h/common", &AcceptedTenants::Any).unwrap();
        assert_eq!(any.check(&template, &iss(B), Some(B)), Ok(()));
        // A `tid` that is not a GUID never fills the template.
        assert!(any.check(&template, "http://h/x/", Some("x")).is_err());
        // A template with no tenant policy is refused.
        assert!(
            Tenants::Authority
                .check(&template, &iss(A), Some(A))
                .is_err()
        );
        assert_eq!(
            Tenants::Authority.check(&[&iss(A)], &iss(A), Some(A)),
            Ok(())
        );
    }
}
