//! A bounded map from a token's SHA-256 to its validated claims, each entry
//! living until the token expires, so a hot token costs a hash and a lookup
//! instead of an RSA verification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::TokenClaims;

/// A token's digest → (when the entry expires, its claims).
type Entries = HashMap<[u8; 32], (i64, Arc<TokenClaims>)>;

pub struct TokenCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl TokenCache {
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The claims of a token validated before and not expired at `now`.
    pub fn get(&self, digest: &[u8; 32], now: i64) -> Option<Arc<TokenClaims>> {
        let entries = self.entries.lock().ok()?;
        let (expires, claims) = entries.get(digest)?;
        (now < *expires).then(|| claims.clone())
    }

    /// Remembers a validated token until `expires`. When full, expired
    /// entries go first, then an arbitrary eighth: a bound, not an LRU.
    pub fn insert(&self, digest: [u8; 32], expires: i64, claims: Arc<TokenClaims>, now: i64) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, (exp, _)| *exp > now);
            if entries.len() >= self.capacity {
                let evict: Vec<[u8; 32]> = entries
                    .keys()
                    .take(self.capacity / 8 + 1)
                    .copied()
                    .collect();
                for key in evict {
                    entries.remove(&key);
                }
            }
        }
        entries.insert(digest, (expires, claims));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_size_stays_bounded() {
        let cache = TokenCache::new(16);
        let claims = Arc::new(TokenClaims::new(Default::default()));
        for i in 0..100u8 {
            cache.insert([i; 32], 1000, claims.clone(), 0);
            assert!(cache.len() <= 16);
        }
        cache.insert([200; 32], 50, claims.clone(), 0);
        assert!(cache.get(&[200; 32], 49).is_some());
        assert!(
            cache.get(&[200; 32], 50).is_none(),
            "gone when the token expires"
        );
    }
}
