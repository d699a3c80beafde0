//! The claims of a validated token, as handlers see them.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// The claims of an access token that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClaims {
    raw: Map<String, Value>,
}

impl TokenClaims {
    pub(crate) fn new(raw: Map<String, Value>) -> TokenClaims {
        TokenClaims { raw }
    }

    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.raw.get(name).and_then(Value::as_str)
    }

    /// Delegated scopes (`scp`, space-separated).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.string("scp").unwrap_or_default().split_whitespace()
    }

    /// Roles (`roles`): app roles of an app token, or the user's roles.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.raw
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// How the user signed in (`amr`: `pwd`, `mfa`).
    pub fn auth_methods(&self) -> impl Iterator<Item = &str> {
        self.raw
            .get("amr")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// Whether the token speaks for a user (it has delegated scopes).
    pub fn is_delegated(&self) -> bool {
        self.raw.contains_key("scp")
    }

    pub fn subject(&self) -> Option<&str> {
        self.string("sub")
    }

    pub fn object_id(&self) -> Option<&str> {
        self.string("oid")
    }

    pub fn tenant_id(&self) -> Option<&str> {
        self.string("tid")
    }

    pub fn app_id(&self) -> Option<&str> {
        self.string("appid").or_else(|| self.string("azp"))
    }

    pub fn upn(&self) -> Option<&str> {
        self.string("upn")
    }
}

/// A JSON object whose top-level members are all distinct: a duplicated
/// member is an error, since two parsers could each believe a different one.
pub(crate) struct UniqueObject(pub Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = UniqueObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueObject, A::Error> {
                let mut map = Map::new();
                while let Some((key, value)) = access.next_entry::<String, Value>()? {
                    if map.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate member '{key}'"
                        )));
                    }
                    map.insert(key, value);
                }
                Ok(UniqueObject(map))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_refused() {
        assert!(serde_json::from_str::<UniqueObject>(r#"{"aud":"a","aud":"b"}"#).is_err());
        assert!(serde_json::from_str::<UniqueObject>(r#"{"aud":"a","x":{"y":1}}"#).is_ok());
        assert!(serde_json::from_str::<UniqueObject>(r#"["not an object"]"#).is_err());
    }
}
