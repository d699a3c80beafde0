//! What a route requires of a valid token.

use latchkey_protocol::BearerError;

use crate::TokenClaims;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Any valid token.
    Authenticated,
    /// A delegated scope in `scp`.
    Scope(String),
    /// A role in `roles`: an app role, or a role assigned to the user.
    Role(String),
    /// A user who passed a second factor: `mfa` in `amr`. A user's token
    /// without it gets Azure AD's claims challenge (`insufficient_claims`,
    /// with the claims request to authorize again with).
    Mfa,
    /// At least one of these.
    AnyOf(Vec<Requirement>),
    /// All of these.
    AllOf(Vec<Requirement>),
}

impl Requirement {
    pub fn scope(name: impl Into<String>) -> Requirement {
        Requirement::Scope(name.into())
    }

    pub fn role(name: impl Into<String>) -> Requirement {
        Requirement::Role(name.into())
    }

    /// See [`Requirement::Mfa`].
    pub fn mfa() -> Requirement {
        Requirement::Mfa
    }

    /// Checks `claims`. A delegated token missing a scope gets
    /// `insufficient_scope` naming it, so the client can re-authorize for
    /// it; one missing a second factor `insufficient_claims`, with the
    /// claims to re-authorize with; anything else missing is
    /// `insufficient_access`.
    pub fn check(&self, claims: &TokenClaims) -> Result<(), BearerError> {
        match self {
            Requirement::Authenticated => Ok(()),
            Requirement::Scope(scope) if claims.scopes().any(|s| s == scope) => Ok(()),
            Requirement::Scope(scope) if claims.is_delegated() => {
                Err(BearerError::InsufficientScope {
                    scope: scope.clone(),
                })
            }
            Requirement::Scope(_) => Err(BearerError::InsufficientAccess),
            Requirement::Role(role) if claims.roles().any(|r| r == role) => Ok(()),
            Requirement::Role(_) => Err(BearerError::InsufficientAccess),
            Requirement::Mfa if claims.auth_methods().any(|m| m == "mfa") => Ok(()),
            // An application has no second factor: signing in again cannot help.
            Requirement::Mfa if !claims.is_delegated() => Err(BearerError::InsufficientAccess),
            Requirement::Mfa => Err(BearerError::MfaRequired),
            Requirement::AllOf(all) => all.iter().try_for_each(|r| r.check(claims)),
            Requirement::AnyOf(any) => {
                let mut failures = Vec::new();
                for requirement in any {
                    match requirement.check(claims) {
                        Ok(()) => return Ok(()),
                        Err(failure) => failures.push(failure),
                    }
                }
                // Prefer the failure the client can act on: a scope or
                // claims to ask for.
                let scope = failures
                    .iter()
                    .position(|f| f.scope().is_some() || f.claims().is_some());
                Err(scope
                    .map(|i| failures.swap_remove(i))
                    .or(failures.pop())
                    .unwrap_or(BearerError::InsufficientAccess))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: serde_json::Value) -> TokenClaims {
        TokenClaims::new(value.as_object().unwrap().clone())
    }

    #[test]
    fn read_and_admin_like_the_demo_api() {
        let read = Requirement::AnyOf(vec![
            Requirement::scope("Files.Read"),
            Requirement::role("Files.ReadAll"),
        ]);
        let admin = Requirement::AllOf(vec![read.clone(), Requirement::role("Files.Admin")]);
        let user = claims(json!({"scp": "Files.Read", "roles": []}));
        let narrow_user = claims(json!({"scp": "user_impersonation"}));
        let app = claims(json!({"roles": ["Files.ReadAll"]}));
        let bare_app = claims(json!({}));
        let admin_user = claims(json!({"scp": "Files.Read", "roles": ["Files.Admin"]}));
        assert_eq!(read.check(&user), Ok(()));
        assert_eq!(read.check(&app), Ok(()));
        assert_eq!(
            read.check(&narrow_user),
            Err(BearerError::InsufficientScope {
                scope: "Files.Read".into()
            })
        );
        assert_eq!(read.check(&bare_app), Err(BearerError::InsufficientAccess));
        assert_eq!(admin.check(&user), Err(BearerError::InsufficientAccess));
        assert_eq!(admin.check(&admin_user), Ok(()));
    }

    #[test]
    fn a_second_factor_is_read_from_amr() {
        let mfa = Requirement::AllOf(vec![Requirement::scope("Files.Read"), Requirement::mfa()]);
        let password_only = claims(json!({"scp": "Files.Read", "amr": ["pwd"]}));
        let unknown = claims(json!({"scp": "Files.Read"}));
        let stepped_up = claims(json!({"scp": "Files.Read", "amr": ["pwd", "mfa"]}));
        let app = claims(json!({"roles": ["Files.ReadAll"]}));
        assert_eq!(mfa.check(&password_only), Err(BearerError::MfaRequired));
        assert_eq!(mfa.check(&unknown), Err(BearerError::MfaRequired));
        assert_eq!(mfa.check(&stepped_up), Ok(()));
        assert_eq!(
            Requirement::mfa().check(&app),
            Err(BearerError::InsufficientAccess)
        );
        let either = Requirement::AnyOf(vec![Requirement::role("Files.Admin"), Requirement::mfa()]);
        assert_eq!(either.check(&password_only), Err(BearerError::MfaRequired));
    }
}
